//! The consignment store in memory, for handler tests: the same rules as the real adapters
//! (one booking per owner and key, a booking moves on only from the step it was read at,
//! each write and its event together), checked by the same contract. One lock covers a
//! whole call, as one transaction does in the real stores.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shippy_plugins::outbox::MemoryOutbox;
use shippy_plugins::outbox::{Outbox, Outgoing};

use shippy_common::paging::PageRequest;

use super::{ConsignmentRepository, Listed, RepoError};
use crate::domain::{Consignment, ConsignmentFilter, ConsignmentKey, Status};

/// A [`ConsignmentRepository`] in a `Vec`, oldest first, with its outbox beside it.
#[derive(Debug, Default)]
pub struct MemoryConsignments {
    consignments: Mutex<Vec<Consignment>>,
    outbox: MemoryOutbox,
}

impl MemoryConsignments {
    fn all(&self) -> std::sync::MutexGuard<'_, Vec<Consignment>> {
        self.consignments.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn find(&self, found: impl Fn(&Consignment) -> bool) -> Option<Consignment> {
        self.all().iter().find(|c| found(c)).cloned()
    }
}

#[async_trait]
impl ConsignmentRepository for MemoryConsignments {
    async fn create_within(
        &self,
        consignment: &Consignment,
        event: &Outgoing,
        most_open: u64,
    ) -> Result<(), RepoError> {
        let mut all = self.all();
        let open = all
            .iter()
            .filter(|c| c.user_id == consignment.user_id && c.status.is_in_flight())
            .count();
        if most_open > 0 && open as u64 >= most_open {
            return Err(RepoError::QuotaReached);
        }
        // Ids and (owner, key) pairs are unique; as in the SQLite adapter, any clash reads
        // as a reused key.
        let clash = all.iter().any(|c| {
            c.id == consignment.id
                || (c.user_id == consignment.user_id
                    && c.idempotency_key == consignment.idempotency_key)
        });
        if clash {
            return Err(RepoError::DuplicateKey);
        }
        self.outbox.push(event);
        all.push(consignment.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Consignment>, RepoError> {
        Ok(self.find(|c| c.id == id))
    }

    async fn by_key(&self, user_id: &str, key: &str) -> Result<Option<Consignment>, RepoError> {
        Ok(self.find(|c| c.user_id == user_id && c.idempotency_key == key))
    }

    async fn advance(
        &self,
        from: Status,
        next: &Consignment,
        event: Option<&Outgoing>,
    ) -> Result<bool, RepoError> {
        let mut all = self.all();
        // The guard: only the booking as it was read moves on.
        let Some(stored) = all.iter_mut().find(|c| c.id == next.id && c.status == from) else {
            return Ok(false);
        };
        // What a step may change, and only that (as the adapters' UPDATE).
        stored.status = next.status;
        stored.vessel_id.clone_from(&next.vessel_id);
        stored.reason.clone_from(&next.reason);
        stored.steps.clone_from(&next.steps);
        stored.updated_ms = next.updated_ms;
        stored.attempts = next.attempts;
        stored.retry_at_ms = next.retry_at_ms;
        if let Some(event) = event {
            self.outbox.push(event);
        }
        Ok(true)
    }

    async fn unfinished(
        &self,
        before_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Consignment>, RepoError> {
        let mut stale: Vec<Consignment> = self
            .all()
            .iter()
            .filter(|c| {
                matches!(
                    c.status,
                    Status::Pending | Status::Rejecting | Status::Cancelling | Status::Failing
                ) && c.updated_ms < before_ms
                    && c.retry_at_ms <= now_ms
            })
            .cloned()
            .collect();
        // Never deferred first, oldest first; a stable sort keeps insertion order.
        stale.sort_by_key(|c| (c.retry_at_ms, c.updated_ms));
        stale.truncate(limit);
        Ok(stale)
    }

    async fn defer(&self, id: &str, from: Status, next: &Consignment) -> Result<bool, RepoError> {
        let mut all = self.all();
        let Some(stored) = all.iter_mut().find(|c| c.id == id && c.status == from) else {
            return Ok(false);
        };
        stored.attempts = next.attempts;
        stored.retry_at_ms = next.retry_at_ms;
        Ok(true)
    }

    async fn list(
        &self,
        filter: &ConsignmentFilter,
        page: &PageRequest<ConsignmentKey>,
    ) -> Result<Vec<Listed>, RepoError> {
        // Its place is its index: the order of arrival, as in the real stores.
        Ok(self
            .all()
            .iter()
            .enumerate()
            .rev()
            .map(|(i, c)| ((i64::try_from(i).unwrap_or(i64::MAX), c.id.clone()), c))
            .filter(|(key, c)| filter.admits(c) && page.after.as_ref().is_none_or(|a| key < a))
            .take(page.fetch())
            .map(|(key, c)| (key, c.clone()))
            .collect())
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
