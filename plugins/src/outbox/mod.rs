//! The transactional outbox: a service stores each write and the event describing it in one
//! transaction, and a [`relay`] publishes the pending events to the broker afterwards, in
//! the order they were written, removing each once the broker has it. A broker that is down
//! delays events; it never loses them, and never fails the write. Delivery is at least once
//! (a crash between publish and removal publishes again), so consumers stay idempotent.
//!
//! Repositories enqueue inside their own transactions with the adapter's helpers
//! ([`sqlite::enqueue`], [`MongoOutbox::enqueue_in`]); the [`Outbox`] trait is the relay's
//! side. The outbox wakes its relay when a write that enqueued commits
//! ([`Outbox::committed`]): on SQLite the store's commit does, on MongoDB the outbox's own
//! commit, in memory the push; no handler has to remember to.

#[cfg(any(test, feature = "testing"))]
pub mod contract;
#[cfg(feature = "mongodb")]
pub mod embedded;
pub mod memory;
#[cfg(feature = "mongodb")]
pub mod mongo;
pub mod relay;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

#[cfg(feature = "mongodb")]
pub use embedded::EmbeddedOutbox;
pub use memory::MemoryOutbox;
#[cfg(feature = "mongodb")]
pub use mongo::MongoOutbox;
pub use relay::{Relay, RelayConfig, Waker};
pub use sqlite::SqliteOutbox;

use crate::broker::Message;

/// An event to publish once its write commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    pub message: Message,
}

/// An event waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Names this entry for [`Outbox::sent`].
    pub id: String,
    pub outgoing: Outgoing,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox unavailable: {0}")]
    Unavailable(String),
}

impl From<crate::store::StoreError> for OutboxError {
    fn from(e: crate::store::StoreError) -> Self {
        OutboxError::Unavailable(e.to_string())
    }
}

#[cfg(feature = "mongodb")]
impl From<mongodb::error::Error> for OutboxError {
    fn from(e: mongodb::error::Error) -> Self {
        OutboxError::Unavailable(e.to_string())
    }
}

/// The relay's side of an outbox.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Enqueues `outgoing` on its own (repositories enqueue inside their write instead).
    async fn enqueue(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        self.enqueue_all(std::slice::from_ref(outgoing)).await
    }
    /// Enqueues every entry of `outgoing`, in order, in one write: all of them or none.
    async fn enqueue_all(&self, outgoing: &[Outgoing]) -> Result<(), OutboxError>;
    /// Up to `limit` pending events, in the order they were enqueued.
    async fn pending(&self, limit: usize) -> Result<Vec<Pending>, OutboxError>;
    /// Removes the entries `ids`, in one write: the broker has them.
    async fn sent(&self, ids: &[String]) -> Result<(), OutboxError>;
    /// How many events wait.
    async fn backlog(&self) -> Result<u64, OutboxError>;
    /// Told each time a write that enqueued entries has committed, by the outbox itself
    /// (the store's commit, never the code that wrote): the relay waits on it.
    fn committed(&self) -> Arc<Notify>;
}
