//! Log-out across services. The user service revokes a token by publishing a revocation
//! to the revocations topic, with the token's id and expiry in the headers, in the same
//! outbox write as its log-out event (so a 2xx means both will be delivered); every service
//! follows that topic under a group of its own and adds each id to its verifier's deny
//! list, which keeps only ids whose tokens have not expired. A process that starts reads
//! the topic from the beginning, so it learns the log-outs that happened while it was down.
//! The topic holds log-outs only: before it, every service read every event of the log
//! topic to find them, a booking's events included, and all of it again at each start.
//!
//! The follower fails closed: until it has caught up with the topic, and whenever it has
//! been behind it (or cut off from the broker) for longer than `auth.revocations_max_lag_secs`,
//! the verifier refuses users' tokens with UNAVAILABLE rather than accept one that may have
//! been logged out. Its lag is the gauge `shippy_revocations_behind_seconds`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use shippy_plugins::broker::{Broker, Delivery, Message};
use shippy_plugins::outbox::Outgoing;
use shippy_plugins::spans;
use shippy_plugins::task::Background;

use super::{Claims, TokenVerifier};

/// The header naming the revoked token's id.
pub const REVOKES: &str = "revokes";
/// The header giving the revoked token's expiry, Unix seconds.
pub const UNTIL: &str = "revoked-until";

/// The revocation of the token `claims` describe, for `topic`: keyed by its holder, the
/// token's id and expiry in the headers, no payload.
pub fn revocation(topic: &str, claims: &Claims) -> Outgoing {
    let mut revocation = Outgoing {
        topic: topic.to_owned(),
        message: Message {
            key: claims.sub.clone(),
            headers: BTreeMap::new(),
            payload: Vec::new(),
        },
    };
    mark(&mut revocation, claims);
    // The log-out's trace goes on in every service that learns of it.
    crate::telemetry::inject_map(&mut revocation.message.headers);
    revocation
}

/// Makes `event` revoke the token `claims` describe. The log-out's log event carries the
/// marks too, for services from before the revocations topic, which look for them there.
pub fn mark(event: &mut Outgoing, claims: &Claims) {
    let headers = &mut event.message.headers;
    headers.insert(REVOKES.to_owned(), claims.jti.clone());
    headers.insert(UNTIL.to_owned(), claims.exp.to_string());
}

/// The id and expiry a delivery revokes, if it is a log-out.
fn revoked(delivery: &Delivery) -> Option<(&str, i64)> {
    let headers = &delivery.message.headers;
    let jti = headers.get(REVOKES)?;
    let until = headers.get(UNTIL)?.parse().ok()?;
    Some((jti, until))
}

/// How often the follower asks whether it has caught up.
const CHECK_EVERY: Duration = Duration::from_millis(500);

/// Keeps `verifier`'s deny list up to date from `topic` until the returned handle is
/// dropped; reconnects after a broker outage. The verifier refuses users' tokens until the
/// follower has caught up, and again once it has been behind for longer than `max_lag`.
pub fn follow(
    broker: Arc<dyn Broker>,
    topic: String,
    verifier: Arc<TokenVerifier>,
    max_lag: Duration,
) -> Following {
    let group = format!("revocations.{}", uuid::Uuid::new_v4());
    verifier.set_current(false);
    Background::spawn(async move {
        // Since when the deny list has not been known current; None while it is.
        let mut behind_since = Some(tokio::time::Instant::now());
        let mut behind = |current: bool, verifier: &TokenVerifier| {
            let now = tokio::time::Instant::now();
            if current {
                behind_since = None;
                verifier.set_current(true);
            } else {
                let since = *behind_since.get_or_insert(now);
                if now.duration_since(since) > max_lag && verifier.is_current() {
                    tracing::warn!(
                        ?max_lag,
                        "behind the log-outs for too long: refusing users' tokens until caught up"
                    );
                    verifier.set_current(false);
                }
            }
            let lag = behind_since.map_or(0.0, |since| now.duration_since(since).as_secs_f64());
            metrics::gauge!("shippy_revocations_behind_seconds").set(lag);
        };
        loop {
            match broker.subscribe(&topic, &group).await {
                Ok(mut subscription) => {
                    let mut check = tokio::time::interval(CHECK_EVERY);
                    loop {
                        tokio::select! {
                            next = subscription.next() => match next {
                                Ok(delivery) => {
                                    let _span = spans::process(
                                        subscription.system(),
                                        &group,
                                        &delivery,
                                    )
                                    .entered();
                                    if let Some((jti, until)) = revoked(&delivery) {
                                        verifier.revoke(jti, until);
                                    }
                                }
                                Err(error) => {
                                    tracing::warn!(%error, "following log-outs: broker unavailable");
                                    break;
                                }
                            },
                            _ = check.tick() => {
                                let current = subscription.caught_up().await.unwrap_or(false);
                                if current && !verifier.is_current() {
                                    tracing::info!("caught up with the log-outs: accepting users' tokens");
                                }
                                behind(current, &verifier);
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "following log-outs: cannot subscribe"),
            }
            behind(false, &verifier);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// The task following log-outs; stops when dropped.
pub type Following = Background;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthError;

    fn claims() -> Claims {
        Claims {
            sub: "u-1".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            iss: "shippy.user".into(),
            aud: "shippy".into(),
            iat: 1_700_000_000,
            nbf: 1_700_000_000,
            exp: 1_700_086_400,
            jti: "t-1".into(),
            methods: Vec::new(),
        }
    }

    fn delivered(outgoing: Outgoing) -> Delivery {
        Delivery {
            topic: outgoing.topic,
            partition: 0,
            offset: 1,
            message: outgoing.message,
        }
    }

    #[test]
    fn a_revocation_names_the_token_and_its_expiry_and_nothing_else() {
        let r = revocation("shippy.revocations", &claims());
        assert_eq!(r.topic, "shippy.revocations");
        assert_eq!(r.message.key, "u-1");
        assert!(r.message.payload.is_empty());
        assert_eq!(r.message.headers.len(), 2, "{:?}", r.message.headers);
        assert_eq!(revoked(&delivered(r)), Some(("t-1", 1_700_086_400)));
    }

    #[test]
    fn an_event_without_the_marks_revokes_nothing() {
        let mut r = revocation("shippy.log", &claims());
        r.message.headers.remove(UNTIL);
        assert_eq!(revoked(&delivered(r)), None);
    }

    /// A real broker that can be cut off: its subscriptions' calls fail while `cut` is set.
    struct Cuttable {
        inner: Arc<dyn Broker>,
        cut: Arc<std::sync::atomic::AtomicBool>,
    }

    struct CuttableSubscription {
        inner: Box<dyn shippy_plugins::broker::Subscription>,
        cut: Arc<std::sync::atomic::AtomicBool>,
    }

    fn down() -> shippy_plugins::broker::BrokerError {
        shippy_plugins::broker::BrokerError::Unavailable("cut off".into())
    }

    #[async_trait::async_trait]
    impl Broker for Cuttable {
        fn system(&self) -> &'static str {
            self.inner.system()
        }

        async fn publish(
            &self,
            topic: &str,
            message: Message,
        ) -> Result<(), shippy_plugins::broker::BrokerError> {
            self.inner.publish(topic, message).await
        }

        async fn subscribe(
            &self,
            topic: &str,
            group: &str,
        ) -> Result<
            Box<dyn shippy_plugins::broker::Subscription>,
            shippy_plugins::broker::BrokerError,
        > {
            if self.cut.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(down());
            }
            Ok(Box::new(CuttableSubscription {
                inner: self.inner.subscribe(topic, group).await?,
                cut: Arc::clone(&self.cut),
            }))
        }
    }

    #[async_trait::async_trait]
    impl shippy_plugins::broker::Subscription for CuttableSubscription {
        fn system(&self) -> &'static str {
            self.inner.system()
        }

        fn group(&self) -> &str {
            self.inner.group()
        }

        async fn next(&mut self) -> Result<Delivery, shippy_plugins::broker::BrokerError> {
            loop {
                if self.cut.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(down());
                }
                if let Ok(next) =
                    tokio::time::timeout(Duration::from_millis(50), self.inner.next()).await
                {
                    return next;
                }
            }
        }

        async fn commit(
            &mut self,
            delivery: &Delivery,
        ) -> Result<(), shippy_plugins::broker::BrokerError> {
            self.inner.commit(delivery).await
        }

        async fn caught_up(&mut self) -> Result<bool, shippy_plugins::broker::BrokerError> {
            if self.cut.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(down());
            }
            self.inner.caught_up().await
        }
    }

    async fn until(what: &str, mut check: impl FnMut() -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !check() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{what} within 10 s"));
    }

    #[tokio::test]
    async fn users_tokens_are_refused_until_the_log_outs_are_read_and_while_cut_off_too_long() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = shippy_plugins::broker::SqliteBroker::open(&dir.path().join("b.db")).unwrap();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let broker: Arc<dyn Broker> = Arc::new(Cuttable {
            inner: Arc::new(sqlite),
            cut: Arc::clone(&cut),
        });
        let config = crate::auth::testing::auth_config(5);
        let keys = crate::auth::generate_key_pair().unwrap();
        let issuer =
            crate::auth::TokenIssuer::from_pem(keys.private_pem.as_bytes(), &config).unwrap();
        let verifier =
            Arc::new(TokenVerifier::from_pem(keys.public_pem.as_bytes(), &config).unwrap());
        let subject = |id| crate::auth::Subject {
            user_id: id,
            email: "u@example.com",
            name: "U",
        };
        let (gone, _) = issuer.issue(&subject("gone")).unwrap();
        let (kept, _) = issuer.issue(&subject("kept")).unwrap();
        // Logged out before this process starts following: many log-outs, then gone's.
        let gone_claims = verifier.verify(&gone).unwrap();
        for n in 0..200 {
            let mut other = (*gone_claims).clone();
            other.jti = format!("other-{n}");
            let r = revocation("shippy.revocations", &other);
            broker.publish(&r.topic, r.message).await.unwrap();
        }
        let r = revocation("shippy.revocations", &gone_claims);
        broker.publish(&r.topic, r.message).await.unwrap();

        let _following = follow(
            Arc::clone(&broker),
            "shippy.revocations".into(),
            Arc::clone(&verifier),
            Duration::from_millis(500),
        );
        assert_eq!(
            verifier.verify(&kept),
            Err(AuthError::RevocationsBehind),
            "not vouched for before the log-outs are read"
        );
        until("caught up", || verifier.is_current()).await;
        assert_eq!(verifier.verify(&gone), Err(AuthError::Revoked));
        assert!(verifier.verify(&kept).is_ok());

        // Cut off from the broker: within max_lag and a check it fails closed again.
        cut.store(true, std::sync::atomic::Ordering::SeqCst);
        until("failed closed", || !verifier.is_current()).await;
        assert_eq!(verifier.verify(&kept), Err(AuthError::RevocationsBehind));
        cut.store(false, std::sync::atomic::Ordering::SeqCst);
        until("caught up again", || verifier.is_current()).await;
        assert!(verifier.verify(&kept).is_ok());
    }
}
