//! What each kind of event says, derived from its typed detail in one place: the RPC name
//! older readers filter on, its subject, its English sentence (the `message` for readers from
//! before the detail, and the CLI), and its CloudEvents type.

use shippy_proto::log::log_event::Detail;

/// The RPC name the event has always carried (`method`), which older readers filter on.
pub fn method(detail: &Detail) -> &'static str {
    match detail {
        Detail::ConsignmentPending(_) => "ConsignmentPending",
        Detail::CapacityReserved(_) => "CapacityReserved",
        Detail::ConsignmentBooked(_) => "ConsignmentBooked",
        Detail::ConsignmentRejected(_) => "ConsignmentRejected",
        Detail::ConsignmentFailed(_) => "ConsignmentFailed",
        Detail::ConsignmentCancelled(_) => "ConsignmentCancelled",
        Detail::CapacityReleased(_) => "CapacityReleased",
        Detail::UserSignedUp(_) => "Create",
        Detail::UserLoggedOut(_) => "Logout",
        Detail::VesselCreated(v) if v.seeded => "Seed",
        Detail::VesselCreated(_) => "Create",
    }
}

/// The id of what the event is about: the booking's consignment, the vessel, the user.
pub fn subject(detail: &Detail) -> &str {
    match detail {
        Detail::ConsignmentPending(d) => &d.consignment_id,
        Detail::ConsignmentBooked(d) => &d.consignment_id,
        Detail::ConsignmentRejected(d) => &d.consignment_id,
        Detail::ConsignmentFailed(d) => &d.consignment_id,
        Detail::ConsignmentCancelled(d) => &d.consignment_id,
        // A vessel's room, held or given back, is a step of the booking.
        Detail::CapacityReserved(d) => &d.consignment_id,
        Detail::CapacityReleased(d) => &d.consignment_id,
        Detail::UserSignedUp(d) => &d.user_id,
        Detail::UserLoggedOut(d) => &d.user_id,
        Detail::VesselCreated(d) => &d.vessel_id,
    }
}

/// The CloudEvents `type` of the event: reverse-DNS, the aggregate, what happened, the
/// version of its data's schema.
pub fn cloud_type(detail: &Detail) -> &'static str {
    match detail {
        Detail::ConsignmentPending(_) => "io.shippy.consignment.pending.v1",
        Detail::CapacityReserved(_) => "io.shippy.vessel.capacity_reserved.v1",
        Detail::ConsignmentBooked(_) => "io.shippy.consignment.booked.v1",
        Detail::ConsignmentRejected(_) => "io.shippy.consignment.rejected.v1",
        Detail::ConsignmentFailed(_) => "io.shippy.consignment.failed.v1",
        Detail::ConsignmentCancelled(_) => "io.shippy.consignment.cancelled.v1",
        Detail::CapacityReleased(_) => "io.shippy.vessel.capacity_released.v1",
        Detail::UserSignedUp(_) => "io.shippy.user.signed_up.v1",
        Detail::UserLoggedOut(_) => "io.shippy.user.logged_out.v1",
        Detail::VesselCreated(_) => "io.shippy.vessel.created.v1",
    }
}

/// "1 container", "3 containers".
fn containers(n: i32) -> String {
    if n == 1 {
        "1 container".to_owned()
    } else {
        format!("{n} containers")
    }
}

/// The event in one English sentence, as its `message` has always read.
pub fn sentence(detail: &Detail) -> String {
    match detail {
        Detail::ConsignmentPending(d) => format!(
            "consignment {} ({}, {} kg) stored as pending; reserving room",
            d.consignment_id,
            containers(d.containers),
            d.weight
        ),
        Detail::CapacityReserved(d) => format!(
            "{} and {} kg reserved on vessel {} for consignment {}",
            containers(d.containers),
            d.weight,
            d.vessel_id,
            d.consignment_id
        ),
        Detail::ConsignmentBooked(d) => {
            format!(
                "consignment {} booked on vessel {}",
                d.consignment_id, d.vessel_id
            )
        }
        Detail::ConsignmentRejected(d) => {
            format!("consignment {} rejected: {}", d.consignment_id, d.reason)
        }
        Detail::ConsignmentFailed(d) => {
            format!("consignment {} failed: {}", d.consignment_id, d.reason)
        }
        Detail::ConsignmentCancelled(d) => format!("consignment {} cancelled", d.consignment_id),
        Detail::CapacityReleased(d) => format!(
            "{} and {} kg released on vessel {} by consignment {}",
            containers(d.containers),
            d.weight,
            d.vessel_id,
            d.consignment_id
        ),
        Detail::UserSignedUp(d) => format!("user {} signed up", d.name),
        Detail::UserLoggedOut(_) => "user logged out".to_owned(),
        Detail::VesselCreated(d) if d.seeded => {
            format!("vessel {} {:?} seeded", d.vessel_id, d.name)
        }
        Detail::VesselCreated(d) => format!(
            "vessel {} {:?} created (capacity {}, max weight {})",
            d.vessel_id, d.name, d.capacity, d.max_weight
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shippy_proto::log::{ConsignmentBooked, VesselCreated};

    #[test]
    fn a_detail_names_its_subject_and_says_itself_in_the_words_older_readers_know() {
        let booked = Detail::ConsignmentBooked(ConsignmentBooked {
            consignment_id: "c1".into(),
            vessel_id: "v1".into(),
        });
        assert_eq!(subject(&booked), "c1");
        assert_eq!(method(&booked), "ConsignmentBooked");
        assert_eq!(sentence(&booked), "consignment c1 booked on vessel v1");
        assert_eq!(cloud_type(&booked), "io.shippy.consignment.booked.v1");
        let seeded = Detail::VesselCreated(VesselCreated {
            vessel_id: "vessel001".into(),
            name: "Boaty McBoatface".into(),
            capacity: 500,
            max_weight: 200_000,
            seeded: true,
        });
        assert_eq!(method(&seeded), "Seed");
        assert_eq!(
            sentence(&seeded),
            "vessel vessel001 \"Boaty McBoatface\" seeded"
        );
    }

    #[test]
    fn as_json_a_detail_is_tagged_with_its_kind() {
        let booked = Detail::ConsignmentBooked(ConsignmentBooked {
            consignment_id: "c1".into(),
            vessel_id: "v1".into(),
        });
        assert_eq!(
            serde_json::to_value(&booked).unwrap(),
            serde_json::json!({"type": "consignment_booked", "consignment_id": "c1", "vessel_id": "v1"})
        );
        let back: Detail = serde_json::from_value(serde_json::to_value(&booked).unwrap()).unwrap();
        assert_eq!(back, booked);
    }
}
