//! Reservations: the room one consignment holds on a vessel, the requests to take it and
//! give it back, what they come to, and how the activity log describes them.

use shippy_common::{FieldCode, FieldErrors};

use super::{Holder, Share, Vessel, VesselError};

/// Room to hold on one vessel for one consignment: a `Reserve` request, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub consignment_id: String,
    pub vessel_id: String,
    pub capacity: i32,
    pub weight: i32,
    /// The consignment's owner, for the activity log and their share of the vessel.
    pub user_id: String,
    /// The most of a vessel that is not theirs the owner may hold.
    pub share: Share,
    /// Its place among the booking's events (0: unordered), for the event it makes.
    pub sequence: i64,
}

impl Hold {
    pub fn parse(
        consignment_id: &str,
        vessel_id: &str,
        capacity: i32,
        weight: i32,
        user_id: &str,
    ) -> Result<Self, VesselError> {
        let mut errors = FieldErrors::new();
        let consignment_id = check_id(&mut errors, "consignment_id", consignment_id);
        let vessel_id = check_id(&mut errors, "vessel_id", vessel_id);
        let positive = "must be greater than 0";
        errors.check(capacity > 0, "capacity", FieldCode::TooSmall, positive);
        errors.check(weight > 0, "weight", FieldCode::TooSmall, positive);
        errors.finish().map_err(VesselError::Invalid)?;
        Ok(Self {
            consignment_id,
            vessel_id,
            capacity,
            weight,
            user_id: user_id.to_owned(),
            share: Share::WHOLE,
            sequence: 0,
        })
    }

    /// This hold as the `sequence`-th step of its booking.
    pub fn at(mut self, sequence: i64) -> Self {
        self.sequence = sequence;
        self
    }

    /// This hold, its owner held to `share` of a vessel that is not theirs.
    pub fn within(mut self, share: Share) -> Self {
        self.share = share;
        self
    }

    /// Who takes the room, as the share rule sees them.
    pub fn holder(&self) -> Holder {
        Holder::new(&self.user_id, self.share)
    }

    /// The reservation this hold becomes once the store has made it.
    pub fn held(&self) -> Reservation {
        Reservation {
            consignment_id: self.consignment_id.clone(),
            vessel_id: self.vessel_id.clone(),
            capacity: self.capacity,
            weight: self.weight,
            held: true,
        }
    }
}

/// A consignment id or vessel id: present, and at most 64 characters.
pub fn parse_id(field: &'static str, id: &str) -> Result<String, VesselError> {
    let mut errors = FieldErrors::new();
    let id = check_id(&mut errors, field, id);
    errors.finish().map_err(VesselError::Invalid)?;
    Ok(id)
}

/// `id` trimmed, with what is wrong with it noted in `errors`.
fn check_id(errors: &mut FieldErrors, field: &str, id: &str) -> String {
    let id = id.trim();
    errors.check(
        !id.is_empty(),
        field,
        FieldCode::Required,
        "must not be empty",
    );
    errors.check(
        id.chars().count() <= 64,
        field,
        FieldCode::TooLong,
        "must be at most 64 characters",
    );
    id.to_owned()
}

/// The room one consignment holds, or held, on a vessel. One per consignment, ever: a
/// second `Reserve` answers it, and once released it is never held again (a release that
/// arrives first leaves a released reservation with no vessel, so a late `Reserve` finds it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub consignment_id: String,
    /// Empty when nothing was ever reserved.
    pub vessel_id: String,
    pub capacity: i32,
    pub weight: i32,
    /// Whether the room is held now.
    pub held: bool,
}

impl Reservation {
    /// What a release leaves for a consignment that never held anything.
    pub fn released_unheld(consignment_id: &str) -> Self {
        Self {
            consignment_id: consignment_id.to_owned(),
            vessel_id: String::new(),
            capacity: 0,
            weight: 0,
            held: false,
        }
    }
}

/// What asking to hold room came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// Room was taken now.
    Made(Reservation),
    /// The consignment already holds room (maybe on another vessel): nothing more taken.
    AlreadyHeld(Reservation),
    /// The consignment's reservation was released before: nothing taken.
    WasReleased(Reservation),
    /// The vessel lacks the room; how it stood when refused.
    NoRoom(Vessel),
    /// The owner would hold more of the vessel than their share; what they held already
    /// (containers, weight).
    OverShare(Vessel, (i32, i32)),
    /// No vessel has that id.
    NoVessel,
}

/// What asking to give room back came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    /// The reservation as it is now (never held).
    pub reservation: Reservation,
    /// Whether this call gave room back (false for a repeat or for nothing held).
    pub changed: bool,
}

/// A `Release` request, validated: give back what `consignment_id` holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub consignment_id: String,
    /// The consignment's owner, for the activity log.
    pub user_id: String,
    /// Its place among the booking's events (0: unordered), for the event it makes.
    pub sequence: i64,
}

impl Release {
    pub fn parse(consignment_id: &str, user_id: &str) -> Result<Self, VesselError> {
        Ok(Self {
            consignment_id: parse_id("consignment_id", consignment_id)?,
            user_id: user_id.to_owned(),
            sequence: 0,
        })
    }
}

/// What `Reserve` and `Release` answer: the reservation as it stands, and whether this call
/// changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub reservation: Reservation,
    pub changed: bool,
}

impl From<Released> for Answer {
    fn from(r: Released) -> Self {
        Answer {
            reservation: r.reservation,
            changed: r.changed,
        }
    }
}

impl Hold {
    /// The answer to this hold from what the store did: a repeat answers what is held and
    /// changes nothing; a refusal says why, in the caller's terms.
    pub fn answer(&self, reserved: Reserved) -> Result<Answer, VesselError> {
        match reserved {
            Reserved::Made(reservation) => Ok(Answer {
                reservation,
                changed: true,
            }),
            Reserved::AlreadyHeld(reservation) => Ok(Answer {
                reservation,
                changed: false,
            }),
            Reserved::WasReleased(r) => Err(VesselError::ReservationReleased(r.consignment_id)),
            Reserved::NoRoom(vessel) => Err(VesselError::no_room(&vessel, self)),
            Reserved::OverShare(vessel, (held_capacity, held_weight)) => {
                Err(VesselError::OverShare {
                    vessel_id: vessel.id.clone(),
                    percent: self.share.as_percent(),
                    most_capacity: self.share.of(vessel.capacity),
                    most_weight: self.share.of(vessel.max_weight),
                    held_capacity,
                    held_weight,
                })
            }
            Reserved::NoVessel => Err(VesselError::UnknownVessel(self.vessel_id.clone())),
        }
    }
}
