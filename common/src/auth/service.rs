//! Services' own identity: short-lived tokens a service signs for the calls it makes on its
//! own behalf (the booking saga resuming after a restart has no user's token to forward).

use std::sync::Mutex;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::{AuthError, Claims, now_secs, read_key};
use crate::config::AuthConfig;

/// The `iss` of services' own tokens; verifiers accept it only under the service key.
pub const SERVICE_ISSUER: &str = "shippy.services";

/// How long a service token lives, and how long before its end a fresh one is made.
const LIFETIME: Duration = Duration::from_secs(600);
const RENEW_BEFORE: Duration = Duration::from_secs(120);
/// How far before its signing a service token is valid from.
const NBF_SLACK_SECS: i64 = 60;

/// Signs a service's own tokens, and keeps the current one so calls reuse it.
pub struct ServiceTokens {
    key: EncodingKey,
    /// `shippy.services`, or `shippy.gateway` for the gateway's proof of itself.
    issuer: &'static str,
    service: &'static str,
    /// The methods its tokens may call, and nothing else.
    methods: &'static [&'static str],
    audience: String,
    current: Mutex<Option<(String, i64)>>,
}

impl std::fmt::Debug for ServiceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokens")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl ServiceTokens {
    /// Signs as `service` (e.g. `shippy.consignment`) with the service key in `pem`, for
    /// calls of `methods` only (`/shippy.vessel.VesselService/Reserve`, ...): every guard
    /// refuses the token for any other.
    pub fn from_pem(
        pem: &[u8],
        service: &'static str,
        methods: &'static [&'static str],
        config: &AuthConfig,
    ) -> Result<Self, AuthError> {
        Self::signing(
            pem,
            &config.service_private_key,
            SERVICE_ISSUER,
            service,
            methods,
            config,
        )
    }

    /// Signs the gateway's proof of itself ([`super::gateway`]) with the gateway key in
    /// `pem`: a token no guard accepts for any method.
    pub fn gateway_from_pem(pem: &[u8], config: &AuthConfig) -> Result<Self, AuthError> {
        Self::signing(
            pem,
            &config.gateway_private_key,
            super::gateway::GATEWAY_ISSUER,
            crate::names::API,
            &[],
            config,
        )
    }

    /// Loads the gateway private key named by the config (only api-service reads it).
    pub fn gateway(config: &AuthConfig) -> Result<Self, AuthError> {
        Self::gateway_from_pem(&read_key(&config.gateway_private_key)?, config)
    }

    fn signing(
        pem: &[u8],
        path: &std::path::Path,
        issuer: &'static str,
        service: &'static str,
        methods: &'static [&'static str],
        config: &AuthConfig,
    ) -> Result<Self, AuthError> {
        super::ed25519::install();
        let key = EncodingKey::from_ed_pem(pem).map_err(|e| AuthError::Key {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            key,
            issuer,
            service,
            methods,
            audience: config.audience.clone(),
            current: Mutex::new(None),
        })
    }

    /// Loads the service private key named by the config.
    pub fn load(
        service: &'static str,
        methods: &'static [&'static str],
        config: &AuthConfig,
    ) -> Result<Self, AuthError> {
        Self::from_pem(
            &read_key(&config.service_private_key)?,
            service,
            methods,
            config,
        )
    }

    /// A valid token naming this service: the current one, or a fresh one near its end.
    pub fn token(&self) -> Result<String, AuthError> {
        let now = now_secs();
        let renew = i64::try_from(RENEW_BEFORE.as_secs()).unwrap_or(0);
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, exp)) = current.as_ref()
            && now + renew < *exp
        {
            return Ok(token.clone());
        }
        let exp = now + i64::try_from(LIFETIME.as_secs()).unwrap_or(600);
        let claims = Claims {
            sub: format!("service:{}", self.service),
            email: String::new(),
            name: self.service.to_owned(),
            iss: self.issuer.to_owned(),
            aud: self.audience.clone(),
            iat: now,
            // A verifier whose clock runs behind takes it at once all the same.
            nbf: now - NBF_SLACK_SECS,
            exp,
            jti: String::new(),
            methods: self.methods.iter().map(|m| (*m).to_owned()).collect(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
            .map_err(|e| AuthError::Signing(e.to_string()))?;
        *current = Some((token.clone(), exp));
        Ok(token)
    }
}
