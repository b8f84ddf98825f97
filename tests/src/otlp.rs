//! An OTLP/HTTP trace collector for tests: it records every span the services export, with
//! its service and resource, ids, parent, kind, links and attributes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message;

/// One exported span, as the test needs it.
#[derive(Clone, Debug)]
pub struct Span {
    pub service: String,
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent: String,
    /// Its kind, as OpenTelemetry names them: `server`, `client`, `producer`, `consumer`,
    /// `internal`.
    pub kind: &'static str,
    /// The spans it links to, as (trace id, span id).
    pub links: Vec<(String, String)>,
    /// The attributes of the resource that exported it (`service.name`, ...).
    pub resource: BTreeMap<String, String>,
    pub attributes: BTreeMap<String, String>,
    pub error: bool,
    /// Its events: each name (a log line's message) with its attributes.
    pub events: Vec<(String, BTreeMap<String, String>)>,
}

/// What the collector has received so far.
pub type Spans = Arc<Mutex<Vec<Span>>>;

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Any::StringValue(s)) => s.clone(),
        Some(Any::IntValue(i)) => i.to_string(),
        Some(Any::BoolValue(b)) => b.to_string(),
        Some(Any::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

async fn collect(State(spans): State<Spans>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    let mut out = spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let resource: BTreeMap<String, String> = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .map(|a| (a.key.clone(), text(a.value.as_ref())))
            .collect();
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for s in scope.spans {
                out.push(Span {
                    service: service.clone(),
                    name: s.name.clone(),
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent: hex(&s.parent_span_id),
                    kind: kind(s.kind),
                    links: s
                        .links
                        .iter()
                        .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                        .collect(),
                    resource: resource.clone(),
                    attributes: s
                        .attributes
                        .iter()
                        .map(|a| (a.key.clone(), text(a.value.as_ref())))
                        .collect(),
                    // STATUS_CODE_ERROR
                    error: s.status.as_ref().is_some_and(|st| st.code == 2),
                    events: s
                        .events
                        .iter()
                        .map(|e| {
                            let attributes = e
                                .attributes
                                .iter()
                                .map(|a| (a.key.clone(), text(a.value.as_ref())))
                                .collect();
                            (e.name.clone(), attributes)
                        })
                        .collect(),
                });
            }
        }
    }
    ExportTraceServiceResponse::default().encode_to_vec()
}

/// OTLP's `SpanKind` by name.
fn kind(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OTLP/HTTP collector on a free port: its base URL and what it received.
pub async fn collector() -> (String, Spans) {
    let spans = Spans::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(collect))
        .with_state(spans.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, spans)
}
