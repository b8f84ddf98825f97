//! For in-process handler tests, which call a service's handlers past the token guard:
//! requests carrying the [`Caller`] the guard would have put on them, and an auth config
//! whose keys are never read.

use std::sync::Arc;

use tonic::Request;

use super::{Caller, Claims, SERVICE_ISSUER};
use crate::config::AuthConfig;

/// `message` as `user_id` (a user signed in at shippy's user service) sends it.
pub fn from_user<T>(user_id: &str, message: T) -> Request<T> {
    past_the_guard(user_id, "shippy.user", message)
}

/// `message` as the shippy service `name` sends it on its own behalf (the booking saga).
pub fn from_service<T>(name: &str, message: T) -> Request<T> {
    past_the_guard(name, SERVICE_ISSUER, message)
}

/// The claims of a token for `subject` from `issuer` that never expires and has no id.
pub fn claims(subject: &str, issuer: &str) -> Claims {
    Claims {
        sub: subject.into(),
        email: format!("{subject}@example.com"),
        name: subject.into(),
        iss: issuer.into(),
        aud: "shippy".into(),
        iat: 0,
        nbf: 0,
        exp: i64::MAX,
        jti: String::new(),
        methods: Vec::new(),
    }
}

fn past_the_guard<T>(subject: &str, issuer: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(Caller {
        claims: Arc::new(claims(subject, issuer)),
        token: "".into(),
    });
    request
}

/// The shipped auth settings with `login_failures_per_account` failures allowed; the key
/// paths point nowhere (tests make their keys in memory).
pub fn auth_config(login_failures_per_account: u32) -> AuthConfig {
    AuthConfig {
        issuer: "shippy.user".into(),
        audience: "shippy".into(),
        token_lifetime_secs: 3600,
        private_key: "unused".into(),
        public_key: "unused".into(),
        previous_public_key: "unused".into(),
        key_endorsement: "unused".into(),
        key_refresh_secs: 30,
        service_private_key: "unused".into(),
        service_public_key: "unused".into(),
        gateway_private_key: "unused".into(),
        gateway_public_key: "unused".into(),
        login_failures_per_account,
        login_failures_per_address: 20,
        login_window_secs: 300,
        login_trusted_days: 30,
        revocations_max_lag_secs: 10,
        hash_concurrency: 0,
        hash_wait_ms: 2_000,
    }
}

/// A gateway proof signer with a fresh key no service knows (for in-process gateway tests,
/// whose services are stubs or absent).
pub fn gateway_tokens() -> Arc<super::ServiceTokens> {
    let keys = super::generate_key_pair().expect("a fresh key pair");
    Arc::new(
        super::ServiceTokens::gateway_from_pem(keys.private_pem.as_bytes(), &auth_config(5))
            .expect("a key just made"),
    )
}
