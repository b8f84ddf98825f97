//! Store plumbing the services' repositories are built on: SQLite files for the embedded
//! default, and one MongoDB client per process for the real infrastructure.

#[cfg(feature = "mongodb")]
pub mod mongo;
mod sqlite;

pub(crate) use sqlite::mark_enqueued;
pub use sqlite::{OPEN_RETRY_FOR, SqliteDb, StoreError, migrate_if_missing};
