//! The gateway's per-client rate limit, by the client's address (the gateway verifies no
//! token itself; the services behind it limit each user too): 429 with `Retry-After` and the
//! JSON error body. The address is the peer's, or the client a trusted proxy in front of the
//! gateway names; it travels on to the services with every call made for the request.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shippy_common::forwarded::{self, Origin, TrustedProxies};
use shippy_common::limit::{ClientLimits, address_key};
use shippy_common::runtime::Peer;

use crate::ApiError;

/// Judges whose request this is and serves it as that client's: see the module docs.
pub async fn client_origin(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(peer) = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0.0.ip())
    else {
        return next.run(request).await;
    };
    // Whoever calls the gateway is a client, even from a trusted address.
    let client = trusted.of_request(peer, request.headers()).ip();
    request.extensions_mut().insert(Origin::Client(client));
    forwarded::serving(client, next.run(request)).await
}

/// Lets the request through, or answers 429.
pub async fn per_client(
    State(limits): State<Arc<ClientLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .extensions()
        .get::<Origin>()
        .map_or_else(|| "addr:unknown".to_owned(), |o| address_key(o.ip()));
    match limits.check(&key) {
        Ok(()) => next.run(request).await,
        Err(wait) => ApiError::from(limits.refusal(wait)).into_response(),
    }
}
