//! Messaging spans as OpenTelemetry's semantic conventions name them: a PRODUCER span for
//! each message the outbox relay sends ([`send`]) and a CONSUMER span for handling one
//! delivery ([`process`], [`continue_from`]), each continuing the trace its message carries
//! (W3C `traceparent` in the headers). A sent message carries its PRODUCER span's context,
//! so a consumer's span is that span's child, and names it as a link too. Spans are made only
//! while the process exports them ([`set_exporting`], which the telemetry set-up calls):
//! nothing else reads them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, global};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::broker::{Delivery, Message};

/// The target of the spans made per request and per message: for the tracer only, the log
/// lines leave them out.
pub const TARGET: &str = "shippy::request";

/// The header naming a message: the event's id, a UUIDv7, so it also tells when the event
/// was made (in the write that enqueued it).
pub const MESSAGE_ID: &str = "event-id";

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Says whether this process exports spans.
pub fn set_exporting(on: bool) {
    EXPORTING.store(on, Ordering::Relaxed);
}

/// Whether this process exports spans: when it does not, none are made.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

struct MapCarrier<'a>(&'a mut BTreeMap<String, String>);

impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

struct MapReader<'a>(&'a BTreeMap<String, String>);

impl Extractor for MapReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Puts `context` into a message's headers.
pub fn inject(context: &Context, headers: &mut BTreeMap<String, String>) {
    global::get_text_map_propagator(|p| p.inject_context(context, &mut MapCarrier(headers)));
}

/// The context a message carries.
pub fn extract(headers: &BTreeMap<String, String>) -> Context {
    global::get_text_map_propagator(|p| p.extract(&MapReader(headers)))
}

/// Milliseconds from the making of `id` to now, when `id` is a UUIDv7 (event ids are).
fn waited_ms(id: &str) -> Option<i64> {
    let id = uuid::Uuid::parse_str(id).ok()?;
    if id.get_version() != Some(uuid::Version::SortRand) {
        return None;
    }
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    let made = i64::try_from(secs).ok()? * 1000 + i64::from(nanos / 1_000_000);
    Some((crate::now_unix_ms() - made).max(0))
}

/// The PRODUCER span of sending `message` to `topic` on `system`, a child of the span that
/// wrote it; `message` then carries this span's context instead, so its consumers' spans
/// are children of the send. How long the event waited in the outbox (from its making to
/// this send) is `shippy.outbox.wait_ms`. None when spans are not exported.
pub fn send(system: &'static str, topic: &str, message: &mut Message) -> tracing::Span {
    if !exporting() {
        return tracing::Span::none();
    }
    let id = message.headers.get(MESSAGE_ID).map(String::as_str);
    let span = tracing::info_span!(
        target: TARGET,
        "send",
        otel.name = %format_args!("send {topic}"),
        otel.kind = "producer",
        otel.status_code = Empty,
        otel.status_description = Empty,
        messaging.system = system,
        messaging.destination.name = %topic,
        messaging.operation.type = "send",
        messaging.operation.name = "send",
        messaging.message.id = id,
        shippy.outbox.wait_ms = id.and_then(waited_ms),
    );
    let parent = extract(&message.headers);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    inject(&span.context(), &mut message.headers);
    span
}

/// Marks `span` as failed, saying why.
pub fn failed(span: &tracing::Span, why: &dyn std::fmt::Display) {
    span.record("otel.status_code", "ERROR");
    span.record("otel.status_description", tracing::field::display(why));
}

/// Makes `span` (of handling a message with `headers`) a child of the span that sent it,
/// and links it to that span: the conventions' way for a consumer to name its producer.
pub fn continue_from(span: &tracing::Span, headers: &BTreeMap<String, String>) {
    let producer = extract(headers);
    let sent = producer.span().span_context().clone();
    if sent.is_valid() {
        let _ = span.set_parent(producer);
        span.add_link(sent);
    }
}

/// The CONSUMER span of handling `delivery`, read from `system` for `group`, continuing
/// its producer's trace ([`continue_from`]). None when spans are not exported.
pub fn process(system: &'static str, group: &str, delivery: &Delivery) -> tracing::Span {
    if !exporting() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        target: TARGET,
        "process",
        otel.name = %format_args!("process {}", delivery.topic),
        otel.kind = "consumer",
        messaging.system = system,
        messaging.destination.name = %delivery.topic,
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.consumer.group.name = %group,
        messaging.destination.partition.id = %delivery.partition,
        messaging.message.id = delivery.message.headers.get(MESSAGE_ID).map(String::as_str),
    );
    continue_from(&span, &delivery.message.headers);
    span
}

#[cfg(test)]
mod tests {
    use super::waited_ms;

    #[test]
    fn an_event_id_tells_how_long_ago_it_was_made() {
        let id = uuid::Uuid::now_v7().to_string();
        let waited = waited_ms(&id).unwrap();
        assert!((0..1000).contains(&waited), "{waited}");
        assert_eq!(
            waited_ms(&uuid::Uuid::new_v4().to_string()),
            None,
            "no time in a v4"
        );
        assert_eq!(waited_ms("e1"), None);
    }
}
