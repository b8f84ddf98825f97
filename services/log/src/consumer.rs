//! The log topic consumer: store, then commit. A store failure is retried (never skipped);
//! a payload that is not an event is logged and skipped, so one bad message cannot stall
//! the log.

use std::sync::Arc;
use std::time::Duration;

use shippy_common::events::LogEvent;
use shippy_common::telemetry;
use shippy_plugins::broker::Subscription;
use tokio::sync::broadcast;
use tracing::Instrument;

use crate::repo::LogRepository;

/// Consumes until the task is aborted, announcing each newly stored event on `live`.
pub async fn run(
    mut subscription: Box<dyn Subscription>,
    repo: Arc<dyn LogRepository>,
    live: broadcast::Sender<LogEvent>,
) {
    loop {
        let delivery = match subscription.next().await {
            Ok(d) => d,
            Err(error) => {
                tracing::warn!(%error, "log topic unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        match LogEvent::from_message(&delivery.message) {
            Ok(event) => {
                // Recording the event continues the trace of the request that caused it.
                let span = tracing::info_span!(
                    "record",
                    otel.name = "shippy.log record",
                    otel.kind = "consumer",
                    event.id = %event.id,
                    event.origin = %event.origin,
                    user.id = %event.user_id,
                );
                telemetry::set_parent(&span, telemetry::extract_map(&delivery.message.headers));
                metrics::counter!("shippy_events_consumed_total", "topic" => delivery.topic.clone())
                    .increment(1);
                #[allow(clippy::cast_precision_loss)]
                let lag =
                    (shippy_plugins::now_unix_ms() - event.time_unix_ms).max(0) as f64 / 1000.0;
                metrics::gauge!("shippy_consumer_lag_seconds").set(lag);
                if store_until_done(repo.as_ref(), &event)
                    .instrument(span)
                    .await
                {
                    // Nobody watching is fine.
                    let _ = live.send(event);
                }
            }
            Err(error) => {
                tracing::warn!(%error, offset = delivery.offset, "skipped a message that is not a log event")
            }
        }
        while let Err(error) = subscription.commit(&delivery).await {
            tracing::warn!(%error, "offset commit failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Stores `event`, retrying until the store answers; whether it was new.
async fn store_until_done(repo: &dyn LogRepository, event: &LogEvent) -> bool {
    let mut backoff = Duration::from_millis(100);
    loop {
        match repo.insert(event).await {
            Ok(true) => {
                tracing::debug!(id = %event.id, origin = %event.origin, "event recorded");
                return true;
            }
            Ok(false) => {
                tracing::debug!(id = %event.id, "duplicate event ignored");
                return false;
            }
            Err(error) => {
                tracing::warn!(%error, id = %event.id, "event not stored; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
