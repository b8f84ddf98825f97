//! The gRPC guard: a tower wrapper around a generated tonic server that verifies the
//! caller's token before any protected method runs and puts the [`Caller`] into the request
//! extensions. Public methods (sign-up, log-in) pass through untouched.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::server::NamedService;
use tonic::{Request, Status};

use super::{AuthError, Claims, TokenVerifier};
use crate::error::to_status;

/// Who is calling: the verified claims and the token itself, to forward downstream.
#[derive(Clone)]
pub struct Caller {
    pub claims: Claims,
    pub token: String,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("claims", &self.claims)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Caller {
    pub fn user_id(&self) -> &str {
        &self.claims.sub
    }

    /// Whether a shippy service is calling on its own behalf: the verifier accepts the
    /// services' issuer only under the service key, so no user's token can claim this.
    pub fn is_service(&self) -> bool {
        self.claims.iss == super::SERVICE_ISSUER
    }
}

/// Wraps a tonic service so every method not listed as public needs a valid token.
#[derive(Clone)]
pub struct RequireAuth<S> {
    inner: S,
    verifier: Arc<TokenVerifier>,
    public: &'static [&'static str],
}

impl<S> RequireAuth<S> {
    /// Guards every method of `inner` except those named in `public` (e.g. `["Auth"]`).
    pub fn new(inner: S, verifier: Arc<TokenVerifier>, public: &'static [&'static str]) -> Self {
        Self {
            inner,
            verifier,
            public,
        }
    }
}

impl<S: NamedService> NamedService for RequireAuth<S> {
    const NAME: &'static str = S::NAME;
}

/// The token a request carries: `authorization: Bearer <t>`, or the reference clients'
/// `token` key (any case: HTTP/2 lowercases header names).
pub fn bearer_from_metadata(headers: &http::HeaderMap) -> Result<&str, AuthError> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Malformed);
        }
        return Ok(token.trim());
    }
    match headers.get("token") {
        Some(value) => value
            .to_str()
            .map(str::trim)
            .map_err(|_| AuthError::Malformed),
        None => Err(AuthError::Missing),
    }
}

impl<S, B> tower::Service<http::Request<B>> for RequireAuth<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let method = req.uri().path().rsplit('/').next().unwrap_or_default();
        if !self.public.contains(&method) {
            let verified = bearer_from_metadata(req.headers()).and_then(|token| {
                let claims = self.verifier.verify(token)?;
                Ok(Caller {
                    claims,
                    token: token.to_owned(),
                })
            });
            match verified {
                Ok(caller) => {
                    tracing::Span::current().record("user.id", caller.user_id());
                    req.extensions_mut().insert(caller);
                }
                Err(error) => {
                    tracing::debug!(%error, method, "refused unauthenticated call");
                    let response = to_status(&error).into_http();
                    return Box::pin(async move { Ok(response) });
                }
            }
        }
        Box::pin(self.inner.call(req))
    }
}

/// The verified caller of a guarded method.
pub fn caller<T>(req: &Request<T>) -> Result<&Caller, Status> {
    req.extensions()
        .get::<Caller>()
        .ok_or_else(|| Status::unauthenticated("missing token"))
}

/// Puts `token` on an outgoing request as `authorization: Bearer <token>`.
pub fn forward_token<T>(req: &mut Request<T>, token: &str) -> Result<(), Status> {
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| Status::unauthenticated("malformed token"))?;
    req.metadata_mut().insert("authorization", value);
    Ok(())
}
