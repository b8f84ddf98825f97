//! Publish/subscribe with durable topics: messages carry a key, headers and a payload;
//! consumers join a group and commit offsets after handling, so delivery is at least once
//! and a consumer that was down gets what it missed. [`SqliteBroker`] is the embedded default;
//! [`KafkaBroker`] the real one.

#[cfg(any(test, feature = "testing"))]
pub mod contract;
#[cfg(feature = "kafka")]
mod kafka;
mod sqlite;

use std::collections::BTreeMap;

use async_trait::async_trait;

#[cfg(feature = "kafka")]
pub use kafka::KafkaBroker;
pub use sqlite::{Retention, SqliteBroker, TRIM_EVERY};

/// One message on a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Messages with one key keep their order.
    pub key: String,
    pub headers: BTreeMap<String, String>,
    pub payload: Vec<u8>,
}

/// A message as a consumer receives it, with its place in the topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub topic: String,
    /// The partition it came from (always 0 on the embedded broker).
    pub partition: i32,
    pub offset: i64,
    pub message: Message,
}

/// What can go wrong talking to a broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
}

impl From<crate::store::StoreError> for BrokerError {
    fn from(e: crate::store::StoreError) -> Self {
        BrokerError::Unavailable(e.to_string())
    }
}

/// A message broker.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// The messaging system, as OpenTelemetry's `messaging.system` names it (see
    /// [`crate::spans`]).
    fn system(&self) -> &'static str;

    /// Appends `message` to `topic`; when this returns `Ok` the message is durable.
    async fn publish(&self, topic: &str, message: Message) -> Result<(), BrokerError>;

    /// Appends each message to its topic, in the order given; when this returns `Ok` all of
    /// them are durable. After an `Err` some may have been appended: the caller publishes
    /// them again and consumers drop the copies. Adapters override this to pay one round trip
    /// or transaction for the lot.
    async fn publish_all(&self, messages: Vec<(String, Message)>) -> Result<(), BrokerError> {
        for (topic, message) in messages {
            self.publish(&topic, message).await?;
        }
        Ok(())
    }

    /// Joins consumer group `group` on `topic`. A new group starts at the oldest message;
    /// a known group resumes after its last committed offset.
    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BrokerError>;

    /// Like [`subscribe`](Broker::subscribe), for a new group that wants only messages
    /// published at or after `since_unix_ms` (a live feed): an adapter that can seek by time
    /// starts there, the others at the oldest message, and the consumer skips older ones.
    async fn subscribe_since(
        &self,
        topic: &str,
        group: &str,
        since_unix_ms: i64,
    ) -> Result<Box<dyn Subscription>, BrokerError> {
        let _ = since_unix_ms;
        self.subscribe(topic, group).await
    }
}

/// A consumer's view of one topic.
#[async_trait]
pub trait Subscription: Send {
    /// The messaging system it reads, as [`Broker::system`] names it.
    fn system(&self) -> &'static str;

    /// The consumer group it reads for.
    fn group(&self) -> &str;

    /// Waits for the next message.
    async fn next(&mut self) -> Result<Delivery, BrokerError>;

    /// Waits for the next message, then takes those after it that are already here, up to
    /// `max` in all (at least one), in order and from one partition, so committing the last
    /// commits them all. Adapters that fetch in batches override this; the default takes
    /// one.
    async fn next_batch(&mut self, max: usize) -> Result<Vec<Delivery>, BrokerError> {
        let _ = max;
        Ok(vec![self.next().await?])
    }

    /// Marks `delivery` and everything before it as handled for the group.
    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BrokerError>;

    /// Whether this subscription has handed out every message its topic held when asked: a
    /// consumer that has handled them is up to date as of now. (A follower that must not act
    /// on stale state, like the deny list of log-outs, asks before it trusts itself.)
    async fn caught_up(&mut self) -> Result<bool, BrokerError>;
}
