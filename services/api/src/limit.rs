//! The gateway's per-client rate limit: a signed-in user's by the user, anything else by the
//! client's address (see [`per_client`]): 429 with `Retry-After` and the JSON error body. The
//! address is the peer's, or the client a trusted proxy in front of the gateway names; it
//! travels on to the services with every call made for the request, beside the gateway's
//! signed proof of itself, without which the services would not believe it.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shippy_common::auth::{ServiceTokens, TokenVerifier, bearer_from_metadata};
use shippy_common::forwarded::{self, Forwarding, Origin, TrustedProxies};
use shippy_common::limit::{ClientLimits, address_key};
use shippy_common::runtime::Peer;

use crate::ApiError;

/// Whom the gateway believes about a client's address, and how it proves itself onward.
#[derive(Clone)]
pub struct Forwarder {
    pub trusted: TrustedProxies,
    /// Signs the gateway's proof of itself (renewed every few minutes, not per request).
    pub proof: Arc<ServiceTokens>,
}

/// Judges whose request this is and serves it as that client's: see the module docs.
pub async fn client_origin(
    State(forwarder): State<Forwarder>,
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
    let client = forwarder.trusted.of_request(peer, request.headers()).ip();
    request.extensions_mut().insert(Origin::Client(client));
    let proof = match forwarder.proof.token() {
        Ok(token) => axum::http::HeaderValue::try_from(token)
            .ok()
            .map(|mut value| {
                // A credential: kept out of HPACK's tables and of any header dump.
                value.set_sensitive(true);
                value
            }),
        Err(error) => {
            // The services then hold the request to the gateway's own address's budget.
            tracing::error!(%error, "cannot sign the gateway's proof");
            None
        }
    };
    forwarded::serving(Forwarding { client, proof }, next.run(request)).await
}

/// What the gateway's rate limit needs: the budgets, and the public key to tell a signed-in
/// user's token from anything else.
#[derive(Clone)]
pub struct GatewayLimits {
    pub limits: Arc<ClientLimits>,
    pub verifier: Arc<TokenVerifier>,
}

/// The routes anyone may call: held to the address's budget whatever token they carry.
const PUBLIC: [(Method, &str); 3] = [
    (Method::POST, "/api/v1/users"),
    (Method::POST, "/api/v1/auth/login"),
    (Method::POST, "/api/v1/auth/validate"),
];

/// Lets the request through, or answers 429. A signed-in user's request (a protected route,
/// a token verified before) counts against that user's budget alone, so people behind one
/// address do not share one. Anything else counts against the address's, before anything
/// is done with it: no token, a public route, or a token not verified yet, which is then
/// verified so its next requests count as its user's (a flood of forged tokens is refused
/// by its address's budget before their signatures cost anything).
pub async fn per_client(
    State(gate): State<GatewayLimits>,
    request: Request,
    next: Next,
) -> Response {
    let public = PUBLIC
        .iter()
        .any(|(method, path)| request.method() == method && request.uri().path() == *path);
    let token = bearer_from_metadata(request.headers())
        .ok()
        .filter(|t| !public && !t.is_empty());
    let user = token.and_then(|t| gate.verifier.remembers(t));
    let key = match &user {
        Some(claims) => format!("user:{}", claims.sub),
        None => request
            .extensions()
            .get::<Origin>()
            .map_or_else(|| "addr:unknown".to_owned(), |o| address_key(o.ip())),
    };
    if let Err(wait) = gate.limits.check(&key) {
        return ApiError::from(gate.limits.refusal(wait)).into_response();
    }
    if user.is_none()
        && let Some(token) = token
    {
        // Remembered from now on if good; the services answer the request either way.
        let _ = gate.verifier.verify(token);
    }
    next.run(request).await
}
