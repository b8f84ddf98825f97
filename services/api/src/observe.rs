//! One span (when spans are exported: `telemetry::request_span`) and one log line per REST
//! request. The span is named after the route, continues a caller's trace when it sent one
//! (W3C `traceparent`), and parents every gRPC call the handler makes; the log line gives
//! method, route, status, duration, trace id and request id. The trace id also goes back to
//! the caller as `x-trace-id`, to look the request up in the tracing UI. The metrics count
//! requests by route and status, time them, and gauge those in flight.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use shippy_common::request_id::with_request_id;
use shippy_common::telemetry;
use tokio::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

/// The host and port the caller addressed (its `Host` header), as `server.address` and
/// `server.port`.
fn host(request: &Request) -> (Option<&str>, Option<u16>) {
    let Some(host) = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return (None, None);
    };
    match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') => (Some(name), port.parse().ok()),
        _ => (Some(host), None),
    }
}

pub async fn per_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = telemetry::request_span(request.headers(), || {
        let (host, port) = host(&request);
        tracing::info_span!(
            target: telemetry::REQUEST_SPANS,
            "http",
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = %method,
            http.route = %route,
            http.response.status_code = Empty,
            error.type = Empty,
            url.scheme = request.uri().scheme_str().unwrap_or("http"),
            url.path = request.uri().path(),
            server.address = host,
            server.port = port,
            request_id = %request_id,
        )
    });
    let started = Instant::now();
    shippy_common::meters::started();
    let mut response = with_request_id(request_id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let name = format!("{method} {route}");
    shippy_common::meters::finished(&name, i64::from(status), elapsed.as_secs_f64(), || {
        shippy_common::meters::http_duration(method.as_str(), &route, i64::from(status))
    });
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status);
    }
    let _inside = span.enter();
    let trace_id = telemetry::trace_id();
    let duration_ms = shippy_common::observe::log_millis(elapsed);
    tracing::info!(%method, %route, status, duration_ms, %trace_id, %request_id, "http request");
    if let Ok(value) = HeaderValue::from_str(&trace_id)
        && !trace_id.is_empty()
    {
        response.headers_mut().insert("x-trace-id", value);
    }
    response
}
