//! The log events every mutating RPC publishes and the log service records: plain JSON on
//! the log topic, keyed by user so one user's events keep their order, with the event id,
//! origin and user id also in the headers.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shippy_plugins::broker::{Broker, BrokerError, Message};

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

/// Publishes a service's events to the log topic. Built once at start.
#[derive(Clone)]
pub struct EventPublisher {
    broker: Arc<dyn Broker>,
    topic: String,
    origin: &'static str,
}

impl EventPublisher {
    pub fn new(broker: Arc<dyn Broker>, topic: &str, origin: &'static str) -> Self {
        Self {
            broker,
            topic: topic.to_owned(),
            origin,
        }
    }

    /// Publishes that `user_id` did `method`; returns the event as published.
    pub async fn publish(
        &self,
        method: &str,
        message: String,
        user_id: &str,
    ) -> Result<LogEvent, BrokerError> {
        let event = LogEvent {
            id: uuid::Uuid::now_v7().to_string(),
            origin: self.origin.to_owned(),
            method: method.to_owned(),
            message,
            user_id: user_id.to_owned(),
            time_unix_ms: shippy_plugins::now_unix_ms(),
        };
        self.broker.publish(&self.topic, event.to_message()).await?;
        Ok(event)
    }

    /// Like [`EventPublisher::publish`], for handlers whose write is already stored: a
    /// broker failure is logged, not returned, so the caller still learns the write stood.
    pub async fn publish_after_write(&self, method: &str, message: String, user_id: &str) {
        if let Err(error) = self.publish(method, message, user_id).await {
            tracing::error!(%error, method, "log event not published");
        }
    }
}
