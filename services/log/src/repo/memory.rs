//! The event store in memory, for handler tests: the same rules as the real adapters (one
//! copy per id, newest first, ties in insertion order), checked by the same contract.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{Event, Filter, LogRepository, RepoError};

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

fn matches(f: &Filter, e: &Event) -> bool {
    e.user_id == f.user_id
        && f.origin.as_ref().is_none_or(|o| *o == e.origin)
        && f.since_unix_ms.is_none_or(|t| e.time_unix_ms >= t)
        && f.until_unix_ms.is_none_or(|t| e.time_unix_ms < t)
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

    async fn list(&self, filter: &Filter) -> Result<Vec<Event>, RepoError> {
        let events = self.events();
        let mut found: Vec<(usize, &Event)> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches(filter, e))
            .collect();
        // Newest first; of two at one time, the later inserted first (as `seq DESC`).
        found.sort_by_key(|(i, e)| std::cmp::Reverse((e.time_unix_ms, *i)));
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
        Ok(found
            .into_iter()
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }
}
