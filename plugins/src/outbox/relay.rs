//! The relay: publishes an outbox's pending events to the broker in order, a batch (up to
//! `batch` events) per broker call, removing the batch once the broker has it. The commit of
//! a write that enqueued wakes it (the outbox tells it: [`Outbox::committed`]), and it lets the writes right behind that one gather for `gather` before it looks, so
//! a busy service sends several events per broker call; it also looks every `poll` for
//! events others left (an earlier process, a broker that was down). When the broker
//! refuses, it stops at that batch (so order holds per outbox) and tries again after a
//! growing pause.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::Outbox;
use crate::broker::{Broker, BrokerError};
use crate::flags;
use crate::spans;
use crate::task::Background;

/// How a relay paces itself.
#[derive(Clone, Copy, Debug)]
pub struct RelayConfig {
    /// How often it looks for pending events when nothing wakes it.
    pub poll: Duration,
    /// The longest pause after the broker or the outbox failed.
    pub max_backoff: Duration,
    /// Events taken per look.
    pub batch: usize,
    /// How long, once woken, it lets more writes gather before it looks: a busy service's
    /// events then go in one broker call and one outbox write per few of them, at this
    /// much more delay.
    pub gather: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            max_backoff: Duration::from_secs(2),
            batch: 100,
            gather: Duration::from_millis(2),
        }
    }
}

/// A running relay; dropping it stops it.
#[derive(Debug)]
pub struct Relay {
    wake: Arc<Notify>,
    _task: Background,
}

impl Relay {
    /// Starts relaying `outbox` to `broker`, woken by the outbox each time a write that
    /// enqueued commits ([`Outbox::committed`]).
    pub fn start(outbox: Arc<dyn Outbox>, broker: Arc<dyn Broker>, config: RelayConfig) -> Self {
        let wake = outbox.committed();
        let task = Background::spawn(run(outbox, broker, Arc::clone(&wake), config));
        Self { wake, _task: task }
    }

    /// A handle that wakes the relay by hand (an outbox wakes it on its own; this is for
    /// tests and for events written outside any outbox).
    pub fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.wake))
    }
}

/// Wakes a [`Relay`] (cheap to clone; waking a stopped relay does nothing).
#[derive(Clone, Debug, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Publishes everything pending, a batch at a time: one broker call and one outbox write
/// per batch. Whether it all went. A batch short of `batch` was all there was when it was
/// read, so it is not read again for nothing: what is written after it wakes the relay.
async fn drain(outbox: &dyn Outbox, broker: &dyn Broker, batch: usize) -> bool {
    loop {
        let pending = match outbox.pending(batch).await {
            Ok(p) => p,
            Err(error) => {
                tracing::warn!(%error, "outbox unreadable; will retry");
                return false;
            }
        };
        if pending.is_empty() {
            return true;
        }
        let mut per_topic: BTreeMap<&str, u64> = BTreeMap::new();
        for entry in &pending {
            *per_topic.entry(&entry.outgoing.topic).or_default() += 1;
        }
        let published = if flags::on(flags::BROKER_REFUSES_PUBLISH) {
            flags::injected(
                flags::BROKER_REFUSES_PUBLISH,
                "the broker refused a publish",
            );
            Err(BrokerError::Unavailable(
                "the broker refuses publishes (fault flag broker.refuse_publish)".into(),
            ))
        } else {
            // A PRODUCER span per event, open while the batch goes (none unless exported).
            let mut sends = Vec::new();
            let messages = pending
                .iter()
                .map(|p| {
                    let (topic, mut message) = (&p.outgoing.topic, p.outgoing.message.clone());
                    sends.push(spans::send(broker.system(), topic, &mut message));
                    (topic.clone(), message)
                })
                .collect();
            let published = broker.publish_all(messages).await;
            if let Err(error) = &published {
                sends.iter().for_each(|span| spans::failed(span, error));
            }
            published
        };
        if let Err(error) = published {
            for topic in per_topic.keys() {
                metrics::counter!("shippy_event_publish_failures_total", "topic" => topic.to_string())
                    .increment(1);
            }
            tracing::warn!(%error, events = pending.len(), "broker refused events; they wait in the outbox");
            return false;
        }
        tracing::debug!(events = pending.len(), "relayed events");
        for (topic, n) in per_topic {
            metrics::counter!("shippy_events_published_total", "topic" => topic.to_owned())
                .increment(n);
            // The topic's refusals count from zero, so a dashboard has the series to show.
            metrics::counter!("shippy_event_publish_failures_total", "topic" => topic.to_owned())
                .increment(0);
        }
        let ids: Vec<String> = pending.into_iter().map(|p| p.id).collect();
        if let Err(error) = outbox.sent(&ids).await {
            // Published but still listed: they go again later; consumers drop the copies.
            tracing::warn!(%error, "outbox entries not removed; will retry");
            return false;
        }
        if ids.len() < batch {
            return true;
        }
    }
}

async fn run(outbox: Arc<dyn Outbox>, broker: Arc<dyn Broker>, wake: Arc<Notify>, c: RelayConfig) {
    let mut backoff = c.poll;
    loop {
        let drained = drain(outbox.as_ref(), broker.as_ref(), c.batch).await;
        // A drain that went through emptied the outbox; only a stuck one needs counting.
        let waiting = if drained {
            Some(0)
        } else {
            outbox.backlog().await.ok()
        };
        if let Some(waiting) = waiting {
            #[allow(clippy::cast_precision_loss)]
            metrics::gauge!("shippy_outbox_backlog").set(waiting as f64);
        }
        if drained {
            backoff = c.poll;
            tokio::select! {
                () = wake.notified() => tokio::time::sleep(c.gather).await,
                () = tokio::time::sleep(c.poll) => {}
            }
        } else {
            // Writes go on meanwhile; their events wait in line without hurrying the retry.
            backoff = (backoff * 2).min(c.max_backoff);
            tokio::time::sleep(backoff).await;
        }
    }
}
