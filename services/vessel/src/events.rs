//! The vessel service's events, typed, from its domain values: the translation to the log's
//! wire types happens here, at the edge, and nowhere else.

use shippy_common::events::Detail;
use shippy_proto::log as pb;

use crate::domain::{Hold, Reservation, Vessel};

/// `vessel` was added, by a user or (`seeded`) by shippy itself.
pub fn created(vessel: &Vessel, seeded: bool) -> Detail {
    Detail::VesselCreated(pb::VesselCreated {
        vessel_id: vessel.id.clone(),
        name: vessel.name.clone(),
        capacity: vessel.capacity,
        max_weight: vessel.max_weight,
        seeded,
    })
}

/// `hold` took its room.
pub fn reserved(hold: &Hold) -> Detail {
    Detail::CapacityReserved(pb::CapacityReserved {
        vessel_id: hold.vessel_id.clone(),
        consignment_id: hold.consignment_id.clone(),
        containers: hold.capacity,
        weight: hold.weight,
    })
}

/// The room `held` took is free again.
pub fn released(held: &Reservation) -> Detail {
    Detail::CapacityReleased(pb::CapacityReleased {
        vessel_id: held.vessel_id.clone(),
        consignment_id: held.consignment_id.clone(),
        containers: held.capacity,
        weight: held.weight,
    })
}
