//! Where vessels are kept: the [`VesselRepository`] port, its SQLite and MongoDB adapters,
//! and the contract every adapter must pass.

pub mod contract;
mod mongo;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use shippy_plugins::outbox::{Outbox, Outgoing};

pub use mongo::MongoVessels;
pub use sqlite::SqliteVessels;

use crate::domain::{Specification, Vessel, VesselError};

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("duplicate vessel id")]
    DuplicateId,
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl From<RepoError> for VesselError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::DuplicateId => VesselError::DuplicateId(String::new()),
            RepoError::Unavailable(m) => VesselError::Store(m),
        }
    }
}

/// The vessel store, with the outbox its events wait in.
#[async_trait]
pub trait VesselRepository: Send + Sync + 'static {
    /// Stores `vessel` and enqueues `event` in one transaction: both or neither.
    async fn create(&self, vessel: &Vessel, event: &Outgoing) -> Result<(), RepoError>;
    /// The smallest available vessel that fits `spec` (by capacity, then max weight, then id).
    async fn find_available(&self, spec: Specification) -> Result<Option<Vessel>, RepoError>;
    /// Every vessel, smallest first.
    async fn list(&self) -> Result<Vec<Vessel>, RepoError>;
    /// The outbox `create` enqueues into, for the relay.
    fn outbox(&self) -> Arc<dyn Outbox>;
}
