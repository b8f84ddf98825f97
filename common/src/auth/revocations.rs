//! Log-out across services. The user service revokes a token by publishing its log-out
//! event (through its outbox, so a 2xx means it will be delivered) with the token's id and
//! expiry in the headers; every service follows the log topic under a group of its own
//! and adds each id to its verifier's deny list, which keeps only ids whose tokens have not
//! expired. A process that starts reads the topic from the beginning, so it learns the
//! log-outs that happened while it was down.

use std::sync::Arc;
use std::time::Duration;

use shippy_plugins::broker::{Broker, Delivery};
use shippy_plugins::outbox::Outgoing;
use shippy_plugins::task::Background;

use super::{Claims, TokenVerifier};

/// The header naming the revoked token's id.
pub const REVOKES: &str = "revokes";
/// The header giving the revoked token's expiry, Unix seconds.
pub const UNTIL: &str = "revoked-until";

/// Makes `event` revoke the token `claims` describe.
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
