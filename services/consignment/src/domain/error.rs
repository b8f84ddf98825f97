//! What the consignment service can refuse or fail with, and the kind each is.

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
}
