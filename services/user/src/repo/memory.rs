//! The user store in memory, for handler tests: the same rules as the real adapters (unique
//! emails, the user and its event written together), checked by the same contract.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shippy_plugins::outbox::MemoryOutbox;
use shippy_plugins::outbox::{Outbox, Outgoing};

use shippy_common::paging::PageRequest;

use super::{RepoError, UserRepository};
use crate::domain::StoredUser;

/// A [`UserRepository`] in a `Vec`, oldest first, with its outbox beside it.
#[derive(Debug, Default)]
pub struct MemoryUsers {
    users: Mutex<Vec<StoredUser>>,
    outbox: MemoryOutbox,
}

impl MemoryUsers {
    fn users(&self) -> std::sync::MutexGuard<'_, Vec<StoredUser>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn find(&self, found: impl Fn(&StoredUser) -> bool) -> Option<StoredUser> {
        self.users().iter().find(|u| found(u)).cloned()
    }
}

#[async_trait]
impl UserRepository for MemoryUsers {
    async fn create(&self, user: &StoredUser, event: &Outgoing) -> Result<(), RepoError> {
        // One lock for the check and both writes: the user and its event, or neither.
        let mut users = self.users();
        // Ids are unique too, and, as in the SQLite adapter, any clash reads as a duplicate.
        if users
            .iter()
            .any(|u| u.user.email == user.user.email || u.user.id == user.user.id)
        {
            return Err(RepoError::DuplicateEmail);
        }
        self.outbox.push(event);
        users.push(user.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<StoredUser>, RepoError> {
        Ok(self.find(|u| u.user.id == id))
    }

    async fn by_email(&self, email: &str) -> Result<Option<StoredUser>, RepoError> {
        Ok(self.find(|u| u.user.email == email))
    }

    async fn list(&self, page: &PageRequest<String>) -> Result<Vec<StoredUser>, RepoError> {
        let mut users: Vec<StoredUser> = self
            .users()
            .iter()
            .filter(|u| page.after.as_ref().is_none_or(|a| u.user.id > *a))
            .cloned()
            .collect();
        users.sort_by(|a, b| a.user.id.cmp(&b.user.id));
        users.truncate(page.fetch());
        Ok(users)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
