//! Vessels, specifications, reservations, and the rules for all three: a vessel's room is a
//! resource that bookings reserve and cancels give back.

use shippy_common::{ErrorKind, FieldCode, FieldErrors, KindedError};

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
            self.id.len() <= 64,
            "id",
            FieldCode::TooLong,
            "must be at most 64 bytes",
        );
        errors.check(
            !self.name.is_empty(),
            "name",
            FieldCode::Required,
            "must not be empty",
        );
        errors.check(
            self.name.len() <= 256,
            "name",
            FieldCode::TooLong,
            "must be at most 256 bytes",
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

/// Room to hold on one vessel for one consignment: a `Reserve` request, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub consignment_id: String,
    pub vessel_id: String,
    pub capacity: i32,
    pub weight: i32,
    /// The consignment's owner, for the activity log.
    pub user_id: String,
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
        })
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

/// "1 container", "3 containers".
pub fn containers(n: i32) -> String {
    if n == 1 {
        "1 container".to_owned()
    } else {
        format!("{n} containers")
    }
}

/// A consignment id or vessel id: present, and at most 64 bytes.
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
        id.len() <= 64,
        field,
        FieldCode::TooLong,
        "must be at most 64 bytes",
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
    #[error("the reservation for consignment {0} was released; it cannot be held again")]
    ReservationReleased(String),
    #[error("{0} is for shippy's own services, not for users")]
    ServicesOnly(&'static str),
    #[error("store: {0}")]
    Store(String),
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
            VesselError::NoneAvailable(_) | VesselError::UnknownVessel(_) => ErrorKind::NotFound,
            VesselError::NoRoom { .. } => ErrorKind::FailedPrecondition,
            VesselError::ReservationReleased(_) => ErrorKind::Conflict,
            VesselError::ServicesOnly(_) => ErrorKind::PermissionDenied,
            VesselError::Store(_) => ErrorKind::Unavailable,
        }
    }

    fn fields(&self) -> Option<&FieldErrors> {
        match self {
            VesselError::Invalid(fields) => Some(fields),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "consignment_id: must not be empty; vessel_id: must be at most 64 bytes; \
             capacity: must be greater than 0; weight: must be greater than 0"
        );
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
