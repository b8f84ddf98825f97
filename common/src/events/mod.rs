//! The log events every mutating RPC publishes and the log service records. The wire schema
//! is `shippy.log.LogEvent` in `proto/log.proto`, defined once: the broker payload is that
//! message, prost-encoded (`content-type: application/x-protobuf`), keyed by user so one
//! user's events keep their order. Each is a CloudEvent in the binary binding: its
//! attributes are `ce_*` headers (`ce_type` such as `io.shippy.consignment.booked.v1`,
//! `ce_subject` the booking, `ce_sequence` its place among the booking's events), so a
//! reader with a CloudEvents SDK and the `.proto` needs nothing of shippy's. A service builds
//! an event from its typed detail ([`Detail`]), never from a sentence; the sentence in
//! `message` is derived from the detail ([`detail::sentence`]). Services never publish
//! events directly: each goes into the outbox with the write it describes, and the relay
//! publishes it.

pub mod detail;

use std::collections::BTreeMap;

use shippy_plugins::broker::Message;
use shippy_plugins::outbox::Outgoing;
use shippy_proto::prost::Message as _;

use crate::config::EventEncoding;

/// One thing that happened: the proto message, re-exported so callers need not know where
/// the wire contract lives.
pub use shippy_proto::log::LogEvent;
/// The kinds of event, each with its facts.
pub use shippy_proto::log::log_event::Detail;

/// The content type of an event's payload.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

/// What events written before the payload became protobuf carry; still read, so events
/// that waited in an outbox or on the topic across the upgrade are not skipped.
const LEGACY_CONTENT_TYPE: &str = "application/json";

/// Why a broker message is not a log event.
#[derive(Debug, thiserror::Error)]
pub enum NotAnEvent {
    #[error("payload is not a protobuf log event: {0}")]
    Proto(#[from] shippy_proto::prost::DecodeError),
    #[error("payload is not a JSON log event: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the event has no {0}")]
    Missing(&'static str),
}

/// A new event of `origin`'s with a fresh id, happening now: `detail`, the `sequence`-th
/// of its subject's events (0: unordered), caused by `user_id` (empty: by shippy itself).
pub fn new_event(origin: &str, detail: Detail, sequence: i64, user_id: &str) -> LogEvent {
    LogEvent {
        id: uuid::Uuid::now_v7().to_string(),
        origin: origin.to_owned(),
        method: detail::method(&detail).to_owned(),
        message: detail::sentence(&detail),
        user_id: user_id.to_owned(),
        time_unix_ms: shippy_plugins::now_unix_ms(),
        subject: detail::subject(&detail).to_owned(),
        sequence,
        detail: Some(detail),
    }
}

/// The CloudEvents spec version the headers follow.
pub const CLOUDEVENTS_VERSION: &str = "1.0";

/// The broker message carrying `event`: the payload the `LogEvent`, the CloudEvents
/// attributes in `ce_*` headers (the Kafka binary binding; `content-type` is the
/// `datacontenttype`), and, as before them, its id, origin and user in plain headers.
pub fn to_message(event: &LogEvent) -> Message {
    let mut headers = BTreeMap::from([
        ("content-type".to_owned(), CONTENT_TYPE.to_owned()),
        ("event-id".to_owned(), event.id.clone()),
        ("origin".to_owned(), event.origin.clone()),
        ("user-id".to_owned(), event.user_id.clone()),
        ("ce_specversion".to_owned(), CLOUDEVENTS_VERSION.to_owned()),
        ("ce_id".to_owned(), event.id.clone()),
        ("ce_source".to_owned(), format!("/{}", event.origin)),
        ("ce_time".to_owned(), rfc3339(event.time_unix_ms)),
    ]);
    if let Some(detail) = &event.detail {
        headers.insert("ce_type".to_owned(), detail::cloud_type(detail).to_owned());
    }
    if !event.subject.is_empty() {
        headers.insert("ce_subject".to_owned(), event.subject.clone());
    }
    if event.sequence > 0 {
        // The CloudEvents `sequence` extension: a string, ordering one source's events.
        headers.insert("ce_sequence".to_owned(), event.sequence.to_string());
    }
    Message {
        key: event.user_id.clone(),
        headers,
        payload: event.encode_to_vec(),
    }
}

/// `unix_ms` as RFC 3339 UTC with milliseconds, as CloudEvents' `time` is written.
fn rfc3339(unix_ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The broker message carrying `event` as versions before protobuf wrote it (see
/// [`EventEncoding::Json`]): the same six fields, named as in `log.proto`.
pub fn to_json_message(event: &LogEvent) -> Message {
    let mut message = to_message(event);
    message
        .headers
        .insert("content-type".to_owned(), LEGACY_CONTENT_TYPE.to_owned());
    message.payload = serde_json::to_vec(&JsonEvent::from(event)).unwrap_or_default();
    message
}

/// The event a broker message carries. Any protobuf decodes to *some* message, so one
/// without an id or an origin is refused as not an event.
pub fn from_message(message: &Message) -> Result<LogEvent, NotAnEvent> {
    let event = match message.headers.get("content-type").map(String::as_str) {
        Some(LEGACY_CONTENT_TYPE) => from_json(&message.payload)?,
        _ => LogEvent::decode(message.payload.as_slice())?,
    };
    if event.id.is_empty() {
        return Err(NotAnEvent::Missing("id"));
    }
    if event.origin.is_empty() {
        return Err(NotAnEvent::Missing("origin"));
    }
    Ok(event)
}

/// An event as the JSON payloads before protobuf spelled it: the same six fields, read and
/// written through this one shape.
#[derive(serde::Serialize, serde::Deserialize)]
struct JsonEvent {
    id: String,
    origin: String,
    method: String,
    message: String,
    user_id: String,
    time_unix_ms: i64,
}

impl From<&LogEvent> for JsonEvent {
    fn from(e: &LogEvent) -> Self {
        Self {
            id: e.id.clone(),
            origin: e.origin.clone(),
            method: e.method.clone(),
            message: e.message.clone(),
            user_id: e.user_id.clone(),
            time_unix_ms: e.time_unix_ms,
        }
    }
}

fn from_json(payload: &[u8]) -> Result<LogEvent, NotAnEvent> {
    let e: JsonEvent = serde_json::from_slice(payload)?;
    Ok(LogEvent {
        id: e.id,
        origin: e.origin,
        method: e.method,
        message: e.message,
        user_id: e.user_id,
        time_unix_ms: e.time_unix_ms,
        ..LogEvent::default()
    })
}

/// Describes a service's events as outbox entries for the log topic (the outbox wakes its
/// relay when the write that carries them commits). Built once at start.
#[derive(Clone, Debug)]
pub struct Events {
    topic: String,
    origin: &'static str,
    encoding: EventEncoding,
    /// The test hook `broker.reword_events`.
    reword: bool,
}

/// Every event's message under the test hook `broker.reword_events`.
pub const REWORDED: &str = "something happened (broker.reword_events: read the detail)";

impl Events {
    /// Events of `origin` for `topic`, written as protobuf.
    pub fn new(topic: &str, origin: &'static str) -> Self {
        Self {
            topic: topic.to_owned(),
            origin,
            encoding: EventEncoding::Protobuf,
            reword: false,
        }
    }

    /// The same, every message one fixed sentence when `reword` (the test hook
    /// `broker.reword_events`).
    pub fn reworded(self, reword: bool) -> Self {
        Self { reword, ..self }
    }

    /// The same, written as `encoding` says.
    pub fn encoded_as(self, encoding: EventEncoding) -> Self {
        Self { encoding, ..self }
    }

    /// The event `detail`, the `sequence`-th of its subject's (0: unordered), caused by
    /// `user_id`, addressed to the log topic: hand it to the repository with the write it
    /// describes.
    pub fn outgoing(&self, detail: Detail, sequence: i64, user_id: &str) -> Outgoing {
        let mut event = new_event(self.origin, detail, sequence, user_id);
        if self.reword {
            REWORDED.clone_into(&mut event.message);
        }
        let mut message = match self.encoding {
            EventEncoding::Protobuf => to_message(&event),
            EventEncoding::Json => to_json_message(&event),
        };
        // The request's trace continues where the event is consumed.
        crate::telemetry::inject_map(&mut message.headers);
        Outgoing {
            topic: self.topic.clone(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_the_broker_whole_with_its_headers() {
        let event = new_event("shippy.vessel", booked(), 3, "alice");
        let message = to_message(&event);
        assert_eq!(message.key, "alice");
        assert_eq!(message.headers["content-type"], "application/x-protobuf");
        assert_eq!(message.headers["event-id"], event.id);
        assert_eq!(message.headers["origin"], "shippy.vessel");
        assert_eq!(message.headers["user-id"], "alice");
        assert_eq!(from_message(&message).unwrap(), event);
        assert_eq!(event.method, "ConsignmentBooked");
        assert_eq!(event.message, "consignment c1 booked on vessel v1");
    }

    fn booked() -> Detail {
        Detail::ConsignmentBooked(shippy_proto::log::ConsignmentBooked {
            consignment_id: "c1".into(),
            vessel_id: "v1".into(),
        })
    }

    #[test]
    fn an_event_on_the_broker_is_a_cloudevent_in_the_binary_binding() {
        let mut event = new_event("shippy.consignment", booked(), 3, "alice");
        event.time_unix_ms = 1_765_000_000_123;
        let headers = to_message(&event).headers;
        assert_eq!(headers["ce_specversion"], "1.0");
        assert_eq!(headers["ce_id"], event.id);
        assert_eq!(headers["ce_source"], "/shippy.consignment");
        assert_eq!(headers["ce_type"], "io.shippy.consignment.booked.v1");
        assert_eq!(headers["ce_subject"], "c1");
        assert_eq!(headers["ce_sequence"], "3");
        assert_eq!(headers["ce_time"], "2025-12-06T05:46:40.123Z");
        // An event of a version before details: no type, subject or sequence to claim.
        let old = to_message(&LogEvent {
            id: "e1".into(),
            origin: "shippy.user".into(),
            ..LogEvent::default()
        });
        assert!(!old.headers.contains_key("ce_type"));
        assert!(!old.headers.contains_key("ce_sequence"));
    }

    #[test]
    fn an_event_written_as_json_before_the_upgrade_is_still_read() {
        let message = Message {
            key: "alice".into(),
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            payload: br#"{"id":"e1","origin":"shippy.user","method":"Create",
                          "message":"signed up","user_id":"alice","time_unix_ms":7}"#
                .to_vec(),
        };
        let event = from_message(&message).unwrap();
        assert_eq!(
            (
                event.id.as_str(),
                event.user_id.as_str(),
                event.time_unix_ms
            ),
            ("e1", "alice", 7)
        );
    }

    /// During a rolling upgrade from a version that wrote JSON, `event_encoding = "json"`
    /// writes what that version's log service reads: its six fields, typed as its struct.
    #[test]
    fn an_event_written_as_json_is_what_an_older_log_service_reads_and_this_one_too() {
        let events = Events::new("shippy.log", "shippy.user").encoded_as(EventEncoding::Json);
        let signed_up = Detail::UserSignedUp(shippy_proto::log::UserSignedUp {
            user_id: "alice".into(),
            name: "Alice".into(),
        });
        let message = events.outgoing(signed_up, 1, "alice").message;
        assert_eq!(message.headers["content-type"], "application/json");
        // What the older reader's struct takes: five strings and a whole number.
        let older: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
        for field in ["id", "origin", "method", "message", "user_id"] {
            assert!(older[field].is_string(), "{field}: {older}");
        }
        assert!(older["time_unix_ms"].is_i64(), "{older}");
        assert_eq!(
            (older["origin"].as_str(), older["user_id"].as_str()),
            (Some("shippy.user"), Some("alice"))
        );
        let event = from_message(&message).unwrap();
        assert_eq!(Some(event.id.as_str()), older["id"].as_str());
        assert_eq!(event.message, "user Alice signed up");
        assert_eq!(Some(event.time_unix_ms), older["time_unix_ms"].as_i64());
    }

    #[test]
    fn a_payload_that_is_no_event_is_refused() {
        let message = |payload: &[u8]| Message {
            key: String::new(),
            headers: BTreeMap::new(),
            payload: payload.to_vec(),
        };
        assert!(from_message(&message(b"")).is_err(), "an empty payload");
        assert!(from_message(&message(b"\xff\xff\xff")).is_err(), "garbage");
    }
}
