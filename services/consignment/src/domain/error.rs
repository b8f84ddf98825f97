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
            ConsignmentError::NoVessel(_) => ErrorKind::FailedPrecondition,
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
    use shippy_common::error::to_status;

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
