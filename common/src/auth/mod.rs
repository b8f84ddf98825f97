//! JWT auth: Ed25519 key pairs, the token issuer (only the user service holds the private
//! key), the verifier every service loads at start, and the gRPC guard ([`TokenGuard`]).
//!
//! Claims carry the user's id, email and name, the issuer, audience and times: nothing
//! secret (the reference system put the password hash in its tokens).

pub mod ed25519;
pub mod gateway;
mod keys;
mod layer;
pub mod revocations;
pub mod rotation;
mod service;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use gateway::GatewayProof;
pub use keys::{KeyPair, generate_key_pair, jwk, key_id, public_of, write_key_pair};
pub use layer::{Caller, TokenGuard, bearer_from_metadata, caller, forward_token};
pub use service::{SERVICE_ISSUER, ServiceTokens};

use crate::config::AuthConfig;

/// What a shippy token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub email: String,
    pub name: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// The token's own id, what log-out revokes; empty on services' tokens.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    /// On a service's own token, the methods it may call (`/package.Service/Method`), and
    /// nothing else; empty on users' tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
}

/// Why a token was refused; the message says which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing token: send 'authorization: Bearer <token>'")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("invalid token signature")]
    BadSignature,
    #[error("token has the wrong issuer")]
    WrongIssuer,
    #[error("token has the wrong audience")]
    WrongAudience,
    #[error("token algorithm not accepted")]
    WrongAlgorithm,
    #[error("token revoked: its holder logged out")]
    Revoked,
    /// A service's own token used for a method it does not name.
    #[error("a {service} service token may not call {method}")]
    NotThisServicesMethod { service: String, method: String },
    /// This process cannot vouch that the token was not logged out: it has not caught up
    /// with the log-outs yet, or fell behind them. Failing closed, retryable.
    #[error("this instance is catching up with log-outs; retry in a moment")]
    RevocationsBehind,
    /// The token names a key this process does not know yet and is fetching (a rotation
    /// it has not learned of): retryable.
    #[error("the key that signed this token is new to this instance; retry in a moment")]
    KeyBeingFetched,
    #[error("cannot load key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("cannot sign token: {0}")]
    Signing(String),
}

impl crate::KindedError for AuthError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            AuthError::Key { .. } | AuthError::Signing(_) => crate::ErrorKind::Internal,
            AuthError::RevocationsBehind | AuthError::KeyBeingFetched => {
                crate::ErrorKind::Unavailable
            }
            AuthError::NotThisServicesMethod { .. } => crate::ErrorKind::PermissionDenied,
            _ => crate::ErrorKind::Unauthenticated,
        }
    }
}

/// A users' token public key from `pem`, with its id and as a JSON Web Key.
fn public_key(pem: &[u8], path: &Path) -> Result<rotation::TrustedKey, AuthError> {
    let bad = |reason: String| AuthError::Key {
        path: path.display().to_string(),
        reason,
    };
    let text = std::str::from_utf8(pem).map_err(|e| bad(e.to_string()))?;
    rotation::TrustedKey::from_pem(text).map_err(|e| bad(e.to_string()))
}

fn read_key(path: &Path) -> Result<Vec<u8>, AuthError> {
    std::fs::read(path).map_err(|e| AuthError::Key {
        path: path.display().to_string(),
        reason: format!("{e} (run `make init` to create the key pair)"),
    })
}

/// The clock tokens are judged by, in unix seconds.
pub fn now_secs() -> i64 {
    shippy_plugins::now_unix_ms() / 1000
}

/// Signs tokens. Built once at start from the private key.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    /// The id of its public key, in every token's header, so a verifier holding the
    /// current and the previous key knows which one signed it.
    kid: String,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

/// The identity a token is issued for: taken from the stored user, never from the request.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
}

impl TokenIssuer {
    pub fn from_pem(pem: &[u8], config: &AuthConfig) -> Result<Self, AuthError> {
        ed25519::install();
        let bad = |reason: String| AuthError::Key {
            path: config.private_key.display().to_string(),
            reason,
        };
        let key = EncodingKey::from_ed_pem(pem).map_err(|e| bad(e.to_string()))?;
        let kid = std::str::from_utf8(pem)
            .map_err(|e| bad(e.to_string()))
            .and_then(|pem| public_of(pem).map_err(|e| bad(e.to_string())))
            .and_then(|public| key_id(&public).map_err(|e| bad(e.to_string())))?;
        Ok(Self {
            key,
            kid,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            lifetime: Duration::from_secs(config.token_lifetime_secs),
        })
    }

    /// Loads the private key named by the config.
    pub fn load(config: &AuthConfig) -> Result<Self, AuthError> {
        Self::from_pem(&read_key(&config.private_key)?, config)
    }

    /// A token for `subject`, valid from now for the configured lifetime; also answers its
    /// expiry (Unix seconds).
    pub fn issue(&self, subject: &Subject<'_>) -> Result<(String, i64), AuthError> {
        let now = now_secs();
        let exp = now + i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: subject.user_id.to_owned(),
            email: subject.email.to_owned(),
            name: subject.name.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
            methods: Vec::new(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| AuthError::Signing(e.to_string()))?;
        Ok((token, exp))
    }

    /// The id of the key it signs with, as each token's header names it.
    pub fn key_id(&self) -> &str {
        &self.kid
    }
}

/// Checks tokens. Built once at start from the public key; cheap to clone.
///
/// A signature check costs tens of microseconds and a client sends the same token again and
/// again, so tokens that verified are remembered (bounded, in memory only) and a repeat only
/// has its time window checked again: the bytes that verified once verify again. A repeat
/// shares the token and claims remembered (reference counts), allocating nothing.
#[derive(Clone)]
pub struct TokenVerifier {
    /// Users' token keys: the current one first, then the previous one (kept after a
    /// rotation until the tokens it signed have expired), and any learned since start.
    keys: Arc<RwLock<rotation::KeySet>>,
    /// When to fetch the keys user-service publishes (see [`rotation`]).
    fetching: Arc<rotation::Fetching>,
    validation: Validation,
    /// Services' own calls: another key, and the issuer [`SERVICE_ISSUER`].
    service: Option<(DecodingKey, Validation)>,
    verified: Arc<Mutex<HashMap<Arc<str>, Arc<Claims>>>>,
    /// Revoked token ids and until when they would have been valid (Unix seconds): the
    /// live part of the deny list, fed by [`revocations::follow`].
    revoked: Arc<Mutex<HashMap<String, i64>>>,
    /// Whether the deny list is up to date with the log-outs: false from the moment a
    /// follower starts until it has caught up, and while it lags too far behind. Users'
    /// tokens are refused (retryably) while it is false.
    current: Arc<tokio::sync::watch::Sender<bool>>,
}

/// How many verified tokens a process remembers before it starts over.
const VERIFIED_MAX: usize = 4096;

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier").finish_non_exhaustive()
    }
}

impl TokenVerifier {
    pub fn from_pem(pem: &[u8], config: &AuthConfig) -> Result<Self, AuthError> {
        ed25519::install();
        let key = public_key(pem, &config.public_key)?;
        if config.issuer == SERVICE_ISSUER {
            return Err(AuthError::Key {
                path: config.public_key.display().to_string(),
                reason: format!("auth.issuer must not be {SERVICE_ISSUER:?}, the services' own"),
            });
        }
        Ok(Self {
            keys: Arc::new(RwLock::new(rotation::KeySet { keys: vec![key] })),
            fetching: Arc::default(),
            validation: validation(&config.issuer, &config.audience),
            service: None,
            verified: Arc::default(),
            revoked: Arc::default(),
            current: Arc::new(tokio::sync::watch::Sender::new(true)),
        })
    }

    /// Also accepts users' tokens signed with the previous key `pem` (after a rotation, until
    /// they expire).
    pub fn with_previous_key(self, pem: &[u8], path: &Path) -> Result<Self, AuthError> {
        let key = public_key(pem, path)?;
        self.key_set_mut().push(key);
        Ok(self)
    }

    fn key_set(&self) -> std::sync::RwLockReadGuard<'_, rotation::KeySet> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn key_set_mut(&self) -> std::sync::RwLockWriteGuard<'_, rotation::KeySet> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The users' token keys it accepts, as a JWKS document (`{"keys": [...]}`), current first.
    pub fn jwks(&self) -> serde_json::Value {
        self.key_set().jwks()
    }

    /// The users' token keys it accepts, newest first, each with its endorsement by the key
    /// before it where it has one: what user-service publishes.
    pub fn published(&self) -> Vec<rotation::PublishedKey> {
        self.key_set().published()
    }

    /// Trusts each key of `published` that a key it trusts endorsed; answers their ids.
    pub fn learn(&self, published: &[rotation::PublishedKey]) -> Vec<String> {
        self.key_set_mut().learn(published)
    }

    /// Attaches the endorsement `shippy keys rotate` wrote, if one is at `path` and a key
    /// this verifier trusts signed it (a stale or foreign one is ignored, and said so).
    fn with_endorsement(self, path: &Path) -> Result<Self, AuthError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self),
            Err(e) => {
                return Err(AuthError::Key {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                });
            }
        };
        let attached = serde_json::from_str::<rotation::Endorsement>(&text)
            .is_ok_and(|endorsement| self.key_set_mut().attach(endorsement));
        if !attached {
            tracing::warn!(
                path = %path.display(),
                "the key endorsement does not endorse the current key with the previous one: \
                 not published, so services learn the current key only from its file"
            );
        }
        Ok(self)
    }

    /// Also accepts services' own calls, signed with the service key `pem`.
    pub fn with_service_key(mut self, pem: &[u8], config: &AuthConfig) -> Result<Self, AuthError> {
        let key = DecodingKey::from_ed_pem(pem).map_err(|e| AuthError::Key {
            path: config.service_public_key.display().to_string(),
            reason: e.to_string(),
        })?;
        self.service = Some((key, validation(SERVICE_ISSUER, &config.audience)));
        Ok(self)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Claims>>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads the public keys named by the config: users' tokens and services' own.
    pub fn load(config: &AuthConfig) -> Result<Self, AuthError> {
        let verifier = Self::from_pem(&read_key(&config.public_key)?, config)?
            .with_service_key(&read_key(&config.service_public_key)?, config)?;
        // The previous key and the endorsement are there only after `shippy keys rotate`.
        let verifier = match std::fs::read(&config.previous_public_key) {
            Ok(pem) => verifier.with_previous_key(&pem, &config.previous_public_key)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => verifier,
            Err(e) => {
                return Err(AuthError::Key {
                    path: config.previous_public_key.display().to_string(),
                    reason: e.to_string(),
                });
            }
        };
        verifier.with_endorsement(&config.key_endorsement)
    }

    /// Refuses the token with id `jti` from now on; `until` is its expiry, after which the
    /// entry is dropped (an expired token is refused anyway), so the list stays bounded.
    pub fn revoke(&self, jti: &str, until: i64) {
        let now = now_secs();
        if jti.is_empty() || until + LEEWAY_SECS < now {
            return;
        }
        let mut revoked = self.revoked.lock().unwrap_or_else(|p| p.into_inner());
        revoked.retain(|_, until| *until + LEEWAY_SECS >= now);
        revoked.insert(jti.to_owned(), until);
    }

    /// Whether the token `claims` describe was logged out (as far as this process knows).
    pub fn is_revoked(&self, claims: &Claims) -> bool {
        !claims.jti.is_empty()
            && self
                .revoked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&claims.jti)
    }

    /// The claims of `token` if this verifier has already verified it and it is still live
    /// and not revoked; `None` otherwise, without checking a signature: what a rate limit
    /// may ask before it decides whose budget a request counts against.
    pub fn remembers(&self, token: &str) -> Option<Arc<Claims>> {
        let claims = self.remembered().get(token.trim()).map(Arc::clone)?;
        let now = now_secs();
        let live = claims.nbf - LEEWAY_SECS <= now && now < claims.exp + LEEWAY_SECS;
        (live && !self.is_revoked(&claims)).then_some(claims)
    }

    /// The claims of a valid token, or which check it failed.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, AuthError> {
        self.verify_shared(token).map(|(_, claims)| claims)
    }

    /// [`Self::verify`], also answering the token as remembered (trimmed), for the
    /// [`Caller`] to carry without a copy.
    pub(crate) fn verify_shared(&self, token: &str) -> Result<(Arc<str>, Arc<Claims>), AuthError> {
        let (token, claims) = self.verify_signed(token)?;
        if self.is_revoked(&claims) {
            return Err(AuthError::Revoked);
        }
        // A user's token could have been logged out where this process has not read yet;
        // a service's own token is never logged out.
        if claims.iss != SERVICE_ISSUER && !self.is_current() {
            return Err(AuthError::RevocationsBehind);
        }
        Ok((token, claims))
    }

    /// Whether the deny list is up to date with the log-outs (see [`revocations::follow`]).
    pub fn is_current(&self) -> bool {
        *self.current.borrow()
    }

    /// Waits until the deny list is up to date with the log-outs, for at most `limit`;
    /// answers whether it is.
    pub async fn until_current(&self, limit: Duration) -> bool {
        let mut current = self.current.subscribe();
        tokio::time::timeout(limit, current.wait_for(|c| *c))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// Says whether the deny list is up to date with the log-outs.
    pub fn set_current(&self, current: bool) {
        self.current
            .send_if_modified(|now| std::mem::replace(now, current) != current);
    }

    fn verify_signed(&self, token: &str) -> Result<(Arc<str>, Arc<Claims>), AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(0);
        let remembered = self
            .remembered()
            .get_key_value(token)
            .map(|(token, claims)| (Arc::clone(token), Arc::clone(claims)));
        if let Some((token, claims)) = remembered {
            let now = now_secs();
            if claims.nbf - leeway <= now && now < claims.exp + leeway {
                return Ok((token, claims));
            }
            self.remembered().remove(&token);
        }
        // The key the header names first, then the others (a token from before key ids).
        let kid = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid);
        let (mut decoded, known) = {
            let set = self.key_set();
            let named = |k: &&rotation::TrustedKey| Some(&k.kid) == kid.as_ref();
            let mut keys = set
                .keys
                .iter()
                .filter(named)
                .chain(set.keys.iter().filter(|k| !named(k)));
            let first = keys.next().map(|k| &k.decoding);
            let mut decoded = match first {
                Some(key) => jsonwebtoken::decode::<Claims>(token, key, &self.validation),
                None => Err(JwtErrorKind::InvalidSignature.into()),
            };
            for key in keys {
                match &decoded {
                    Err(e) if matches!(e.kind(), JwtErrorKind::InvalidSignature) => {
                        decoded =
                            jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation);
                    }
                    _ => break,
                }
            }
            (decoded, kid.as_deref().is_none_or(|kid| set.knows(kid)))
        };
        // Not a user's token: perhaps a service's own, under its own key and issuer.
        if let (Err(e), Some((key, validation))) = (&decoded, &self.service)
            && matches!(
                e.kind(),
                JwtErrorKind::InvalidSignature | JwtErrorKind::InvalidIssuer
            )
            && let Ok(data) = jsonwebtoken::decode::<Claims>(token, key, validation)
        {
            decoded = Ok(data);
        }
        match decoded {
            // Signed by a key this process has not learned of yet, perhaps: retry once it has.
            Err(e)
                if !known
                    && matches!(e.kind(), JwtErrorKind::InvalidSignature)
                    && self.fetching.nudge() =>
            {
                Err(AuthError::KeyBeingFetched)
            }
            Ok(data) => {
                let (token, claims) = (Arc::<str>::from(token), Arc::new(data.claims));
                let mut remembered = self.remembered();
                if remembered.len() >= VERIFIED_MAX {
                    remembered.clear();
                }
                remembered.insert(Arc::clone(&token), Arc::clone(&claims));
                Ok((token, claims))
            }
            Err(e) => Err(match e.kind() {
                JwtErrorKind::ExpiredSignature => AuthError::Expired,
                JwtErrorKind::ImmatureSignature => AuthError::NotYetValid,
                JwtErrorKind::InvalidSignature => AuthError::BadSignature,
                JwtErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                JwtErrorKind::InvalidAudience => AuthError::WrongAudience,
                JwtErrorKind::InvalidAlgorithm => AuthError::WrongAlgorithm,
                _ => AuthError::Malformed,
            }),
        }
    }
}

/// What every shippy verifier checks: EdDSA, issuer, audience, the time window.
fn validation(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS as u64;
    validation
}

/// How far clocks may disagree, in seconds.
const LEEWAY_SECS: i64 = 5;

#[cfg(test)]
mod tests;
