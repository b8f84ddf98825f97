//! What the consignment service can refuse or fail with, and the kind each is.

use shippy_common::error::STORE_UNAVAILABLE;
use shippy_common::{ErrorKind, FieldCode, FieldErrors, KindedError};

#[derive(Debug, thiserror::Error)]
pub enum ConsignmentError {
    /// Every field the request got wrong.
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("no consignment {0} of yours")]
    NotFound(String),
    #[error(
        "idempotency-key: already used for another consignment ({0}); send a new key for a new booking"
    )]
    KeyReused(String),
    #[error("consignment {0} was cancelled")]
    Cancelled(String),
    #[error("consignment {id} is {status}: cannot {what} it")]
    WrongState {
        id: String,
        status: &'static str,
        what: String,
    },
    /// The booking is stored but not finished; a retry with the same key finishes it.
    #[error("consignment {id} is still pending ({cause}); retry with the same idempotency key")]
    Unfinished { id: String, cause: String },
    /// No vessel can carry it; the vessel service's words.
    #[error("{0}")]
    NoVessel(String),
    /// The caller has as many bookings in flight as one user may.
    #[error(
        "you have {0} bookings still being booked or given back, the most one user may \
         (limits.bookings_in_flight_per_user): retry when one has finished, or ask the \
         operator to raise it"
    )]
    TooManyBookings(u64),
    /// Shippy gave up on it; it holds nothing. A new booking (a new key) may fare better.
    #[error("consignment {id} failed: {reason}")]
    Failed { id: String, reason: String },
    /// The vessel service refused or could not be reached.
    #[error("vessel service: {message}")]
    Vessels { kind: ErrorKind, message: String },
    #[error("store: {0}")]
    Store(String),
}

impl ConsignmentError {
    pub fn invalid(field: &'static str, code: FieldCode, reason: &str) -> Self {
        ConsignmentError::Invalid(FieldErrors::one(field, code, reason))
    }
}

impl KindedError for ConsignmentError {
    fn kind(&self) -> ErrorKind {
        match self {
            ConsignmentError::Invalid(_) => ErrorKind::InvalidArgument,
            ConsignmentError::NotFound(_) => ErrorKind::NotFound,
            ConsignmentError::KeyReused(_) | ConsignmentError::Cancelled(_) => ErrorKind::Conflict,
            ConsignmentError::WrongState { .. } => ErrorKind::FailedPrecondition,
            ConsignmentError::Unfinished { .. } => ErrorKind::Unavailable,
            ConsignmentError::TooManyBookings(_) => ErrorKind::ResourceExhausted,
            ConsignmentError::NoVessel(_) | ConsignmentError::Failed { .. } => {
                ErrorKind::FailedPrecondition
            }
            ConsignmentError::Vessels { kind, .. } => *kind,
            ConsignmentError::Store(_) => ErrorKind::Unavailable,
        }
    }

    fn fields(&self) -> Option<&FieldErrors> {
        match self {
            ConsignmentError::Invalid(fields) => Some(fields),
            _ => None,
        }
    }

    /// A store's own words stay in the log: a booking cut off by the store is still named,
    /// with what to do.
    fn public_message(&self) -> Option<String> {
        match self {
            ConsignmentError::Store(_) => Some(STORE_UNAVAILABLE.to_owned()),
            ConsignmentError::Unfinished { id, cause } if cause.starts_with(STORE_CAUSE) => {
                Some(format!(
                    "consignment {id} is still pending (the store is unavailable); retry with \
                     the same idempotency key"
                ))
            }
            _ => None,
        }
    }
}

/// How an [`ConsignmentError::Unfinished`] cut off by the store starts its cause.
pub const STORE_CAUSE: &str = "store: ";

#[cfg(test)]
mod tests {
    use super::*;
    use shippy_common::error::testing::{STORE_DETAIL, assert_every_variant_answered_by_the_table};
    use shippy_common::error::to_status;

    /// Which variant `error` is: a new variant fails to compile until it is numbered here,
    /// and then [`every_error_is_answered_in_the_tables_words`] until it is in its list.
    fn variant(error: &ConsignmentError) -> u8 {
        match error {
            ConsignmentError::Invalid(_) => 0,
            ConsignmentError::NotFound(_) => 1,
            ConsignmentError::KeyReused(_) => 2,
            ConsignmentError::Cancelled(_) => 3,
            ConsignmentError::WrongState { .. } => 4,
            ConsignmentError::Unfinished { .. } => 5,
            ConsignmentError::NoVessel(_) => 6,
            ConsignmentError::Vessels { .. } => 7,
            ConsignmentError::Store(_) => 8,
            ConsignmentError::Failed { .. } => 9,
            ConsignmentError::TooManyBookings(_) => 10,
        }
    }

    #[test]
    fn every_error_is_answered_in_the_tables_words() {
        let errors = [
            (
                ConsignmentError::invalid("weight", FieldCode::TooSmall, "must be > 0"),
                "",
            ),
            (ConsignmentError::NotFound("c1".into()), ""),
            (ConsignmentError::KeyReused("c1".into()), ""),
            (ConsignmentError::Cancelled("c1".into()), ""),
            (
                ConsignmentError::WrongState {
                    id: "c1".into(),
                    status: "cancelled",
                    what: "cancel".into(),
                },
                "",
            ),
            (
                ConsignmentError::Unfinished {
                    id: "c1".into(),
                    cause: format!("{STORE_CAUSE}{STORE_DETAIL}"),
                },
                STORE_DETAIL,
            ),
            (
                ConsignmentError::Unfinished {
                    id: "c1".into(),
                    cause: "vessel service: no instance answered in time".into(),
                },
                "",
            ),
            (
                ConsignmentError::NoVessel("no available vessel has room".into()),
                "",
            ),
            (
                ConsignmentError::Vessels {
                    kind: ErrorKind::Unavailable,
                    message: "no instance of shippy.vessel answered in time".into(),
                },
                "",
            ),
            (
                ConsignmentError::Vessels {
                    kind: ErrorKind::Internal,
                    message: "h2 protocol error at 10.0.0.7".into(),
                },
                "h2 protocol",
            ),
            (ConsignmentError::Store(STORE_DETAIL.into()), STORE_DETAIL),
            (
                ConsignmentError::Failed {
                    id: "c1".into(),
                    reason: "shippy gave up after 8 tries in a row failed".into(),
                },
                "",
            ),
            (ConsignmentError::TooManyBookings(1000), ""),
        ];
        assert_every_variant_answered_by_the_table(&errors, variant, 11);
    }

    #[test]
    fn the_stores_own_words_never_reach_the_caller() {
        let detail = "database is locked (SQLITE_BUSY) at /data/consignments.db";
        for error in [
            ConsignmentError::Store(detail.into()),
            ConsignmentError::Unfinished {
                id: "c1".into(),
                cause: format!("{STORE_CAUSE}{detail}"),
            },
        ] {
            let status = to_status(&error);
            assert_eq!(status.code(), shippy_proto::tonic::Code::Unavailable);
            assert!(!status.message().contains("SQLITE"), "{status:?}");
            assert!(
                status.message().contains("the store is unavailable"),
                "{status:?}"
            );
        }
        let cut_off = to_status(&ConsignmentError::Unfinished {
            id: "c1".into(),
            cause: "vessel service: no instance answers".into(),
        });
        assert!(
            cut_off
                .message()
                .contains("vessel service: no instance answers"),
            "the vessel service's public words stay: {cut_off:?}"
        );
    }
}
