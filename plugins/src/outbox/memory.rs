//! An outbox in memory, for the in-memory repositories services test their handlers with.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Outbox, OutboxError, Outgoing, Pending};

/// An outbox in memory, for the in-memory repositories services test their handlers with:
/// such a repository pushes an event while it holds its own lock for the write, so the
/// write and its event land together. It passes the plugins' outbox contract.
#[derive(Clone, Debug, Default)]
pub struct MemoryOutbox {
    queue: Arc<Mutex<(u64, Vec<Pending>)>>,
    committed: Arc<tokio::sync::Notify>,
}

impl MemoryOutbox {
    /// Enqueues `outgoing` now (call it inside the write it describes).
    pub fn push(&self, outgoing: &Outgoing) {
        self.push_all(std::slice::from_ref(outgoing));
    }

    /// Enqueues every entry of `outgoing` now, next to each other.
    fn push_all(&self, outgoing: &[Outgoing]) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        for o in outgoing {
            queue.0 += 1;
            let id = queue.0.to_string();
            queue.1.push(Pending {
                id,
                outgoing: o.clone(),
            });
        }
        drop(queue);
        self.committed.notify_one();
    }

    fn pending_now(&self, limit: usize) -> Vec<Pending> {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.1.iter().take(limit).cloned().collect()
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn enqueue_all(&self, outgoing: &[Outgoing]) -> Result<(), OutboxError> {
        self.push_all(outgoing);
        Ok(())
    }

    async fn pending(&self, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        Ok(self.pending_now(limit))
    }

    async fn sent(&self, ids: &[String]) -> Result<(), OutboxError> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.1.retain(|p| !ids.contains(&p.id));
        Ok(())
    }

    fn committed(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.committed)
    }

    async fn backlog(&self) -> Result<u64, OutboxError> {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        Ok(u64::try_from(queue.1.len()).unwrap_or(u64::MAX))
    }
}
