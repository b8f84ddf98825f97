//! Where vessels are kept: the [`VesselRepository`] port, its SQLite and MongoDB adapters,
//! an in-memory one for handler tests, and the contract every adapter must pass.

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

pub use memory::MemoryVessels;
#[cfg(feature = "mongodb")]
pub use mongo::MongoVessels;
pub use sqlite::SqliteVessels;

use crate::domain::{
    Hold, Holder, Released, Reservation, Reserved, Specification, Vessel, VesselError,
    VesselFilter, VesselKey,
};

/// The event that goes with giving back a reservation, made once the store knows what was
/// held.
pub type ReleaseEvent = Box<dyn Fn(&Reservation) -> Outgoing + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("duplicate vessel id")]
    DuplicateId,
    /// The owner has the most vessels they may: nothing was stored.
    #[error("the owner has the most vessels they may")]
    QuotaReached,
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl From<RepoError> for VesselError {
    fn from(e: RepoError) -> Self {
        match e {
            // A create names the id itself; no other call can meet a duplicate.
            RepoError::DuplicateId => VesselError::Internal(
                "the store reported a duplicate vessel id outside a create".into(),
            ),
            RepoError::QuotaReached => {
                VesselError::Internal("a vessel quota was met outside a create".into())
            }
            RepoError::Unavailable(m) => VesselError::Store(m),
        }
    }
}

/// The vessel store, with the outbox its events wait in.
#[async_trait]
pub trait VesselRepository: Send + Sync + 'static {
    /// Stores `vessel` and enqueues `event` in one transaction: both or neither.
    async fn create(&self, vessel: &Vessel, event: &Outgoing) -> Result<(), RepoError> {
        self.create_within(vessel, event, 0).await
    }
    /// [`create`](Self::create), unless the owner has `most_owned` vessels already
    /// ([`RepoError::QuotaReached`]; 0: no limit). The count and the insert are one write in
    /// the embedded store and in memory, so no interleaving passes the quota; on MongoDB the
    /// count comes just before the insert, and requests that race may pass it by one each.
    async fn create_within(
        &self,
        vessel: &Vessel,
        event: &Outgoing,
        most_owned: u64,
    ) -> Result<(), RepoError>;
    /// The smallest available vessel with room left for `spec` (by capacity, then max
    /// weight, then id) that `holder` may take it on without passing their share.
    async fn find_available(
        &self,
        spec: Specification,
        holder: &Holder,
    ) -> Result<Option<Vessel>, RepoError>;
    /// Holds room on `hold.vessel_id` for `hold.consignment_id` and enqueues `event`, in one
    /// transaction whose guard is one conditional write ("take this much if at least this
    /// much is left"), never a read-then-write: no interleaving of callers on any number of
    /// instances takes more than the vessel has. A consignment holds room once: asking again
    /// answers what it holds (or that it was released) and enqueues nothing. The hold's owner
    /// keeps to their share of a vessel that is not theirs ([`Reserved::OverShare`]): what
    /// they hold is counted in the same transaction, which writes the vessel's row, so two
    /// holds of theirs on one vessel never both pass on what they held before.
    async fn reserve(&self, hold: &Hold, event: &Outgoing) -> Result<Reserved, RepoError>;
    /// Gives back what `consignment_id` holds and enqueues `event`'s event, in one
    /// transaction. Idempotent; with nothing held, it leaves a released reservation behind so
    /// a later `reserve` for the consignment holds nothing.
    async fn release(
        &self,
        consignment_id: &str,
        event: ReleaseEvent,
    ) -> Result<Released, RepoError>;
    /// The reservation of `consignment_id`, if any was ever asked or released.
    async fn reservation(&self, consignment_id: &str) -> Result<Option<Reservation>, RepoError>;
    /// The vessels `filter` admits, smallest first ([`VesselKey`]), after `page.after`: at
    /// most [`page.fetch()`](PageRequest::fetch) of them.
    async fn list(
        &self,
        filter: &VesselFilter,
        page: &PageRequest<VesselKey>,
    ) -> Result<Vec<Vessel>, RepoError>;
    /// The outbox `create` enqueues into, for the relay.
    fn outbox(&self) -> Arc<dyn Outbox>;
}
