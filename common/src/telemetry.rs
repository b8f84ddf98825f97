//! Telemetry set-up, once per process: `tracing` to stderr through a writer thread
//! ([`crate::logs`]; text or JSON by config, the
//! level from `RUST_LOG` or the config), and, when `telemetry.otlp_endpoint` is set, every
//! span exported to that OpenTelemetry collector (OTLP over HTTP; Jaeger in compose). Trace
//! context crosses processes as W3C `traceparent`, in gRPC metadata and in broker headers.
//! The metrics recorder is installed here too, first thing (see [`crate::admin`]).

use std::collections::BTreeMap;
use std::io::IsTerminal;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use shippy_plugins::spans;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Layer as _, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, TelemetryConfig};

/// Keeps the span exporter running; dropping it sends what is still buffered.
#[must_use = "spans are exported while this lives"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    logs: crate::logs::Flush,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.logs.flush(std::time::Duration::from_secs(2));
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("telemetry: spans not flushed: {error}");
        }
    }
}

/// What every span of this process names as its source: the service, its version and this
/// process (a fresh id per start, as the conventions ask of `service.instance.id`).
fn resource(service: &'static str) -> Resource {
    Resource::builder()
        .with_service_name(service)
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
        ])
        .build()
}

/// A tracer provider that batches spans to the collector at `endpoint`, or none (said on
/// stderr) when the exporter cannot be built.
fn exporter(endpoint: &str, service: &'static str) -> Option<SdkTracerProvider> {
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()
        .inspect_err(|error| eprintln!("telemetry: no span export to {endpoint}: {error}"))
        .ok()?;
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource(service))
            .build(),
    )
}

/// The target of the per-request spans (`grpc` in [`crate::observe`], `http` in the
/// gateway), which the log lines leave out: they are for the tracer, and the request's own
/// log line already says what they hold (method, status, trace id, request id). Formatting
/// their fields at every request and in front of every line was a tenth of a busy
/// service's CPU (docs/performance.md).
pub const REQUEST_SPANS: &str = spans::TARGET;

/// Whether this process exports spans (`telemetry.otlp_endpoint` is set and its exporter
/// was built). When it does not, nothing reads the per-request spans (the log lines leave
/// them out), so the request layers make none: they were a sixth of vessel-service's CPU
/// per call under the hop (docs/performance.md).
pub fn exporting() -> bool {
    spans::exporting()
}

/// The span `make` builds, continuing the trace `parent` gives, when this process exports
/// spans; else none, and neither is called.
fn exported_span(
    make: impl FnOnce() -> tracing::Span,
    parent: impl FnOnce() -> Context,
) -> tracing::Span {
    if !exporting() {
        return tracing::Span::none();
    }
    let span = make();
    set_parent(&span, parent());
    span
}

/// The span of one request, made by `make` and continuing the trace its caller sent in
/// `headers`, when this process exports spans; else none: nothing would read it (the log
/// lines leave request spans out).
pub fn request_span(
    headers: &http::HeaderMap,
    make: impl FnOnce() -> tracing::Span,
) -> tracing::Span {
    exported_span(make, || extract_headers(headers))
}

/// The span of handling one consumed event, made by `make` and continuing the trace of the
/// send that published it (its broker `headers`; linked to it too, see
/// [`spans::continue_from`]), when this process exports spans; else
/// none, for the same reason as [`request_span`]: the log service made one per event it
/// stored, a tenth of its CPU under bookings, with nothing to read them.
pub fn event_span(
    headers: &BTreeMap<String, String>,
    make: impl FnOnce() -> tracing::Span,
) -> tracing::Span {
    if !exporting() {
        return tracing::Span::none();
    }
    let span = make();
    spans::continue_from(&span, headers);
    span
}

/// What the log lines see: every event and every span but the per-request ones.
fn for_log_lines(meta: &tracing::Metadata<'_>) -> bool {
    !(meta.is_span() && meta.target() == REQUEST_SPANS)
}

/// Installs the global subscriber for `service`. Calling it twice (tests) is harmless.
pub fn init(config: &TelemetryConfig, service: &'static str) -> Telemetry {
    crate::admin::install();
    global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = (!config.otlp_endpoint.is_empty())
        .then(|| exporter(&config.otlp_endpoint, service))
        .flatten();
    let spans = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)));
    let ansi = std::io::stderr().is_terminal();
    // Lines go to stderr from a writer thread, batched: off the request path.
    let (lines, logs) = crate::logs::start(std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(lines)
        .with_timer(crate::log_time::LineTime)
        .with_target(false)
        .with_ansi(ansi);
    let exports = spans.is_some();
    let registry = tracing_subscriber::registry().with(filter).with(spans);
    let lines_see = filter_fn(for_log_lines);
    let installed = match config.format {
        LogFormat::Json => registry.with(fmt.json().with_filter(lines_see)).try_init(),
        LogFormat::Text => registry.with(fmt.with_filter(lines_see)).try_init(),
    };
    if installed.is_ok() {
        spans::set_exporting(exports);
    }
    Telemetry { provider, logs }
}

/// The current span's trace id (32 hex digits), or empty outside any exported trace.
pub fn trace_id() -> String {
    if !exporting() {
        return String::new();
    }
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        span_context.trace_id().to_string()
    } else {
        String::new()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Puts the current span's context on outgoing HTTP/gRPC headers.
pub fn inject_headers(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut HeaderInjector(headers)));
}

/// The context a caller sent in its headers.
pub fn extract_headers(headers: &http::HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Puts the current span's context into a broker message's headers.
pub fn inject_map(headers: &mut BTreeMap<String, String>) {
    spans::inject(&tracing::Span::current().context(), headers);
}

/// The context a broker message carries.
pub fn extract_map(headers: &BTreeMap<String, String>) -> Context {
    spans::extract(headers)
}

/// Makes `span` a child of the context its caller sent (no-op when none was sent).
pub fn set_parent(span: &tracing::Span, parent: Context) {
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}
