//! Consignments and their containers, and the rules a new one must pass.

use serde::{Deserialize, Serialize};
use shippy_common::{ErrorKind, KindedError};

/// The most containers one consignment may hold.
pub const MAX_CONTAINERS: usize = 10_000;
/// The longest description accepted.
pub const MAX_DESCRIPTION: usize = 1024;
/// The longest container field accepted.
pub const MAX_FIELD: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    pub customer_id: String,
    pub origin: String,
    pub user_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consignment {
    pub id: String,
    pub description: String,
    pub weight: i32,
    pub containers: Vec<Container>,
    pub vessel_id: String,
    /// The owner: the caller who booked it.
    pub user_id: String,
    pub status: String,
    pub created_at: String,
}

/// A consignment to book, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConsignment {
    pub description: String,
    pub weight: i32,
    pub containers: Vec<Container>,
}

impl NewConsignment {
    pub fn parse(
        description: &str,
        weight: i32,
        containers: Vec<Container>,
    ) -> Result<Self, ConsignmentError> {
        let description = description.trim();
        if description.is_empty() {
            return Err(ConsignmentError::invalid(
                "description",
                "must not be empty",
            ));
        }
        if description.len() > MAX_DESCRIPTION {
            return Err(ConsignmentError::invalid(
                "description",
                "must be at most 1024 bytes",
            ));
        }
        if weight <= 0 {
            return Err(ConsignmentError::invalid(
                "weight",
                "must be greater than 0",
            ));
        }
        if containers.is_empty() {
            return Err(ConsignmentError::invalid(
                "containers",
                "at least one container is needed",
            ));
        }
        if containers.len() > MAX_CONTAINERS {
            return Err(ConsignmentError::invalid(
                "containers",
                "at most 10000 containers per consignment",
            ));
        }
        for c in &containers {
            if [&c.id, &c.customer_id, &c.origin, &c.user_id]
                .iter()
                .any(|f| f.len() > MAX_FIELD)
            {
                return Err(ConsignmentError::invalid(
                    "containers",
                    "container fields must be at most 256 bytes",
                ));
            }
        }
        Ok(Self {
            description: description.to_owned(),
            weight,
            containers,
        })
    }

    /// How many containers the vessel must have room for.
    pub fn capacity_needed(&self) -> i32 {
        i32::try_from(self.containers.len()).unwrap_or(i32::MAX)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsignmentError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// No vessel can carry it; the vessel service's words.
    #[error("{0}")]
    NoVessel(String),
    /// The vessel service refused or could not be reached.
    #[error("vessel service: {message}")]
    Vessels { kind: ErrorKind, message: String },
    #[error("store: {0}")]
    Store(String),
}

impl ConsignmentError {
    pub fn invalid(field: &'static str, reason: &str) -> Self {
        ConsignmentError::Invalid {
            field,
            reason: reason.to_owned(),
        }
    }
}

impl KindedError for ConsignmentError {
    fn kind(&self) -> ErrorKind {
        match self {
            ConsignmentError::Invalid { .. } => ErrorKind::InvalidArgument,
            ConsignmentError::NoVessel(_) => ErrorKind::FailedPrecondition,
            ConsignmentError::Vessels { kind, .. } => *kind,
            ConsignmentError::Store(_) => ErrorKind::Unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> Container {
        Container {
            id: String::new(),
            customer_id: "cust001".into(),
            origin: "Derby".into(),
            user_id: "user001".into(),
        }
    }

    #[test]
    fn a_consignment_needs_a_description_a_weight_and_containers() {
        let field = |r: Result<NewConsignment, ConsignmentError>| match r {
            Err(ConsignmentError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(NewConsignment::parse(" ", 1, vec![container()])),
            "description"
        );
        assert_eq!(
            field(NewConsignment::parse("d", 0, vec![container()])),
            "weight"
        );
        assert_eq!(
            field(NewConsignment::parse("d", -5, vec![container()])),
            "weight"
        );
        assert_eq!(field(NewConsignment::parse("d", 1, vec![])), "containers");
        assert_eq!(
            field(NewConsignment::parse(
                "d",
                1,
                vec![container(); MAX_CONTAINERS + 1]
            )),
            "containers"
        );
        let ok = NewConsignment::parse("d", 55_000, vec![container(); 3]).unwrap();
        assert_eq!(ok.capacity_needed(), 3);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn container() -> impl Strategy<Value = Container> {
        (".{0,300}", ".{0,300}", ".{0,300}", ".{0,300}").prop_map(
            |(id, customer_id, origin, user_id)| Container {
                id,
                customer_id,
                origin,
                user_id,
            },
        )
    }

    proptest! {
        /// Any description, weight and containers are a valid booking or an invalid argument
        /// naming the field; never a panic.
        #[test]
        fn consignment_parsing_never_panics_and_names_the_field(
            description in ".{0,1100}",
            weight in any::<i32>(),
            containers in prop::collection::vec(container(), 0..8),
        ) {
            let n = containers.len();
            match NewConsignment::parse(&description, weight, containers) {
                Ok(ok) => {
                    prop_assert!(ok.weight > 0 && !ok.description.is_empty() && ok.description.len() <= MAX_DESCRIPTION);
                    prop_assert_eq!(ok.capacity_needed(), i32::try_from(n).unwrap());
                }
                Err(ConsignmentError::Invalid { field, .. }) => {
                    prop_assert!(["description", "weight", "containers"].contains(&field));
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }
}
