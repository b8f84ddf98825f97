//! How long the activity log keeps an event (`store.log_retention_days`; 0: for good):
//! every hour, events older than that are deleted.

use std::sync::Arc;
use std::time::Duration;

use crate::repo::LogRepository;

/// How often the log is trimmed.
const EVERY: Duration = Duration::from_secs(3600);

/// Trims `repo` to its last `days` days every hour, from now on; `None` when `days` is 0.
pub fn keep_trimmed(
    repo: Arc<dyn LogRepository>,
    days: u64,
) -> Option<tokio::task::JoinHandle<()>> {
    if days == 0 {
        return None;
    }
    let keep_ms = i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            match repo.trim(shippy_plugins::now_unix_ms() - keep_ms).await {
                Ok(0) => {}
                Ok(gone) => tracing::info!(gone, days, "trimmed the activity log"),
                Err(error) => tracing::warn!(%error, "cannot trim the activity log"),
            }
        }
    }))
}
