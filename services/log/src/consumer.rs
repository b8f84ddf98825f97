//! The log topic consumers. [`run`] stores, then commits, a batch at a time, as one member
//! of the log group: a store failure is retried (never skipped); a payload that is not an
//! event is logged and skipped, so one bad message cannot stall the log. [`follow_live`]
//! feeds this instance's watchers under a group of its own, so they see every new event
//! whichever instance of the log group stored it.

use std::sync::Arc;
use std::time::Duration;

use shippy_common::{events, telemetry};
use shippy_plugins::broker::{Delivery, Subscription};
use tokio::sync::broadcast;

use crate::domain::Event;
use crate::repo::LogRepository;

/// How many deliveries are stored in one write and committed together, at most.
const BATCH: usize = 256;

/// Consumes until the task is aborted, a batch at a time: what has arrived is stored in one
/// write, then committed with one offset, rather than one write and one commit per event.
pub async fn run(mut subscription: Box<dyn Subscription>, repo: Arc<dyn LogRepository>) {
    let (system, group) = (subscription.system(), subscription.group().to_owned());
    loop {
        let batch = match subscription.next_batch(BATCH).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "log topic unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut events = Vec::with_capacity(batch.len());
        // One span per event, continuing the trace of the request that caused it, open
        // while the batch is stored: each lasts as long as its event's recording did
        // (none when spans are not exported).
        let mut spans = Vec::with_capacity(batch.len());
        for delivery in &batch {
            match events::from_message(&delivery.message).map(Event::from) {
                Ok(event) => {
                    spans.push(record_span(&event, delivery, (system, &group)));
                    events.push(event);
                }
                Err(error) => {
                    tracing::warn!(%error, offset = delivery.offset, "skipped a message that is not a log event")
                }
            }
        }
        if let (Some(first), Some(last)) = (batch.first(), events.last()) {
            metrics::counter!("shippy_events_consumed_total", "topic" => first.topic.clone())
                .increment(events.len() as u64);
            #[allow(clippy::cast_precision_loss)]
            let lag = (shippy_plugins::now_unix_ms() - last.time_unix_ms).max(0) as f64 / 1000.0;
            metrics::gauge!("shippy_consumer_lag_seconds").set(lag);
            store_until_done(repo.as_ref(), &events).await;
        }
        drop(spans);
        let Some(last) = batch.last() else {
            continue;
        };
        while let Err(error) = subscription.commit(last).await {
            tracing::warn!(%error, "offset commit failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// The CONSUMER span of recording `event`, a child of (and linked to) the relay's span that
/// sent it (when spans are exported: see [`telemetry::event_span`]), with the conventions'
/// messaging attributes; `read` names the messaging system and the consumer group.
fn record_span(event: &Event, delivery: &Delivery, read: (&'static str, &str)) -> tracing::Span {
    telemetry::event_span(&delivery.message.headers, || {
        tracing::info_span!(
            "record",
            otel.name = %format_args!("process {}", delivery.topic),
            otel.kind = "consumer",
            messaging.system = read.0,
            messaging.destination.name = %delivery.topic,
            messaging.operation.type = "process",
            messaging.operation.name = "process",
            messaging.consumer.group.name = read.1,
            messaging.destination.partition.id = %delivery.partition,
            messaging.message.id = %event.id,
            event.id = %event.id,
            event.origin = %event.origin,
            user.id = %event.user_id,
        )
    })
}

/// How many recent event ids the live feed remembers, to announce a redelivered event once.
const LIVE_SEEN: usize = 4096;

/// Announces on `live` every event published from `since_ms` (Unix ms) on, once, until the
/// task is aborted. Reads under a group of this instance's own and commits nothing.
pub async fn follow_live(
    mut subscription: Box<dyn Subscription>,
    live: broadcast::Sender<Event>,
    since_ms: i64,
) {
    let (system, group) = (subscription.system(), subscription.group().to_owned());
    let mut seen = std::collections::HashSet::new();
    let mut order = std::collections::VecDeque::new();
    loop {
        let delivery = match subscription.next().await {
            Ok(d) => d,
            Err(error) => {
                tracing::warn!(%error, "log topic unavailable for the live feed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Ok(event) = events::from_message(&delivery.message).map(Event::from) else {
            continue;
        };
        if event.time_unix_ms < since_ms || !seen.insert(event.id.clone()) {
            continue;
        }
        order.push_back(event.id.clone());
        if order.len() > LIVE_SEEN
            && let Some(old) = order.pop_front()
        {
            seen.remove(&old);
        }
        // Nobody watching is fine.
        let _span = shippy_plugins::spans::process(system, &group, &delivery).entered();
        let _ = live.send(event);
    }
}

/// Stores `events`, retrying until the store answers.
async fn store_until_done(repo: &dyn LogRepository, events: &[Event]) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match repo.insert_all(events).await {
            Ok(new) => {
                tracing::debug!(new, duplicates = events.len() - new, "events recorded");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, events = events.len(), "events not stored; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
