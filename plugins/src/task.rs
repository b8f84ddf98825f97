//! A background task tied to its handle: dropping the handle stops the task.

use std::future::Future;

/// A spawned task that is aborted when this handle is dropped (keep it as long as the work
/// should go on).
#[derive(Debug)]
pub struct Background(tokio::task::JoinHandle<()>);

impl Background {
    /// Spawns `work` on the current runtime.
    pub fn spawn(work: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(tokio::spawn(work))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}
