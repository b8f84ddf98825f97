//! The gRPC token guard: a [`Check`] before a generated tonic server that verifies the
//! caller's token before any protected method runs and puts the [`Caller`] into the request
//! extensions. Public methods (sign-up, log-in) pass through untouched.

use std::sync::Arc;

use tonic::body::Body;
use tonic::{Request, Status};

use super::{AuthError, Claims, TokenVerifier};
use crate::check::Check;
use crate::error::to_status;

/// Who is calling: the verified claims and the token itself, to forward downstream (both
/// shared with the verifier's memory of the token).
#[derive(Clone)]
pub struct Caller {
    pub claims: Arc<Claims>,
    pub token: Arc<str>,
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

/// The token guard: every method not listed as public needs a valid token (a [`Check`]
/// that [`crate::layers::guarded`] runs).
#[derive(Clone)]
pub struct TokenGuard {
    verifier: Arc<TokenVerifier>,
    public: &'static [&'static str],
}

impl TokenGuard {
    /// Guards every method except those named in `public` (e.g. `["Auth"]`).
    pub fn new(verifier: Arc<TokenVerifier>, public: &'static [&'static str]) -> Self {
        Self { verifier, public }
    }
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

impl Check for TokenGuard {
    fn refusal<B>(&self, req: &mut http::Request<B>) -> Option<http::Response<Body>> {
        let path = req.uri().path();
        let method = path.rsplit('/').next().unwrap_or_default();
        if self.public.contains(&method) {
            return None;
        }
        let verified = bearer_from_metadata(req.headers()).and_then(|token| {
            let (token, claims) = self.verifier.verify_shared(token)?;
            Ok(Caller { claims, token })
        });
        match verified {
            // A service's own token opens the methods it names, and nothing else.
            Ok(caller)
                if caller.is_service() && !caller.claims.methods.iter().any(|m| m == path) =>
            {
                let refused = AuthError::NotThisServicesMethod {
                    service: caller.claims.name.clone(),
                    method: path.to_owned(),
                };
                tracing::warn!(%refused, "a service token was used for a method it does not name");
                Some(to_status(&refused).into_http())
            }
            Ok(caller) => {
                tracing::Span::current().record("user.id", caller.user_id());
                req.extensions_mut().insert(caller);
                None
            }
            Err(error) => {
                tracing::debug!(%error, method, "refused unauthenticated call");
                Some(to_status(&error).into_http())
            }
        }
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
