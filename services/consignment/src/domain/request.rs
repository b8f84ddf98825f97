//! What a booking request must be: a consignment that passes the rules, and the key that
//! makes a retried booking book once.

use shippy_common::{FieldCode, FieldErrors};

use super::{ConsignmentError, Container};

/// The most containers one consignment may hold.
pub const MAX_CONTAINERS: usize = 10_000;
/// The longest description accepted, in characters (as the API's `maxLength` counts them).
pub const MAX_DESCRIPTION: usize = 1024;
/// The longest container field accepted, in characters.
pub const MAX_FIELD: usize = 256;

/// The key a client sends so a retried booking books once: 1 to 128 visible ASCII
/// characters. Without one, every request is its own booking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(key: Option<&str>) -> Result<Self, ConsignmentError> {
        let Some(key) = key else {
            return Ok(Self(format!("auto-{}", uuid::Uuid::new_v4().simple())));
        };
        if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConsignmentError::invalid(
                "idempotency-key",
                FieldCode::BadFormat,
                "must be 1 to 128 visible ASCII characters",
            ));
        }
        Ok(Self(format!("key-{key}")))
    }

    /// The key as stored.
    pub fn into_string(self) -> String {
        self.0
    }
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
        let mut errors = FieldErrors::new();
        errors.check(
            !description.is_empty(),
            "description",
            FieldCode::Required,
            "must not be empty",
        );
        errors.check(
            description.chars().count() <= MAX_DESCRIPTION,
            "description",
            FieldCode::TooLong,
            "must be at most 1024 characters",
        );
        errors.check(
            weight > 0,
            "weight",
            FieldCode::TooSmall,
            "must be greater than 0",
        );
        errors.check(
            !containers.is_empty(),
            "containers",
            FieldCode::Required,
            "at least one container is needed",
        );
        errors.check(
            containers.len() <= MAX_CONTAINERS,
            "containers",
            FieldCode::TooLarge,
            "at most 10000 containers per consignment",
        );
        for (i, c) in containers.iter().enumerate() {
            for (name, value) in [
                ("id", &c.id),
                ("customer_id", &c.customer_id),
                ("origin", &c.origin),
                ("user_id", &c.user_id),
            ] {
                if value.chars().count() > MAX_FIELD {
                    let field = format!("containers[{i}].{name}");
                    errors.add(field, FieldCode::TooLong, "must be at most 256 characters");
                }
            }
        }
        errors.finish().map_err(ConsignmentError::Invalid)?;
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
