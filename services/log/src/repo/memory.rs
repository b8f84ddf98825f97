//! The event store in memory, for handler tests: the same rules as the real adapters (one
//! copy per id, newest first, ties by id), checked by the same contract.

use std::sync::Mutex;

use async_trait::async_trait;

use shippy_common::paging::PageRequest;

use super::{Event, EventKey, Filter, LogRepository, RepoError};

/// A [`LogRepository`] in a `Vec`, oldest insertion first.
#[derive(Debug, Default)]
pub struct MemoryLogs {
    events: Mutex<Vec<Event>>,
}

impl MemoryLogs {
    fn events(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl LogRepository for MemoryLogs {
    async fn insert(&self, event: &Event) -> Result<bool, RepoError> {
        let mut events = self.events();
        if events.iter().any(|e| e.id == event.id) {
            return Ok(false);
        }
        events.push(event.clone());
        Ok(true)
    }

    async fn trim(&self, before_ms: i64) -> Result<u64, RepoError> {
        let mut events = self.events();
        let before = events.len();
        events.retain(|e| e.time_unix_ms >= before_ms);
        Ok((before - events.len()) as u64)
    }

    async fn list(
        &self,
        filter: &Filter,
        page: &PageRequest<EventKey>,
    ) -> Result<Vec<Event>, RepoError> {
        let events = self.events();
        let mut found: Vec<&Event> = events
            .iter()
            .filter(|e| filter.admits(e) && page.after.as_ref().is_none_or(|k| e.key() < *k))
            .collect();
        found.sort_by_key(|e| std::cmp::Reverse(e.key()));
        Ok(found.into_iter().take(page.fetch()).cloned().collect())
    }
}
