//! The consignment service's events, typed, from its domain values: the booking's steps as
//! the activity log records them. The translation to the log's wire types happens here, at
//! the edge, and nowhere else. Each event's sequence is its step's place among the booking's
//! steps, so a reader orders them as they happened whatever their clocks say.

use shippy_common::events::Detail;
use shippy_proto::log as pb;

use crate::domain::{Consignment, Status};

/// The place among its booking's events of the step `booking` ended on (its last).
pub fn sequence(booking: &Consignment) -> i64 {
    i64::try_from(booking.steps.len()).unwrap_or(i64::MAX)
}

/// The place the next step of `booking` will take.
pub fn next_sequence(booking: &Consignment) -> i64 {
    sequence(booking).saturating_add(1)
}

/// `pending` was stored: room is being found for it.
pub fn pending(pending: &Consignment) -> Detail {
    Detail::ConsignmentPending(pb::ConsignmentPending {
        consignment_id: pending.id.clone(),
        description: pending.description.clone(),
        containers: i32::try_from(pending.containers.len()).unwrap_or(i32::MAX),
        weight: pending.weight,
    })
}

/// `booked` is booked on its vessel.
pub fn booked(booked: &Consignment) -> Detail {
    Detail::ConsignmentBooked(pb::ConsignmentBooked {
        consignment_id: booked.id.clone(),
        vessel_id: booked.vessel_id.clone(),
    })
}

/// `ended` (rejected, failed or cancelled) holds nothing any more.
pub fn ended(ended: &Consignment) -> Detail {
    let consignment_id = ended.id.clone();
    match ended.status {
        Status::Rejected => Detail::ConsignmentRejected(pb::ConsignmentRejected {
            consignment_id,
            reason: ended.reason.clone(),
        }),
        Status::Failed => Detail::ConsignmentFailed(pb::ConsignmentFailed {
            consignment_id,
            reason: ended.reason.clone(),
        }),
        _ => Detail::ConsignmentCancelled(pb::ConsignmentCancelled { consignment_id }),
    }
}
