//! One error table for gRPC and HTTP. Every crate's own error type says which [`ErrorKind`]
//! it is; this module maps kinds to `tonic::Code` and HTTP statuses, so a gRPC error becomes
//! the same HTTP status at the gateway. Internal detail is logged once and never sent.

use http::StatusCode;
use tonic::{Code, Status};

#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The kinds of failure a client can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    /// The request clashes with what was asked before (an idempotency key reused for
    /// another body, a reservation already released).
    Conflict,
    FailedPrecondition,
    ResourceExhausted,
    /// A request or message over the size limit.
    TooLarge,
    DeadlineExceeded,
    Unavailable,
    Internal,
}

/// kind, gRPC code, HTTP status, the code string REST clients see. Where two kinds share
/// a gRPC code, the first row is what that code means on the way back.
#[rustfmt::skip]
const TABLE: [(ErrorKind, Code, StatusCode, &str); 12] = [
    (ErrorKind::InvalidArgument,    Code::InvalidArgument,    StatusCode::BAD_REQUEST,           "invalid_argument"),
    (ErrorKind::Unauthenticated,    Code::Unauthenticated,    StatusCode::UNAUTHORIZED,          "unauthenticated"),
    (ErrorKind::PermissionDenied,   Code::PermissionDenied,   StatusCode::FORBIDDEN,             "permission_denied"),
    (ErrorKind::NotFound,           Code::NotFound,           StatusCode::NOT_FOUND,             "not_found"),
    (ErrorKind::AlreadyExists,      Code::AlreadyExists,      StatusCode::CONFLICT,              "already_exists"),
    (ErrorKind::Conflict,           Code::Aborted,            StatusCode::CONFLICT,              "conflict"),
    (ErrorKind::FailedPrecondition, Code::FailedPrecondition, StatusCode::UNPROCESSABLE_ENTITY,  "failed_precondition"),
    (ErrorKind::ResourceExhausted,  Code::ResourceExhausted,  StatusCode::TOO_MANY_REQUESTS,     "resource_exhausted"),
    (ErrorKind::TooLarge,           Code::ResourceExhausted,  StatusCode::PAYLOAD_TOO_LARGE,     "payload_too_large"),
    (ErrorKind::DeadlineExceeded,   Code::DeadlineExceeded,   StatusCode::GATEWAY_TIMEOUT,       "deadline_exceeded"),
    (ErrorKind::Unavailable,        Code::Unavailable,        StatusCode::SERVICE_UNAVAILABLE,   "unavailable"),
    (ErrorKind::Internal,           Code::Internal,           StatusCode::INTERNAL_SERVER_ERROR, "internal"),
];

impl ErrorKind {
    fn row(self) -> &'static (ErrorKind, Code, StatusCode, &'static str) {
        TABLE
            .iter()
            .find(|row| row.0 == self)
            .unwrap_or(&TABLE[TABLE.len() - 1])
    }

    pub fn grpc_code(self) -> Code {
        self.row().1
    }

    pub fn http_status(self) -> StatusCode {
        self.row().2
    }

    /// The lowercase code REST clients see in `{"error": {"code": ...}}`.
    pub fn as_str(self) -> &'static str {
        self.row().3
    }

    /// The kind of a gRPC code; codes shippy never sends on purpose count as internal,
    /// except the transport's own (cancelled, and unknown from a connection that broke
    /// mid-call), which a caller may retry: unavailable. OUT_OF_RANGE is what a client says
    /// of an answer past the message cap: shippy's fault (its lists page so that none is),
    /// never the caller's, so internal too.
    pub fn from_grpc(code: Code) -> Self {
        match code {
            Code::Cancelled | Code::Unknown => ErrorKind::Unavailable,
            other => TABLE
                .iter()
                .find(|row| row.1 == other)
                .map_or(ErrorKind::Internal, |row| row.0),
        }
    }

    /// Whether the message is safe and useful to show a client.
    pub fn is_public(self) -> bool {
        !matches!(self, ErrorKind::Internal)
    }
}

/// An error that knows its kind; services implement it for their own error enums.
pub trait KindedError: std::error::Error {
    fn kind(&self) -> ErrorKind;

    /// Every field the request got wrong, for an invalid argument.
    fn fields(&self) -> Option<&crate::FieldErrors> {
        None
    }
    /// The words a caller gets instead of the error's own text, when that text holds what
    /// only the service should see (a store's or a decoder's message, a path): `Some` is
    /// answered, and the full text is logged once with the request id the answer names.
    fn public_message(&self) -> Option<String> {
        None
    }
}

/// What a caller is told when the store failed: what to do, never the store's own words.
pub const STORE_UNAVAILABLE: &str = "the store is unavailable; retry shortly";

/// Turns a service error into a gRPC status through the table. Internal errors are logged
/// here, once, and the client sees only "internal error".
pub fn to_status<E: KindedError>(error: &E) -> Status {
    let kind = error.kind();
    if let Some(fields) = error.fields().filter(|f| !f.is_empty()) {
        fields.status(kind.grpc_code(), error.to_string())
    } else if let Some(public) = error.public_message().filter(|_| kind.is_public()) {
        let request = crate::request_id::request_id().unwrap_or_else(|| "-".to_owned());
        tracing::warn!(%error, request_id = %request, "answered without its detail");
        Status::new(kind.grpc_code(), format!("{public} (request {request})"))
    } else if kind.is_public() {
        Status::new(kind.grpc_code(), error.to_string())
    } else {
        tracing::error!(%error, "internal error");
        Status::new(kind.grpc_code(), "internal error")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_too_large_for_the_gateway_is_never_the_callers_fault() {
        assert_eq!(
            ErrorKind::from_grpc(Code::OutOfRange)
                .http_status()
                .as_u16(),
            500
        );
        let exhausted = ErrorKind::from_grpc(Code::ResourceExhausted).http_status();
        assert_eq!(exhausted.as_u16(), 429);
    }

    #[test]
    fn every_kind_round_trips_through_its_grpc_code() {
        for (i, (kind, code, _, _)) in TABLE.into_iter().enumerate() {
            assert_eq!(kind.grpc_code(), code);
            let first = TABLE.iter().position(|row| row.1 == code).unwrap();
            if first == i {
                assert_eq!(ErrorKind::from_grpc(code), kind);
            }
        }
    }

    #[test]
    fn client_errors_are_4xx_and_infrastructure_errors_5xx() {
        for kind in [
            ErrorKind::InvalidArgument,
            ErrorKind::Unauthenticated,
            ErrorKind::NotFound,
            ErrorKind::AlreadyExists,
        ] {
            assert!(kind.http_status().is_client_error(), "{kind:?}");
        }
        assert_eq!(
            ErrorKind::Unavailable.http_status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(ErrorKind::from_grpc(Code::DataLoss), ErrorKind::Internal);
        assert_eq!(ErrorKind::Conflict.http_status(), StatusCode::CONFLICT);
        assert_eq!(
            ErrorKind::from_grpc(Code::Unknown),
            ErrorKind::Unavailable,
            "a connection that broke mid-call is retryable"
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("disk on fire at /secret/path")]
    struct Boom;
    impl KindedError for Boom {
        fn kind(&self) -> ErrorKind {
            ErrorKind::Internal
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("store: disk I/O error at /var/lib/shippy/users.db: SQLITE_IOERR")]
    struct StoreDown;

    impl KindedError for StoreDown {
        fn kind(&self) -> ErrorKind {
            ErrorKind::Unavailable
        }
        fn public_message(&self) -> Option<String> {
            Some(STORE_UNAVAILABLE.to_owned())
        }
    }

    #[tokio::test]
    async fn a_store_failure_is_retryable_in_the_tables_words_with_the_request_to_look_up() {
        let status =
            crate::request_id::with_request_id("req-42".into(), async { to_status(&StoreDown) })
                .await;
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            status.message(),
            "the store is unavailable; retry shortly (request req-42)"
        );
    }

    #[test]
    fn internal_detail_never_reaches_the_client() {
        let status = to_status(&Boom);
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
