//! Vessels, specifications, and the rules for both.

use shippy_common::events::Events;
use shippy_common::{ErrorKind, KindedError};

use crate::repo::{RepoError, VesselRepository};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vessel {
    pub id: String,
    pub capacity: i32,
    pub max_weight: i32,
    pub name: String,
    pub available: bool,
    pub owner_id: String,
}

/// What a consignment needs: room for this many containers and this much weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Specification {
    pub capacity: i32,
    pub max_weight: i32,
}

impl Specification {
    pub fn parse(capacity: i32, max_weight: i32) -> Result<Self, VesselError> {
        if capacity < 0 {
            return Err(VesselError::invalid("capacity", "must not be negative"));
        }
        if max_weight < 0 {
            return Err(VesselError::invalid("max_weight", "must not be negative"));
        }
        Ok(Self {
            capacity,
            max_weight,
        })
    }

    /// Whether `vessel` can carry this: available, and capacity and max weight both at least
    /// the spec's (the reference system had this inverted).
    pub fn fits(&self, vessel: &Vessel) -> bool {
        vessel.available && vessel.capacity >= self.capacity && vessel.max_weight >= self.max_weight
    }
}

impl Vessel {
    /// Validates a vessel to create; an empty id gets a fresh one.
    pub fn parse(mut self) -> Result<Self, VesselError> {
        self.name = self.name.trim().to_owned();
        self.id = self.id.trim().to_owned();
        if self.id.is_empty() {
            self.id = format!("vessel-{}", uuid::Uuid::new_v4().simple());
        }
        if self.id.len() > 64 {
            return Err(VesselError::invalid("id", "must be at most 64 bytes"));
        }
        if self.name.is_empty() || self.name.len() > 256 {
            return Err(VesselError::invalid("name", "must be 1 to 256 bytes"));
        }
        if self.capacity <= 0 {
            return Err(VesselError::invalid("capacity", "must be greater than 0"));
        }
        if self.max_weight <= 0 {
            return Err(VesselError::invalid("max_weight", "must be greater than 0"));
        }
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
    }
}

/// Stores [`seed_vessel`] when the store is empty. Two instances racing both succeed.
pub async fn seed(repo: &dyn VesselRepository, events: &Events) -> Result<(), RepoError> {
    if repo.list().await?.is_empty() {
        let v = seed_vessel();
        let message = format!("vessel {} {:?} seeded", v.id, v.name);
        // The system's own event: no user caused it.
        match repo.create(&v, &events.outgoing("Seed", message, "")).await {
            Ok(()) => tracing::info!("seeded vessel001"),
            Err(RepoError::DuplicateId) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum VesselError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("a vessel with id {0} already exists")]
    DuplicateId(String),
    #[error("no available vessel has capacity >= {} and max weight >= {}", .0.capacity, .0.max_weight)]
    NoneAvailable(Specification),
    #[error("store: {0}")]
    Store(String),
}

impl VesselError {
    pub fn invalid(field: &'static str, reason: &str) -> Self {
        VesselError::Invalid {
            field,
            reason: reason.to_owned(),
        }
    }
}

impl KindedError for VesselError {
    fn kind(&self) -> ErrorKind {
        match self {
            VesselError::Invalid { .. } => ErrorKind::InvalidArgument,
            VesselError::DuplicateId(_) => ErrorKind::AlreadyExists,
            VesselError::NoneAvailable(_) => ErrorKind::NotFound,
            VesselError::Store(_) => ErrorKind::Unavailable,
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
            ..v
        }));
    }

    #[test]
    fn bad_vessels_and_specs_name_their_field() {
        let field = |e: VesselError| match e {
            VesselError::Invalid { field, .. } => field,
            other => panic!("{other}"),
        };
        assert_eq!(field(Specification::parse(-1, 0).unwrap_err()), "capacity");
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
            let vessel = Vessel { id, capacity, max_weight, name, available, owner_id: String::new() };
            match vessel.parse() {
                Ok(v) => prop_assert!(v.capacity > 0 && v.max_weight > 0 && !v.name.is_empty() && !v.id.is_empty()),
                Err(VesselError::Invalid { field, .. }) => {
                    prop_assert!(["id", "name", "capacity", "max_weight"].contains(&field));
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
                    let v = Vessel { capacity: c, max_weight: w, ..seed_vessel() };
                    prop_assert!(spec.fits(&v));
                    let smaller = Vessel { capacity: c.saturating_sub(1), ..v.clone() };
                    let fits_smaller = spec.fits(&smaller);
                    prop_assert!(!fits_smaller || c == 0);
                }
                Err(VesselError::Invalid { field, .. }) => prop_assert!(c < 0 && field == "capacity" || w < 0 && field == "max_weight"),
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }
}
