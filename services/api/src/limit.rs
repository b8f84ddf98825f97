//! The gateway's per-client rate limit, by the caller's address (the gateway verifies no
//! token itself; the services behind it limit each user too): 429 with `Retry-After` and the
//! JSON error body.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shippy_common::limit::{ClientLimits, address_key};

use crate::ApiError;

/// Lets the request through, or answers 429.
pub async fn per_client(
    State(limits): State<Arc<ClientLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "addr:unknown".to_owned(), |c| address_key(c.0.ip()));
    match limits.check(&key) {
        Ok(()) => next.run(request).await,
        Err(wait) => ApiError::from(limits.refusal(wait)).into_response(),
    }
}
