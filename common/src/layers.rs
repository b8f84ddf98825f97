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
//! The guards are [`Check`]s: each looks at a request, perhaps adds to its extensions, and
//! either passes it on or answers it at once. One [`Checked`] service runs them all.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::server::NamedService;
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::util::MapResponseLayer;

use crate::Service;
use crate::auth::{TokenGuard, TokenVerifier};
use crate::config::LimitsConfig;
use crate::decode_errors;
use crate::faults::FaultsLayer;
use crate::forwarded::TrustedProxies;
use crate::limit::{ClientLimits, RateLimit};
use crate::observe::GrpcRequestsLayer;

/// A check made before a call: it passes the request on, perhaps with something added to
/// its extensions, or answers it at once.
pub trait Check: Clone {
    /// The answer to give instead of calling (a refusal), if any.
    fn refusal<B>(&self, request: &mut http::Request<B>) -> Option<http::Response<Body>>;
}

/// Runs `C` before the service it wraps.
#[derive(Clone, Debug)]
pub struct CheckLayer<C>(pub C);

impl<S, C: Check> tower::Layer<S> for CheckLayer<C> {
    type Service = Checked<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Checked {
            inner,
            check: self.0.clone(),
        }
    }
}

/// A service behind a [`Check`].
#[derive(Clone, Debug)]
pub struct Checked<S, C> {
    inner: S,
    check: C,
}

impl<S: NamedService, C> NamedService for Checked<S, C> {
    const NAME: &'static str = S::NAME;
}

impl<S, C, B> tower::Service<http::Request<B>> for Checked<S, C>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
    C: Check,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.check.refusal(&mut request) {
            None => Answer::Called {
                call: self.inner.call(request),
            },
            refusal @ Some(_) => Answer::Refused { refusal },
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of a [`Checked`] service: the call's, or the check's refusal.
    #[project = AnswerProj]
    pub enum Answer<F> {
        Called { #[pin] call: F },
        Refused { refusal: Option<http::Response<Body>> },
    }
}

impl<F, E> Future for Answer<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AnswerProj::Called { call } => call.poll(cx),
            AnswerProj::Refused { refusal } => {
                Poll::Ready(Ok(refusal.take().expect("polled after it answered")))
            }
        }
    }
}

/// A generated tonic server behind the guards (see the module).
pub type Guarded<S> = Checked<Checked<Checked<S, RateLimit>, TokenGuard>, RateLimit>;

/// Guards `server`: every method not in `public` needs a valid token, and each request is
/// held to its address's and then its user's rate limit.
pub fn guarded<S>(
    server: S,
    verifier: Arc<TokenVerifier>,
    public: &'static [&'static str],
    limits: &LimitsConfig,
) -> Guarded<S> {
    let shared = ClientLimits::new(limits);
    // The config was validated at load; a bad list trusts nobody.
    let trusted = TrustedProxies::new(&limits.trusted_proxies).unwrap_or_default();
    ServiceBuilder::new()
        .layer(CheckLayer(RateLimit::by_address(shared.clone(), trusted)))
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
