//! Where consignments are kept: the [`ConsignmentRepository`] port, its SQLite and MongoDB
//! adapters, an in-memory one for handler tests, and the contract every adapter must pass.

#[cfg(any(test, feature = "testing"))]
pub mod contract;
mod memory;
#[cfg(feature = "mongodb")]
mod mongo;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use shippy_common::paging::PageRequest;
use shippy_plugins::outbox::{Outbox, Outgoing};

pub use memory::MemoryConsignments;
#[cfg(feature = "mongodb")]
pub use mongo::MongoConsignments;
pub use sqlite::SqliteConsignments;

use crate::domain::{Consignment, ConsignmentError, ConsignmentFilter, ConsignmentKey, Status};

/// A consignment as a list holds it, with its place there.
pub type Listed = (ConsignmentKey, Consignment);

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The owner already booked a consignment under this idempotency key.
    #[error("idempotency key already used")]
    DuplicateKey,
    /// The owner has the most bookings in flight they may: nothing was stored.
    #[error("the owner has the most bookings in flight they may")]
    QuotaReached,
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl From<RepoError> for ConsignmentError {
    fn from(e: RepoError) -> Self {
        ConsignmentError::Store(e.to_string())
    }
}

/// The consignment store: bookings and the steps of their sagas.
#[async_trait]
pub trait ConsignmentRepository: Send + Sync + 'static {
    /// Stores `consignment` and enqueues `event` in one transaction: both or neither.
    /// [`RepoError::DuplicateKey`] when its owner already used its idempotency key.
    async fn create(&self, consignment: &Consignment, event: &Outgoing) -> Result<(), RepoError> {
        self.create_within(consignment, event, 0).await
    }
    /// [`create`](Self::create), unless the owner has `most_open` bookings in flight already
    /// (the saga still working on them: [`RepoError::QuotaReached`]; 0: no limit). The count and the insert
    /// are one write in the embedded store and in memory, so no interleaving passes the
    /// quota; on MongoDB the count comes just before the insert, and requests that race may
    /// pass it by one each.
    async fn create_within(
        &self,
        consignment: &Consignment,
        event: &Outgoing,
        most_open: u64,
    ) -> Result<(), RepoError>;
    /// The consignment `id`.
    async fn get(&self, id: &str) -> Result<Option<Consignment>, RepoError>;
    /// The consignment `user_id` booked under idempotency key `key`.
    async fn by_key(&self, user_id: &str, key: &str) -> Result<Option<Consignment>, RepoError>;
    /// Moves a booking to its next step: stores `next` (same id) and enqueues `event`, in
    /// one transaction, only if the stored booking is still `from`. False when it was not
    /// (someone else moved it first), and nothing is written.
    async fn advance(
        &self,
        from: Status,
        next: &Consignment,
        event: Option<&Outgoing>,
    ) -> Result<bool, RepoError>;
    /// Up to `limit` unfinished bookings (pending, rejecting, cancelling, failing) whose
    /// last step is older than `before_ms` and that no sweep deferred past `now_ms`: those
    /// never deferred first, oldest first, then by when they are due.
    async fn unfinished(
        &self,
        before_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Consignment>, RepoError>;
    /// Stores `next`'s failed attempts and when it is due again, only if the booking is
    /// still `from` (no step in between); no event. False when it moved on.
    async fn defer(&self, id: &str, from: Status, next: &Consignment) -> Result<bool, RepoError>;
    /// The consignments `filter` admits (one owner's), newest first ([`ConsignmentKey`]),
    /// after `page.after`: at most [`page.fetch()`](PageRequest::fetch) of them.
    async fn list(
        &self,
        filter: &ConsignmentFilter,
        page: &PageRequest<ConsignmentKey>,
    ) -> Result<Vec<Listed>, RepoError>;
    /// The outbox `create` enqueues into, for the relay.
    fn outbox(&self) -> Arc<dyn Outbox>;
}
