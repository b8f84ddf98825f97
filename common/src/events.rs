//! The log events every mutating RPC publishes and the log service records: plain JSON on
//! the log topic, keyed by user so one user's events keep their order, with the event id,
//! origin and user id also in the headers. Services never publish them directly: each goes
//! into the outbox with the write it describes, and the relay publishes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shippy_plugins::broker::Message;
use shippy_plugins::outbox::Outgoing;
use shippy_plugins::outbox::Waker;

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    /// Unique per event; consumers store each id once.
    pub id: String,
    /// The publishing service, e.g. `shippy.vessel`.
    pub origin: String,
    /// The RPC, e.g. `Create`.
    pub method: String,
    pub message: String,
    /// Who caused it; empty for the system's own events (seeding).
    pub user_id: String,
    pub time_unix_ms: i64,
}

impl LogEvent {
    /// A new event with a fresh id, happening now.
    pub fn new(origin: &str, method: &str, message: String, user_id: &str) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            origin: origin.to_owned(),
            method: method.to_owned(),
            message,
            user_id: user_id.to_owned(),
            time_unix_ms: shippy_plugins::now_unix_ms(),
        }
    }

    /// The broker message carrying this event.
    pub fn to_message(&self) -> Message {
        Message {
            key: self.user_id.clone(),
            headers: BTreeMap::from([
                ("content-type".to_owned(), "application/json".to_owned()),
                ("event-id".to_owned(), self.id.clone()),
                ("origin".to_owned(), self.origin.clone()),
                ("user-id".to_owned(), self.user_id.clone()),
            ]),
            payload: serde_json::to_vec(self).unwrap_or_default(),
        }
    }

    /// The event a broker message carries.
    pub fn from_message(message: &Message) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(&message.payload)
    }
}

/// Describes a service's events as outbox entries for the log topic, and wakes the outbox
/// relay once the write that carries them has committed. Built once at start.
#[derive(Clone, Debug)]
pub struct Events {
    topic: String,
    origin: &'static str,
    relay: Waker,
}

impl Events {
    pub fn new(topic: &str, origin: &'static str, relay: Waker) -> Self {
        Self {
            topic: topic.to_owned(),
            origin,
            relay,
        }
    }

    /// The event that `user_id` did `method`, addressed to the log topic: hand it to the
    /// repository with the write it describes.
    pub fn outgoing(&self, method: &str, message: String, user_id: &str) -> Outgoing {
        let event = LogEvent::new(self.origin, method, message, user_id);
        let mut message = event.to_message();
        // The request's trace continues where the event is consumed.
        crate::telemetry::inject_map(&mut message.headers);
        Outgoing {
            topic: self.topic.clone(),
            message,
        }
    }

    /// Tells the relay a write with an event has committed, so it publishes now.
    pub fn written(&self) {
        self.relay.wake();
    }
}
