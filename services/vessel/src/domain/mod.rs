//! Vessels, specifications, reservations, and the rules for all three: a vessel's room is a
//! resource that bookings reserve and cancels give back. No wire types and no store here:
//! the gRPC edge and the repository translate.

mod reservation;
mod share;

use shippy_common::error::STORE_UNAVAILABLE;
use shippy_common::paging::Query;
use shippy_common::{ErrorKind, FieldCode, FieldErrors, KindedError};

pub use reservation::{Answer, Hold, Release, Released, Reservation, Reserved, parse_id};
pub use share::{Holder, Share};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vessel {
    pub id: String,
    pub capacity: i32,
    pub max_weight: i32,
    pub name: String,
    pub available: bool,
    pub owner_id: String,
    /// Containers not yet reserved: `capacity` less what bookings hold.
    pub remaining_capacity: i32,
    /// Weight not yet reserved: `max_weight` less what bookings hold.
    pub remaining_weight: i32,
}

/// A vessel's place in every list: smallest first, by capacity, then max weight, then id, so
/// no two vessels share one (and none of the three ever changes).
pub type VesselKey = (i32, i32, String);

impl Vessel {
    pub fn key(&self) -> VesselKey {
        (self.capacity, self.max_weight, self.id.clone())
    }
}

/// Which vessels a list holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VesselFilter {
    /// Only this user's.
    pub owner: Option<String>,
    /// Only those open for bookings.
    pub only_available: bool,
}

impl VesselFilter {
    /// The vessels `caller` asked for: theirs alone when `mine`.
    pub fn new(caller: &str, mine: bool, only_available: bool) -> Self {
        Self {
            owner: mine.then(|| caller.to_owned()),
            only_available,
        }
    }

    pub fn admits(&self, vessel: &Vessel) -> bool {
        self.owner.as_ref().is_none_or(|o| *o == vessel.owner_id)
            && (!self.only_available || vessel.available)
    }

    /// The query this list is for `caller`, which its page tokens are bound to.
    pub fn query(&self, caller: &str) -> Query {
        Query::new("vessels")
            .with("caller", caller)
            .with("owner", self.owner.as_deref().unwrap_or_default())
            .with("only_available", self.only_available)
    }
}

/// What a consignment needs: room for this many containers and this much weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Specification {
    pub capacity: i32,
    pub max_weight: i32,
}

impl Specification {
    pub fn parse(capacity: i32, max_weight: i32) -> Result<Self, VesselError> {
        let mut errors = FieldErrors::new();
        errors.check(
            capacity >= 0,
            "capacity",
            FieldCode::TooSmall,
            "must not be negative",
        );
        errors.check(
            max_weight >= 0,
            "max_weight",
            FieldCode::TooSmall,
            "must not be negative",
        );
        errors.finish().map_err(VesselError::Invalid)?;
        Ok(Self {
            capacity,
            max_weight,
        })
    }

    /// Whether `vessel` can carry this now: available, and the room it has left at least
    /// the spec's in both dimensions (the reference system had this inverted, and never
    /// counted what bookings had already taken).
    pub fn fits(&self, vessel: &Vessel) -> bool {
        vessel.has_room(self.capacity, self.max_weight)
    }
}

impl Vessel {
    /// Whether this vessel is available with room left for `capacity` containers and
    /// `weight` more. Stores apply the same rule as one conditional write.
    pub fn has_room(&self, capacity: i32, weight: i32) -> bool {
        self.available && self.remaining_capacity >= capacity && self.remaining_weight >= weight
    }

    /// Takes room for `hold`, or says why not; nothing changes on refusal.
    pub fn reserve(&mut self, hold: &Hold) -> Result<(), VesselError> {
        if !self.has_room(hold.capacity, hold.weight) {
            return Err(VesselError::no_room(self, hold));
        }
        self.remaining_capacity -= hold.capacity;
        self.remaining_weight -= hold.weight;
        Ok(())
    }

    /// Gives back the room `held` took (never past the vessel's size).
    pub fn release(&mut self, held: &Reservation) {
        self.remaining_capacity = (self.remaining_capacity + held.capacity).min(self.capacity);
        self.remaining_weight = (self.remaining_weight + held.weight).min(self.max_weight);
    }

    /// A new vessel of `owner_id`'s: validated as [`Vessel::parse`] does, owned by them
    /// whatever the request said.
    pub fn create(self, owner_id: &str) -> Result<Self, VesselError> {
        let mut vessel = self.parse()?;
        owner_id.clone_into(&mut vessel.owner_id);
        Ok(vessel)
    }

    /// Validates a vessel to create; an empty id gets a fresh one. A new vessel has all its
    /// room left, whatever the request said.
    pub fn parse(mut self) -> Result<Self, VesselError> {
        self.name = self.name.trim().to_owned();
        self.id = self.id.trim().to_owned();
        if self.id.is_empty() {
            self.id = format!("vessel-{}", uuid::Uuid::new_v4().simple());
        }
        let mut errors = FieldErrors::new();
        errors.check(
            self.id.chars().count() <= 64,
            "id",
            FieldCode::TooLong,
            "must be at most 64 characters",
        );
        errors.check(
            !self.name.is_empty(),
            "name",
            FieldCode::Required,
            "must not be empty",
        );
        errors.check(
            self.name.chars().count() <= 256,
            "name",
            FieldCode::TooLong,
            "must be at most 256 characters",
        );
        let positive = "must be greater than 0";
        errors.check(self.capacity > 0, "capacity", FieldCode::TooSmall, positive);
        errors.check(
            self.max_weight > 0,
            "max_weight",
            FieldCode::TooSmall,
            positive,
        );
        errors.finish().map_err(VesselError::Invalid)?;
        self.remaining_capacity = self.capacity;
        self.remaining_weight = self.max_weight;
        Ok(self)
    }
}

/// The tutorial's first vessel, present in every new store.
pub fn seed_vessel() -> Vessel {
    Vessel {
        id: "vessel001".into(),
        capacity: 500,
        max_weight: 200_000,
        name: "Kane's Salty Secret".into(),
        available: true,
        owner_id: String::new(),
        remaining_capacity: 500,
        remaining_weight: 200_000,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VesselError {
    /// Every field the request got wrong.
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("a vessel with id {0} already exists")]
    DuplicateId(String),
    #[error("no available vessel has room for {} containers and {} kg", .0.capacity, .0.max_weight)]
    NoneAvailable(Specification),
    /// None that the asker may hold that much more of: with those they do not own, they are
    /// held to a share.
    #[error(
        "no available vessel has room for {} containers and {} kg that you may hold: on a vessel \
         you do not own, one user may hold at most {percent}% (limits.vessel_share_percent)",
        .spec.capacity, .spec.max_weight
    )]
    NoneWithinShare { spec: Specification, percent: u32 },
    #[error("no vessel has id {0}")]
    UnknownVessel(String),
    #[error(
        "vessel {vessel_id} has room for {remaining_capacity} more containers and {remaining_weight} kg; \
         {capacity} containers and {weight} kg were asked"
    )]
    NoRoom {
        vessel_id: String,
        remaining_capacity: i32,
        remaining_weight: i32,
        capacity: i32,
        weight: i32,
    },
    /// The consignment's owner would hold more of a vessel that is not theirs than one user
    /// may.
    #[error(
        "vessel {vessel_id} is not yours: one user may hold at most {percent}% of it ({most_capacity} \
         containers and {most_weight} kg; limits.vessel_share_percent), and you hold \
         {held_capacity} containers and {held_weight} kg of it already"
    )]
    OverShare {
        vessel_id: String,
        percent: u32,
        most_capacity: i32,
        most_weight: i32,
        held_capacity: i32,
        held_weight: i32,
    },
    #[error("the reservation for consignment {0} was released; it cannot be held again")]
    ReservationReleased(String),
    #[error("nothing was ever reserved or released for consignment {0}")]
    NoReservation(String),
    #[error("{0} is for shippy's own services, not for users")]
    ServicesOnly(&'static str),
    /// The caller has as many vessels as one user may.
    #[error(
        "you have {0} vessels, the most one user may (limits.vessels_per_user): ask the \
         operator to raise it"
    )]
    TooManyVessels(u64),
    #[error("store: {0}")]
    Store(String),
    /// A fault of this process: logged, never shown to the caller.
    #[error("internal: {0}")]
    Internal(String),
}

impl VesselError {
    pub fn no_room(vessel: &Vessel, hold: &Hold) -> Self {
        VesselError::NoRoom {
            vessel_id: vessel.id.clone(),
            remaining_capacity: vessel.remaining_capacity,
            remaining_weight: vessel.remaining_weight,
            capacity: hold.capacity,
            weight: hold.weight,
        }
    }
}

impl KindedError for VesselError {
    fn kind(&self) -> ErrorKind {
        match self {
            VesselError::Invalid(_) => ErrorKind::InvalidArgument,
            VesselError::DuplicateId(_) => ErrorKind::AlreadyExists,
            VesselError::NoneAvailable(_)
            | VesselError::NoneWithinShare { .. }
            | VesselError::UnknownVessel(_)
            | VesselError::NoReservation(_) => ErrorKind::NotFound,
            VesselError::NoRoom { .. } | VesselError::OverShare { .. } => {
                ErrorKind::FailedPrecondition
            }
            VesselError::ReservationReleased(_) => ErrorKind::Conflict,
            VesselError::ServicesOnly(_) => ErrorKind::PermissionDenied,
            VesselError::TooManyVessels(_) => ErrorKind::ResourceExhausted,
            VesselError::Store(_) => ErrorKind::Unavailable,
            VesselError::Internal(_) => ErrorKind::Internal,
        }
    }

    fn fields(&self) -> Option<&FieldErrors> {
        match self {
            VesselError::Invalid(fields) => Some(fields),
            _ => None,
        }
    }

    fn public_message(&self) -> Option<String> {
        match self {
            VesselError::Store(_) => Some(STORE_UNAVAILABLE.to_owned()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shippy_common::error::testing::{STORE_DETAIL, assert_every_variant_answered_by_the_table};

    /// Which variant `error` is: a new variant fails to compile until it is numbered here,
    /// and then [`every_error_is_answered_in_the_tables_words`] until it is in its list.
    fn variant(error: &VesselError) -> u8 {
        match error {
            VesselError::Invalid(_) => 0,
            VesselError::DuplicateId(_) => 1,
            VesselError::NoneAvailable(_) => 2,
            VesselError::UnknownVessel(_) => 3,
            VesselError::NoRoom { .. } => 4,
            VesselError::ReservationReleased(_) => 5,
            VesselError::NoReservation(_) => 6,
            VesselError::ServicesOnly(_) => 7,
            VesselError::Store(_) => 8,
            VesselError::Internal(_) => 9,
            VesselError::TooManyVessels(_) => 10,
            VesselError::OverShare { .. } => 11,
            VesselError::NoneWithinShare { .. } => 12,
        }
    }

    #[test]
    fn every_error_is_answered_in_the_tables_words() {
        let v = seed_vessel();
        let hold = Hold::parse("c1", &v.id, 600, 10, "").unwrap();
        let errors = [
            (
                VesselError::Invalid(FieldErrors::one(
                    "capacity",
                    FieldCode::TooSmall,
                    "must be > 0",
                )),
                "",
            ),
            (VesselError::DuplicateId("vessel001".into()), ""),
            (
                VesselError::NoneAvailable(Specification {
                    capacity: 1,
                    max_weight: 1,
                }),
                "",
            ),
            (VesselError::UnknownVessel("vessel404".into()), ""),
            (VesselError::no_room(&v, &hold), ""),
            (VesselError::ReservationReleased("c1".into()), ""),
            (VesselError::NoReservation("c1".into()), ""),
            (VesselError::ServicesOnly("Reserve"), ""),
            (VesselError::Store(STORE_DETAIL.into()), STORE_DETAIL),
            (
                VesselError::Internal("decoding the row: invalid type: null".into()),
                "decoding",
            ),
            (VesselError::TooManyVessels(100), ""),
            (
                VesselError::NoneWithinShare {
                    spec: Specification {
                        capacity: 1,
                        max_weight: 1,
                    },
                    percent: 50,
                },
                "",
            ),
            (
                Hold::parse("c2", &v.id, 1, 1, "bob")
                    .unwrap()
                    .within(Share::percent(50))
                    .answer(Reserved::OverShare(v.clone(), (250, 10)))
                    .unwrap_err(),
                "",
            ),
        ];
        assert_every_variant_answered_by_the_table(&errors, variant, 13);
    }

    #[test]
    fn a_vessel_fits_when_capacity_and_weight_are_both_at_least_the_spec() {
        let v = seed_vessel();
        assert!(Specification::parse(500, 200_000).unwrap().fits(&v));
        assert!(Specification::parse(3, 55_000).unwrap().fits(&v));
        assert!(!Specification::parse(501, 1).unwrap().fits(&v));
        assert!(!Specification::parse(1, 200_001).unwrap().fits(&v));
        assert!(!Specification::parse(1, 1).unwrap().fits(&Vessel {
            available: false,
            ..v.clone()
        }));
        let half_full = Vessel {
            remaining_capacity: 250,
            remaining_weight: 100_000,
            ..v
        };
        assert!(Specification::parse(250, 100_000).unwrap().fits(&half_full));
        assert!(
            !Specification::parse(251, 1).unwrap().fits(&half_full),
            "what bookings hold is not offered again"
        );
    }

    fn hold(id: &str, capacity: i32, weight: i32) -> Hold {
        Hold::parse(id, "vessel001", capacity, weight, "alice").unwrap()
    }

    #[test]
    fn reserving_takes_room_until_none_is_left_and_releasing_gives_it_back() {
        let mut v = Vessel {
            capacity: 5,
            max_weight: 10_000,
            remaining_capacity: 5,
            remaining_weight: 10_000,
            ..seed_vessel()
        };
        for i in 0..5 {
            v.reserve(&hold(&format!("c{i}"), 1, 2_000)).unwrap();
        }
        assert_eq!((v.remaining_capacity, v.remaining_weight), (0, 0));
        let refused = v.reserve(&hold("c5", 1, 1)).unwrap_err();
        assert!(
            matches!(
                refused,
                VesselError::NoRoom {
                    remaining_capacity: 0,
                    ..
                }
            ),
            "{refused}"
        );
        assert_eq!(refused.kind(), ErrorKind::FailedPrecondition);
        v.release(&hold("c0", 1, 2_000).held());
        assert_eq!((v.remaining_capacity, v.remaining_weight), (1, 2_000));
        v.reserve(&hold("c5", 1, 2_000)).unwrap();
    }

    #[test]
    fn weight_alone_can_fill_a_vessel() {
        let mut v = Vessel {
            capacity: 5,
            max_weight: 10_000,
            remaining_capacity: 5,
            remaining_weight: 10_000,
            ..seed_vessel()
        };
        v.reserve(&hold("heavy", 1, 10_000)).unwrap();
        assert!(v.reserve(&hold("light", 1, 1)).is_err());
        assert_eq!(v.remaining_capacity, 4, "a refusal changes nothing");
    }

    #[test]
    fn a_release_never_gives_back_more_than_the_vessel_has() {
        let mut v = seed_vessel();
        v.release(&hold("c", 3, 3_000).held());
        assert_eq!((v.remaining_capacity, v.remaining_weight), (500, 200_000));
    }

    #[test]
    fn a_hold_names_its_bad_field() {
        let fields = |r: Result<Hold, VesselError>| match r {
            Err(VesselError::Invalid(errors)) => errors.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fields(Hold::parse(" ", "v", 1, 1, "")),
            "consignment_id: must not be empty"
        );
        assert_eq!(
            fields(Hold::parse("c", "", 1, 1, "")),
            "vessel_id: must not be empty"
        );
        assert_eq!(
            fields(Hold::parse("c", "v", 0, 1, "")),
            "capacity: must be greater than 0"
        );
        assert_eq!(
            fields(Hold::parse("c", "v", 1, -1, "")),
            "weight: must be greater than 0"
        );
        assert_eq!(
            fields(Hold::parse("", &"v".repeat(65), 0, 0, "")),
            "consignment_id: must not be empty; vessel_id: must be at most 64 characters; \
             capacity: must be greater than 0; weight: must be greater than 0"
        );
    }

    #[test]
    fn a_created_vessel_belongs_to_its_creator_whatever_the_request_said() {
        let asked = Vessel {
            owner_id: "mallory".into(),
            remaining_capacity: 0,
            ..seed_vessel()
        };
        let v = asked.create("alice").unwrap();
        assert_eq!(v.owner_id, "alice");
        assert_eq!(v.remaining_capacity, v.capacity, "all its room left");
    }

    #[test]
    fn a_hold_answers_what_the_store_did_in_the_callers_terms() {
        let hold = Hold::parse("c1", "vessel001", 2, 10, "alice").unwrap();
        let made = hold.answer(Reserved::Made(hold.held())).unwrap();
        assert!(made.changed);
        let again = hold.answer(Reserved::AlreadyHeld(hold.held())).unwrap();
        assert!(!again.changed, "a repeat changes nothing");
        let full = hold.answer(Reserved::NoRoom(seed_vessel())).unwrap_err();
        assert_eq!(full.kind(), ErrorKind::FailedPrecondition);
        let nowhere = hold.answer(Reserved::NoVessel).unwrap_err();
        assert_eq!(nowhere.to_string(), "no vessel has id vessel001");
        let released = Reservation::released_unheld("c1");
        let late = hold.answer(Reserved::WasReleased(released)).unwrap_err();
        assert_eq!(late.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn bad_vessels_and_specs_name_their_field() {
        let field = |e: VesselError| match e {
            VesselError::Invalid(errors) => errors.names().join(" "),
            other => panic!("{other}"),
        };
        assert_eq!(field(Specification::parse(-1, 0).unwrap_err()), "capacity");
        assert_eq!(
            field(Specification::parse(-1, -1).unwrap_err()),
            "capacity max_weight"
        );
        let Err(VesselError::Invalid(all)) = Vessel {
            id: "x".repeat(65),
            name: " ".into(),
            capacity: 0,
            max_weight: -5,
            ..seed_vessel()
        }
        .parse() else {
            panic!("a vessel wrong in every field was accepted");
        };
        let codes: Vec<_> = all
            .iter()
            .map(|e| format!("{} {}", e.field, e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                "id too_long",
                "name required",
                "capacity too_small",
                "max_weight too_small"
            ]
        );
        assert_eq!(
            field(
                Vessel {
                    capacity: 0,
                    ..seed_vessel()
                }
                .parse()
                .unwrap_err()
            ),
            "capacity"
        );
        assert_eq!(
            field(
                Vessel {
                    name: " ".into(),
                    ..seed_vessel()
                }
                .parse()
                .unwrap_err()
            ),
            "name"
        );
        let fresh = Vessel {
            id: String::new(),
            ..seed_vessel()
        }
        .parse()
        .unwrap();
        assert!(fresh.id.starts_with("vessel-"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any numbers and strings are a valid vessel or an invalid argument naming a field.
        #[test]
        fn vessel_parsing_never_panics_and_names_the_field(
            id in ".{0,100}",
            name in ".{0,300}",
            capacity in any::<i32>(),
            max_weight in any::<i32>(),
            available in any::<bool>(),
        ) {
            let vessel = Vessel { id, capacity, max_weight, name, available, owner_id: String::new(), remaining_capacity: -1, remaining_weight: -1 };
            match vessel.parse() {
                Ok(v) => {
                    prop_assert!(v.capacity > 0 && v.max_weight > 0 && !v.name.is_empty() && !v.id.is_empty());
                    prop_assert_eq!((v.remaining_capacity, v.remaining_weight), (v.capacity, v.max_weight));
                }
                Err(VesselError::Invalid(errors)) => {
                    prop_assert!(!errors.is_empty());
                    for field in errors.names() {
                        prop_assert!(["id", "name", "capacity", "max_weight"].contains(&field));
                    }
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }

        /// A spec fits exactly the vessels at least as big in both dimensions.
        #[test]
        fn a_spec_is_valid_unless_negative_and_fits_by_both_dimensions(c in any::<i32>(), w in any::<i32>()) {
            match Specification::parse(c, w) {
                Ok(spec) => {
                    prop_assert!(c >= 0 && w >= 0);
                    let v = Vessel { capacity: c, max_weight: w, remaining_capacity: c, remaining_weight: w, ..seed_vessel() };
                    prop_assert!(spec.fits(&v));
                    let smaller = Vessel { remaining_capacity: c.saturating_sub(1), ..v.clone() };
                    let fits_smaller = spec.fits(&smaller);
                    prop_assert!(!fits_smaller || c == 0);
                }
                Err(VesselError::Invalid(errors)) => {
                    prop_assert_eq!(errors.has("capacity"), c < 0);
                    prop_assert_eq!(errors.has("max_weight"), w < 0);
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }

        /// Whatever holds are asked in whatever order, a vessel never has less than nothing
        /// left, and what it has left is its size less what is held.
        #[test]
        fn no_sequence_of_holds_and_releases_overbooks(
            capacity in 1..50i32,
            max_weight in 1..100_000i32,
            ops in prop::collection::vec((any::<bool>(), 1..10i32, 1..30_000i32), 0..60),
        ) {
            let mut v = Vessel { capacity, max_weight, remaining_capacity: capacity, remaining_weight: max_weight, ..seed_vessel() };
            let mut held: Vec<Reservation> = Vec::new();
            for (i, (reserve, c, w)) in ops.into_iter().enumerate() {
                if reserve || held.is_empty() {
                    let h = Hold::parse(&format!("c{i}"), "vessel001", c, w, "").unwrap();
                    if v.reserve(&h).is_ok() { held.push(h.held()); }
                } else {
                    let r = held.remove(0);
                    v.release(&r);
                }
                prop_assert!(v.remaining_capacity >= 0 && v.remaining_weight >= 0);
                prop_assert_eq!(v.remaining_capacity, capacity - held.iter().map(|r| r.capacity).sum::<i32>());
                prop_assert_eq!(v.remaining_weight, max_weight - held.iter().map(|r| r.weight).sum::<i32>());
            }
        }
    }
}
