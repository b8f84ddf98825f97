//! The gateway's one error type: every failure becomes `{"error": {"code", "message"}}` with
//! the status the shared table gives its kind.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shippy_common::ErrorKind;
use shippy_proto::tonic::Status;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<Status> for ApiError {
    fn from(status: Status) -> Self {
        Self::new(ErrorKind::from_grpc(status.code()), status.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.kind.as_str(), "message": self.message } });
        (self.kind.http_status(), Json(body)).into_response()
    }
}
