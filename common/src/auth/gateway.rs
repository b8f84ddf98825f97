//! The gateway's identity. Every call the gateway makes for a client carries a short-lived
//! proof signed with the gateway key ([`PROOF_HEADER`], made by
//! [`ServiceTokens::gateway`](super::ServiceTokens::gateway)); a service believes the client
//! address such a call names in `x-forwarded-for` only when the proof verifies under the
//! gateway's public key ([`GatewayProof`]). Where a call comes from proves nothing: any
//! process on the gateway's machine or network could send from there.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{DecodingKey, Validation};

use super::{AuthConfig, AuthError, Claims, now_secs, read_key};
use crate::forwarded::{self, Origin};

/// The `iss` of the gateway's proofs; nothing accepts it as a caller's token.
pub const GATEWAY_ISSUER: &str = "shippy.gateway";

pub use crate::forwarded::PROOF_HEADER;

/// Proofs remembered as verified: a few per gateway instance (each renews its proof every
/// few minutes), so a full memory means a flood of forgeries, and is emptied.
const REMEMBERED_MAX: usize = 64;

/// Checks the gateway's proofs (see the module).
pub struct GatewayProof {
    key: DecodingKey,
    validation: Validation,
    /// Proofs verified already, with their expiry: the gateway reuses each for minutes.
    verified: Mutex<HashMap<Arc<str>, i64>>,
}

impl std::fmt::Debug for GatewayProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayProof").finish_non_exhaustive()
    }
}

impl GatewayProof {
    /// Checks proofs against the gateway public key `pem`.
    pub fn from_pem(pem: &[u8], config: &AuthConfig) -> Result<Self, AuthError> {
        super::ed25519::install();
        let key = DecodingKey::from_ed_pem(pem).map_err(|e| AuthError::Key {
            path: config.gateway_public_key.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            key,
            validation: super::validation(GATEWAY_ISSUER, &config.audience),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Loads the gateway public key the config names.
    pub fn load(config: &AuthConfig) -> Result<Self, AuthError> {
        Self::from_pem(&read_key(&config.gateway_public_key)?, config)
    }

    /// Whether `proof` is a current proof signed with the gateway key.
    pub fn proves(&self, proof: &str) -> bool {
        let now = now_secs();
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(exp) = verified.get(proof) {
            if now < *exp {
                return true;
            }
            verified.remove(proof);
        }
        let Ok(data) = jsonwebtoken::decode::<Claims>(proof, &self.key, &self.validation) else {
            return false;
        };
        if verified.len() >= REMEMBERED_MAX {
            verified.retain(|_, exp| now < *exp);
            if verified.len() >= REMEMBERED_MAX {
                verified.clear();
            }
        }
        verified.insert(proof.into(), data.claims.exp);
        true
    }

    /// Where a call from `peer` with `headers` comes from: the client the gateway names when
    /// the call proves it is the gateway's; else the peer, whatever the call claims.
    pub fn origin(&self, peer: IpAddr, headers: &http::HeaderMap) -> Origin {
        let proven = headers
            .get(PROOF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proof| self.proves(proof));
        if !proven {
            return Origin::Client(peer);
        }
        let named = headers
            .get(forwarded::HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        match named {
            Some(client) => Origin::Client(client),
            None => Origin::Trusted(peer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ServiceTokens, generate_key_pair, testing};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(proof: Option<&str>, forwarded: Option<&str>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        if let Some(proof) = proof {
            headers.insert(PROOF_HEADER, proof.parse().unwrap());
        }
        if let Some(forwarded) = forwarded {
            headers.insert(forwarded::HEADER, forwarded.parse().unwrap());
        }
        headers
    }

    #[test]
    fn only_the_gateways_proof_lets_a_caller_name_its_client() {
        let config = testing::auth_config(5);
        let gateway = generate_key_pair().unwrap();
        let proof = GatewayProof::from_pem(gateway.public_pem.as_bytes(), &config).unwrap();
        let signed = ServiceTokens::gateway_from_pem(gateway.private_pem.as_bytes(), &config)
            .unwrap()
            .token()
            .unwrap();
        let forged = ServiceTokens::gateway_from_pem(
            generate_key_pair().unwrap().private_pem.as_bytes(),
            &config,
        )
        .unwrap()
        .token()
        .unwrap();
        let peer = ip("127.0.0.1");

        assert_eq!(
            proof.origin(peer, &headers(Some(&signed), Some("203.0.113.9"))),
            Origin::Client(ip("203.0.113.9"))
        );
        assert_eq!(
            proof.origin(peer, &headers(Some(&signed), None)),
            Origin::Trusted(peer),
            "the gateway on its own behalf"
        );
        for (what, claim) in [
            ("no proof", headers(None, Some("203.0.113.9"))),
            (
                "a proof from another key",
                headers(Some(&forged), Some("203.0.113.9")),
            ),
            ("garbage", headers(Some("not.a.token"), Some("203.0.113.9"))),
        ] {
            assert_eq!(proof.origin(peer, &claim), Origin::Client(peer), "{what}");
        }
        assert!(proof.proves(&signed), "a remembered proof still proves");
    }

    #[test]
    fn the_gateways_proof_is_no_callers_token() {
        let config = testing::auth_config(5);
        let gateway = generate_key_pair().unwrap();
        let signed = ServiceTokens::gateway_from_pem(gateway.private_pem.as_bytes(), &config)
            .unwrap()
            .token()
            .unwrap();
        // Even a verifier that trusted the gateway's key as a user key would refuse its issuer.
        let verifier =
            crate::auth::TokenVerifier::from_pem(gateway.public_pem.as_bytes(), &config).unwrap();
        assert!(matches!(
            verifier.verify(&signed),
            Err(AuthError::WrongIssuer)
        ));
    }

    #[test]
    fn forgeries_are_never_remembered() {
        let config = testing::auth_config(5);
        let gateway = generate_key_pair().unwrap();
        let proof = GatewayProof::from_pem(gateway.public_pem.as_bytes(), &config).unwrap();
        let signer =
            ServiceTokens::gateway_from_pem(gateway.private_pem.as_bytes(), &config).unwrap();
        assert!(proof.proves(&signer.token().unwrap()));
        for i in 0..1_000 {
            assert!(!proof.proves(&format!("forged.{i}.proof")));
        }
        let remembered = proof.verified.lock().unwrap();
        assert_eq!(remembered.len(), 1, "only the one real proof");
    }
}
