//! The gateway's one error type: every failure becomes `{"error": {"code", "message"}}` with
//! the status the shared table gives its kind, and an invalid request also `fields`: every
//! field it got wrong, each with a code a client can word for a person.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shippy_common::{ErrorKind, FieldErrors};
use shippy_proto::tonic::{Code, Status};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds to wait before trying again, sent as `Retry-After`.
    pub retry_after: Option<String>,
    /// Every field the request got wrong (invalid arguments only).
    pub fields: FieldErrors,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            fields: FieldErrors::new(),
        }
    }
}

/// Every error the API answers.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, lowercase code such as `invalid_argument` or `unauthenticated`.
    #[schema(example = "invalid_argument")]
    pub code: &'static str,
    /// What went wrong, for a person; names the field when one is at fault.
    #[schema(example = "weight: must be greater than 0")]
    pub message: String,
    /// Every field the request got wrong, at once (400 only; absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDetail>,
}

/// One field a request got wrong.
#[derive(Serialize, ToSchema)]
pub struct FieldDetail {
    /// The field's name as sent: `capacity`, `containers[2].origin`.
    #[schema(example = "weight")]
    pub field: String,
    /// Why, as a stable code: `required`, `not_a_number`, `too_small`, `too_large`,
    /// `too_long` or `bad_format`.
    #[schema(example = "too_small")]
    pub code: &'static str,
    /// The rule it broke, in words.
    #[schema(example = "must be greater than 0")]
    pub message: String,
}

impl From<Status> for ApiError {
    fn from(status: Status) -> Self {
        let retry_after = status
            .metadata()
            .get("retry-after")
            .and_then(|v| v.to_str().ok());
        // A connection that broke mid-call carries the transport's words, not the
        // service's: say what it means for the caller instead.
        let kind = ErrorKind::from_grpc(status.code());
        let message = match status.code() {
            Code::Unknown | Code::Cancelled => {
                "the service was cut off before it answered; retry (a booking with the same Idempotency-Key)"
            }
            // An internal fault's words (a transport's, a library's) are for the log only.
            _ if !kind.is_public() => {
                tracing::error!(code = ?status.code(), message = status.message(), "internal error from a service call");
                "internal error"
            }
            _ => status.message(),
        };
        Self {
            retry_after: retry_after.map(str::to_owned),
            fields: shippy_common::fields::from_status(&status),
            ..Self::new(kind, message)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.kind.as_str(),
                message: self.message,
                fields: self
                    .fields
                    .iter()
                    .map(|f| FieldDetail {
                        field: f.field.clone(),
                        code: f.code.as_str(),
                        message: f.message.clone(),
                    })
                    .collect(),
            },
        };
        let mut response = (self.kind.http_status(), Json(body)).into_response();
        if let Some(value) = self.retry_after.and_then(|v| v.parse().ok()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

/// Gives axum's bare 405 (a route that exists, asked with a method it does not take) the
/// API's error body, naming the methods it does take; its `Allow` header stays.
pub async fn method_not_allowed(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    if response.status() != axum::http::StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let allowed = parts
        .headers
        .get(axum::http::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = ErrorBody {
        error: ErrorDetail {
            code: "method_not_allowed",
            message: format!("this path takes {allowed} only"),
            fields: Vec::new(),
        },
    };
    let json = Json(body).into_response();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, json.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_fault_reaches_the_client_without_its_detail() {
        for status in [
            Status::internal("h2 protocol error: frame with invalid size at 10.0.0.7"),
            Status::data_loss("sqlite: disk image is malformed"),
            Status::unimplemented("unknown method Foo on shippy.Vessel"),
        ] {
            let error = ApiError::from(status.clone());
            assert_eq!(error.message, "internal error", "{status:?}");
            assert_eq!(error.kind.http_status().as_u16(), 500, "{status:?}");
        }
        let public = ApiError::from(Status::invalid_argument("weight: must be greater than 0"));
        assert_eq!(public.message, "weight: must be greater than 0");
    }
}
