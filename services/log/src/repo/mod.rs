//! Where events are kept: the [`LogRepository`] port, its SQLite adapter, and the contract
//! every adapter must pass.

pub mod contract;
#[cfg(feature = "mongodb")]
mod mongo;
mod sqlite;

use async_trait::async_trait;
use shippy_common::events::LogEvent;

#[cfg(feature = "mongodb")]
pub use mongo::MongoLogs;
pub use sqlite::SqliteLogs;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// Which events to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub user_id: String,
    /// Only this origin, when set.
    pub origin: Option<String>,
    /// Only at or after this time (unix ms), when set.
    pub since_unix_ms: Option<i64>,
    /// Only before this time (unix ms), when set.
    pub until_unix_ms: Option<i64>,
    pub limit: u32,
}

/// The event store.
#[async_trait]
pub trait LogRepository: Send + Sync + 'static {
    /// Stores `event` unless its id is already stored; answers whether it was new.
    async fn insert(&self, event: &LogEvent) -> Result<bool, RepoError>;
    /// Events matching `filter`, newest first.
    async fn list(&self, filter: &Filter) -> Result<Vec<LogEvent>, RepoError>;
}
