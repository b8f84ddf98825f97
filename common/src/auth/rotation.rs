//! Token keys that rotate without restarting the verifiers. `shippy keys rotate` signs the
//! new public key with the retiring private key (an endorsement) before it deletes that key;
//! user-service publishes its keys with their endorsements (`UserService.PublicKeys`, public);
//! every service polls that RPC, and at once when a token names a key it does not know, and
//! trusts a published key only when a key it already trusts endorsed it. So whatever the
//! registry calls user-service can publish keys, but none a service will believe unless the
//! holder of a trusted private key vouched for it: the trust starts at the key files and
//! moves only along the chain of rotations.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use shippy_plugins::task::Background;

use super::{jwk, key_id};

/// What an endorsement signs, before the new key's 32 bytes: no signature made for anything
/// else can pass for one.
const CONTEXT: &[u8] = b"shippy token key endorsement v1\n";

/// How many users' token keys a verifier holds: the current, the previous, and one learned
/// ahead of a restart. The oldest goes first (rotate at most once per token lifetime).
pub const KEYS_MAX: usize = 3;

/// How soon after one fetch a token naming an unknown key may start another.
const NUDGE_EVERY_MS: i64 = 5_000;

/// A new key's endorsement by the key before it, as `shippy keys rotate` writes it beside
/// the keys and user-service publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endorsement {
    /// The endorsed key's id.
    pub kid: String,
    /// The id of the key that signed.
    pub endorsed_by: String,
    /// The Ed25519 signature (64 bytes, base64url) over the context and the new key.
    pub signature: String,
}

impl Endorsement {
    /// The endorsement of `new_public_pem` by the private key `endorser_private_pem`.
    pub fn sign(endorser_private_pem: &str, new_public_pem: &str) -> anyhow::Result<Self> {
        use base64::Engine;
        let signing = SigningKey::from_pkcs8_pem(endorser_private_pem)
            .map_err(|e| anyhow::anyhow!("decode private key: {e}"))?;
        let endorser = super::public_of(endorser_private_pem)?;
        let signature = signing.sign(&signed_bytes(&raw(new_public_pem)?));
        Ok(Self {
            kid: key_id(new_public_pem)?,
            endorsed_by: key_id(&endorser)?,
            signature: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(signature.to_bytes()),
        })
    }

    /// Whether `endorser` signed this endorsement of `public_pem` (whose id it must name).
    pub fn holds(&self, endorser: &VerifyingKey, public_pem: &str) -> bool {
        use base64::Engine;
        let Ok(raw) = raw(public_pem) else {
            return false;
        };
        let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&self.signature)
        else {
            return false;
        };
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&bytes) else {
            return false;
        };
        key_id(public_pem).is_ok_and(|kid| kid == self.kid)
            && endorser.verify(&signed_bytes(&raw), &signature).is_ok()
    }
}

fn signed_bytes(raw: &[u8; 32]) -> Vec<u8> {
    [CONTEXT, raw.as_slice()].concat()
}

fn raw(public_pem: &str) -> anyhow::Result<[u8; 32]> {
    VerifyingKey::from_public_key_pem(public_pem)
        .map(|key| key.to_bytes())
        .map_err(|e| anyhow::anyhow!("decode public key: {e}"))
}

/// A users' token public key as user-service publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedKey {
    pub public_pem: String,
    /// By the key before it; none for a key from before any rotation.
    pub endorsement: Option<Endorsement>,
}

impl From<PublishedKey> for shippy_proto::user::PublicKey {
    fn from(key: PublishedKey) -> Self {
        use base64::Engine;
        let (endorsed_by, endorsement) = key.endorsement.map_or_else(Default::default, |e| {
            let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(e.signature)
                .unwrap_or_default();
            (e.endorsed_by, signature)
        });
        Self {
            kid: key_id(&key.public_pem).unwrap_or_default(),
            public_pem: key.public_pem,
            endorsed_by,
            endorsement,
        }
    }
}

impl From<shippy_proto::user::PublicKey> for PublishedKey {
    fn from(key: shippy_proto::user::PublicKey) -> Self {
        use base64::Engine;
        let endorsement = (!key.endorsed_by.is_empty()).then(|| Endorsement {
            kid: key.kid,
            endorsed_by: key.endorsed_by,
            signature: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.endorsement),
        });
        Self {
            public_pem: key.public_pem,
            endorsement,
        }
    }
}

/// One users' token key a verifier trusts.
#[derive(Clone)]
pub(super) struct TrustedKey {
    pub kid: String,
    pub decoding: DecodingKey,
    verifying: VerifyingKey,
    public_pem: String,
    jwk: serde_json::Value,
    endorsement: Option<Endorsement>,
}

impl TrustedKey {
    pub fn from_pem(public_pem: &str) -> anyhow::Result<Self> {
        Ok(Self {
            kid: key_id(public_pem)?,
            decoding: DecodingKey::from_ed_pem(public_pem.as_bytes())?,
            verifying: VerifyingKey::from_public_key_pem(public_pem)
                .map_err(|e| anyhow::anyhow!("decode public key: {e}"))?,
            public_pem: public_pem.to_owned(),
            jwk: jwk(public_pem)?,
            endorsement: None,
        })
    }
}

/// The users' token keys a verifier trusts, newest first.
#[derive(Clone, Default)]
pub(super) struct KeySet {
    pub keys: Vec<TrustedKey>,
}

impl KeySet {
    fn get(&self, kid: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn knows(&self, kid: &str) -> bool {
        self.get(kid).is_some()
    }

    /// Adds `key` as the oldest (a key from a file, at start).
    pub fn push(&mut self, key: TrustedKey) {
        if !self.knows(&key.kid) && self.keys.len() < KEYS_MAX {
            self.keys.push(key);
        }
    }

    /// Attaches `endorsement` to the key it names if the key it names as endorser signed it;
    /// answers whether it did.
    pub fn attach(&mut self, endorsement: Endorsement) -> bool {
        let Some(endorser) = self.get(&endorsement.endorsed_by).map(|k| k.verifying) else {
            return false;
        };
        match self.keys.iter_mut().find(|k| k.kid == endorsement.kid) {
            Some(key) if endorsement.holds(&endorser, &key.public_pem) => {
                key.endorsement = Some(endorsement);
                true
            }
            _ => false,
        }
    }

    /// Trusts each key of `published` that a trusted key endorsed (oldest first, so a chain
    /// of rotations is followed link by link); answers the ids it learned.
    pub fn learn(&mut self, published: &[PublishedKey]) -> Vec<String> {
        let mut learned = Vec::new();
        for key in published.iter().rev() {
            let Some(endorsement) = &key.endorsement else {
                continue;
            };
            if self.knows(&endorsement.kid) {
                continue;
            }
            let Some(endorser) = self.get(&endorsement.endorsed_by).map(|k| k.verifying) else {
                continue;
            };
            if !endorsement.holds(&endorser, &key.public_pem) {
                tracing::warn!(
                    kid = %endorsement.kid,
                    "a published token key's endorsement does not verify: not trusted"
                );
                continue;
            }
            let Ok(mut trusted) = TrustedKey::from_pem(&key.public_pem) else {
                continue;
            };
            trusted.endorsement = Some(endorsement.clone());
            learned.push(trusted.kid.clone());
            self.keys.insert(0, trusted);
            self.keys.truncate(KEYS_MAX);
        }
        learned
    }

    /// The keys as user-service publishes them, newest first.
    pub fn published(&self) -> Vec<PublishedKey> {
        self.keys
            .iter()
            .map(|k| PublishedKey {
                public_pem: k.public_pem.clone(),
                endorsement: k.endorsement.clone(),
            })
            .collect()
    }

    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.keys.iter().map(|k| k.jwk.clone()).collect();
        serde_json::json!({ "keys": keys })
    }
}

/// When a verifier fetches the published keys: on a timer, and when a token names a key it
/// does not know (at most one such fetch every few seconds, so forged key ids cannot make it
/// call user-service in a loop).
#[derive(Default)]
pub(super) struct Fetching {
    /// A follower is attached: without one, an unknown key is refused outright.
    followed: AtomicBool,
    pub(super) in_flight: AtomicBool,
    /// When the last fetch a token asked for started, Unix ms.
    pub(super) last_nudge_ms: AtomicI64,
    nudge: tokio::sync::Notify,
}

impl Fetching {
    /// A token named a key this process does not know. Answers whether a fetch that may
    /// learn it is under way (starting one if none ran lately): the caller may retry.
    pub fn nudge(&self) -> bool {
        if !self.followed.load(Ordering::Relaxed) {
            return false;
        }
        if self.in_flight.load(Ordering::Acquire) {
            return true;
        }
        let now = shippy_plugins::now_unix_ms();
        let last = self.last_nudge_ms.load(Ordering::Relaxed);
        if now - last < NUDGE_EVERY_MS
            || self
                .last_nudge_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        self.in_flight.store(true, Ordering::Release);
        self.nudge.notify_one();
        true
    }
}

/// Keeps `verifier` learning the keys `fetch` answers, every `every` and when nudged, for
/// as long as the answer is kept.
pub fn follow<F, Fut>(verifier: Arc<super::TokenVerifier>, fetch: F, every: Duration) -> Background
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<Vec<PublishedKey>>> + Send,
{
    verifier.fetching.followed.store(true, Ordering::Relaxed);
    Background::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = verifier.fetching.nudge.notified() => {}
            }
            verifier.fetching.in_flight.store(true, Ordering::Release);
            match fetch().await {
                Ok(published) => {
                    for kid in verifier.learn(&published) {
                        tracing::info!(%kid, "trusting a new token key, endorsed by a trusted one");
                    }
                }
                Err(error) => tracing::debug!(%error, "could not fetch the published token keys"),
            }
            verifier.fetching.in_flight.store(false, Ordering::Release);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::generate_key_pair;

    fn trusted(pem: &str) -> TrustedKey {
        TrustedKey::from_pem(pem).unwrap()
    }

    #[test]
    fn a_key_endorsed_by_a_trusted_one_is_learned_and_one_endorsed_by_a_stranger_is_not() {
        let (old, new, stranger) = (
            generate_key_pair().unwrap(),
            generate_key_pair().unwrap(),
            generate_key_pair().unwrap(),
        );
        let mut set = KeySet::default();
        set.push(trusted(&old.public_pem));
        let forged = PublishedKey {
            public_pem: stranger.public_pem.clone(),
            endorsement: Some(
                Endorsement::sign(&stranger.private_pem, &stranger.public_pem).unwrap(),
            ),
        };
        // A stranger's key, endorsed by itself and claiming the trusted key signed it.
        let mut claimed = Endorsement::sign(&stranger.private_pem, &stranger.public_pem).unwrap();
        claimed.endorsed_by = key_id(&old.public_pem).unwrap();
        let lying = PublishedKey {
            public_pem: stranger.public_pem.clone(),
            endorsement: Some(claimed),
        };
        // The trusted key's real endorsement, of another key than the one published with it.
        let swapped = PublishedKey {
            public_pem: stranger.public_pem.clone(),
            endorsement: Some(Endorsement::sign(&old.private_pem, &new.public_pem).unwrap()),
        };
        assert!(set.learn(&[forged, lying, swapped]).is_empty());
        assert_eq!(set.keys.len(), 1);
        let real = PublishedKey {
            public_pem: new.public_pem.clone(),
            endorsement: Some(Endorsement::sign(&old.private_pem, &new.public_pem).unwrap()),
        };
        assert_eq!(set.learn(&[real]), vec![key_id(&new.public_pem).unwrap()]);
        assert_eq!(
            set.keys[0].kid,
            key_id(&new.public_pem).unwrap(),
            "newest first"
        );
    }

    #[test]
    fn a_chain_of_rotations_is_followed_link_by_link_and_the_set_stays_bounded() {
        let pairs: Vec<_> = (0..5).map(|_| generate_key_pair().unwrap()).collect();
        let mut set = KeySet::default();
        set.push(trusted(&pairs[0].public_pem));
        // Published newest first, each endorsed by the one before.
        let published: Vec<_> = (1..5)
            .rev()
            .map(|i| PublishedKey {
                public_pem: pairs[i].public_pem.clone(),
                endorsement: Some(
                    Endorsement::sign(&pairs[i - 1].private_pem, &pairs[i].public_pem).unwrap(),
                ),
            })
            .collect();
        assert_eq!(set.learn(&published).len(), 4);
        let kids: Vec<_> = set.keys.iter().map(|k| k.kid.clone()).collect();
        let newest: Vec<_> = (2..5)
            .rev()
            .map(|i| key_id(&pairs[i].public_pem).unwrap())
            .collect();
        assert_eq!(kids, newest, "the {KEYS_MAX} newest, newest first");
        assert!(
            set.learn(&published).is_empty(),
            "nothing new the second time"
        );
    }

    #[test]
    fn an_endorsement_is_attached_only_when_it_holds() {
        let (old, new) = (generate_key_pair().unwrap(), generate_key_pair().unwrap());
        let mut set = KeySet::default();
        set.push(trusted(&new.public_pem));
        set.push(trusted(&old.public_pem));
        let stranger = generate_key_pair().unwrap();
        let mut forged = Endorsement::sign(&stranger.private_pem, &new.public_pem).unwrap();
        forged.endorsed_by = key_id(&old.public_pem).unwrap();
        assert!(!set.attach(forged));
        assert!(set.attach(Endorsement::sign(&old.private_pem, &new.public_pem).unwrap()));
        assert!(set.published()[0].endorsement.is_some());
        assert!(set.published()[1].endorsement.is_none());
    }
}
