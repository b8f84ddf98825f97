//! Where events are kept: the [`LogRepository`] port, its SQLite and MongoDB adapters, an
//! in-memory one for handler tests, and the contract every adapter must pass.

#[cfg(any(test, feature = "testing"))]
pub mod contract;
mod memory;
#[cfg(feature = "mongodb")]
mod mongo;
mod sqlite;

use async_trait::async_trait;
use shippy_common::paging::PageRequest;

pub use crate::domain::{Event, EventKey, Filter};
pub use memory::MemoryLogs;
#[cfg(feature = "mongodb")]
pub use mongo::MongoLogs;
pub use sqlite::SqliteLogs;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl From<RepoError> for crate::domain::LogError {
    fn from(e: RepoError) -> Self {
        crate::domain::LogError::Store(e.to_string())
    }
}

/// The event store.
#[async_trait]
pub trait LogRepository: Send + Sync + 'static {
    /// Stores `event` unless its id is already stored; answers whether it was new.
    async fn insert(&self, event: &Event) -> Result<bool, RepoError>;
    /// Stores each of `events` unless its id is already stored (one among them too);
    /// answers how many were new. All or none: after an `Err`, storing them again is
    /// harmless. Adapters override this to pay one transaction for the lot.
    async fn insert_all(&self, events: &[Event]) -> Result<usize, RepoError> {
        let mut new = 0;
        for event in events {
            new += usize::from(self.insert(event).await?);
        }
        Ok(new)
    }
    /// Deletes every event older than `before_ms`; answers how many went.
    async fn trim(&self, before_ms: i64) -> Result<u64, RepoError>;
    /// Events `filter` admits, newest first ([`EventKey`]), after `page.after`: at most
    /// [`page.fetch()`](PageRequest::fetch) of them.
    async fn list(
        &self,
        filter: &Filter,
        page: &PageRequest<EventKey>,
    ) -> Result<Vec<Event>, RepoError>;
}
