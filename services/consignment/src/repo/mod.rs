//! Where consignments are kept: the [`ConsignmentRepository`] port, its SQLite adapter, and
//! the contract every adapter must pass.

pub mod contract;
mod mongo;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use shippy_plugins::outbox::{Outbox, Outgoing};

pub use mongo::MongoConsignments;
pub use sqlite::SqliteConsignments;

use crate::domain::{Consignment, ConsignmentError};

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl From<RepoError> for ConsignmentError {
    fn from(e: RepoError) -> Self {
        let RepoError::Unavailable(m) = e;
        ConsignmentError::Store(m)
    }
}

/// The consignment store.
#[async_trait]
pub trait ConsignmentRepository: Send + Sync + 'static {
    /// Stores `consignment` and enqueues `event` in one transaction: both or neither.
    async fn create(&self, consignment: &Consignment, event: &Outgoing) -> Result<(), RepoError>;
    /// The consignments `user_id` owns, newest first.
    async fn by_owner(&self, user_id: &str) -> Result<Vec<Consignment>, RepoError>;
    /// The outbox `create` enqueues into, for the relay.
    fn outbox(&self) -> Arc<dyn Outbox>;
}
