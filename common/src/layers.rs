//! The tower layers every gRPC server runs, composed here and nowhere else, in the order a
//! request meets them:
//!
//! - around the whole server, health checks included ([`ServerLayers`]): the request's span,
//!   log line and metrics ([`crate::observe`]); tonic's decoding failures answered as gRPC's
//!   own servers answer them ([`crate::decode_errors`]); the fault flags ([`crate::faults`]);
//! - around a service's own methods ([`Guarded`]): its client address's rate limit, the token
//!   guard, its user's rate limit ([`crate::limit`], [`crate::auth`]); cheap refusals come
//!   before dear work.
//!
//! The guards are [`Check`](crate::check::Check)s, each run by one [`Checked`] service.

use std::sync::Arc;

use tonic::body::Body;
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::util::MapResponseLayer;

use crate::Service;
use crate::auth::{GatewayProof, TokenGuard, TokenVerifier};
use crate::check::{CheckLayer, Checked};
use crate::config::LimitsConfig;
use crate::decode_errors;
use crate::faults::FaultsLayer;
use crate::limit::{ClientLimits, RateLimit};
use crate::observe::GrpcRequestsLayer;

/// A generated tonic server behind the guards (see the module).
pub type Guarded<S> = Checked<Checked<Checked<S, RateLimit>, TokenGuard>, RateLimit>;

/// Guards `server`: every method not in `public` needs a valid token, and each request is
/// held to its user's rate limit when a verified user makes it, else its address's: the
/// client's the gateway names when `gateway` verifies its proof, else the caller's own.
pub fn guarded<S>(
    server: S,
    verifier: Arc<TokenVerifier>,
    gateway: Arc<GatewayProof>,
    public: &'static [&'static str],
    limits: &LimitsConfig,
) -> Guarded<S> {
    let shared = ClientLimits::new(limits);
    ServiceBuilder::new()
        .layer(CheckLayer(RateLimit::by_address(
            shared.clone(),
            gateway,
            Arc::clone(&verifier),
            public,
        )))
        .layer(CheckLayer(TokenGuard::new(verifier, public)))
        .layer(CheckLayer(RateLimit::by_user(shared)))
        .service(server)
}

/// Corrects an answer's gRPC status (see [`decode_errors`]).
type Correct = fn(http::Response<Body>) -> http::Response<Body>;

/// The layers around a whole server (see the module).
pub type ServerLayers = ServiceBuilder<
    Stack<FaultsLayer, Stack<MapResponseLayer<Correct>, Stack<GrpcRequestsLayer, Identity>>>,
>;

/// The layers around `service`'s server.
pub fn server_layers(service: Service) -> ServerLayers {
    ServiceBuilder::new()
        .layer(GrpcRequestsLayer)
        .map_response(decode_errors::corrected as Correct)
        .layer(FaultsLayer::new(service))
}
