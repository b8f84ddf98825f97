//! The gateway's own fault flags on the REST API (not on health checks or the UI's files):
//! `api.latency_ms` holds each request, and a request struck by `api.fail_rate` is answered
//! 503 with the API's error body naming the flag.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shippy_common::ErrorKind;
use shippy_plugins::flags;

use crate::ApiError;

const LATENCY: &str = "api.latency_ms";
const FAIL: &str = "api.fail_rate";

pub async fn per_request(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    if let Some(delay) = flags::delay(LATENCY) {
        flags::injected(LATENCY, &format!("held the request {delay:?}"));
        tokio::time::sleep(delay).await;
    }
    if flags::strikes(FAIL) {
        flags::injected(FAIL, "answered the request 503");
        return ApiError::new(
            ErrorKind::Unavailable,
            format!("the gateway is failing on purpose (fault flag {FAIL}); try again"),
        )
        .into_response();
    }
    next.run(request).await
}
