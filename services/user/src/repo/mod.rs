//! Where users are kept: the [`UserRepository`] port, its SQLite and MongoDB adapters, an
//! in-memory one for handler tests, and the contract every adapter must pass.

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

pub use memory::MemoryUsers;
#[cfg(feature = "mongodb")]
pub use mongo::MongoUsers;
pub use sqlite::SqliteUsers;

use crate::domain::StoredUser;

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// Another user already has this email.
    #[error("duplicate email")]
    DuplicateEmail,
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// For the calls that cannot meet a duplicate: sign-up, which can, names the email itself.
impl From<RepoError> for crate::domain::UserError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::DuplicateEmail => crate::domain::UserError::Internal(
                "the store reported a duplicate email outside a sign-up".into(),
            ),
            RepoError::Unavailable(m) => crate::domain::UserError::Store(m),
        }
    }
}

/// The user store. Emails are unique, compared as stored (lowercase).
#[async_trait]
pub trait UserRepository: Send + Sync + 'static {
    /// Stores `user` and enqueues `event` in one transaction: both or neither.
    async fn create(&self, user: &StoredUser, event: &Outgoing) -> Result<(), RepoError>;
    async fn get(&self, id: &str) -> Result<Option<StoredUser>, RepoError>;
    async fn by_email(&self, email: &str) -> Result<Option<StoredUser>, RepoError>;
    /// The users by id, after `page.after`: at most [`page.fetch()`](PageRequest::fetch).
    async fn list(&self, page: &PageRequest<String>) -> Result<Vec<StoredUser>, RepoError>;
    /// The outbox `create` enqueues into, for the relay.
    fn outbox(&self) -> Arc<dyn Outbox>;
}
