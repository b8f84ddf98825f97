//! Log-out across services. The user service revokes a token by publishing a revocation
//! to the revocations topic, with the token's id and expiry in the headers, in the same
//! outbox write as its log-out event (so a 2xx means both will be delivered); every service
//! follows that topic under a group of its own and adds each id to its verifier's deny
//! list, which keeps only ids whose tokens have not expired. A process that starts reads
//! the topic from the beginning, so it learns the log-outs that happened while it was down.
//! The topic holds log-outs only: before it, every service read every event of the log
//! topic to find them, a booking's events included, and all of it again at each start.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use shippy_plugins::broker::{Broker, Delivery, Message};
use shippy_plugins::outbox::Outgoing;
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

/// Keeps `verifier`'s deny list up to date from `topic` until the returned handle is
/// dropped; reconnects after a broker outage.
pub fn follow(broker: Arc<dyn Broker>, topic: String, verifier: Arc<TokenVerifier>) -> Following {
    let group = format!("revocations.{}", uuid::Uuid::new_v4());
    Background::spawn(async move {
        loop {
            match broker.subscribe(&topic, &group).await {
                Ok(mut subscription) => loop {
                    match subscription.next().await {
                        Ok(delivery) => {
                            if let Some((jti, until)) = revoked(&delivery) {
                                verifier.revoke(jti, until);
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "following log-outs: broker unavailable");
                            break;
                        }
                    }
                },
                Err(error) => tracing::warn!(%error, "following log-outs: cannot subscribe"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// The task following log-outs; stops when dropped.
pub type Following = Background;

#[cfg(test)]
mod tests {
    use super::*;

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
}
