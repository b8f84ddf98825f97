//! One span (when spans are exported: [`telemetry::request_span`]) and one log line per gRPC
//! request. The span continues the caller's trace (W3C `traceparent` in the metadata), is
//! named after the RPC, and carries the caller's user id (recorded by the token guard) and
//! the gRPC status code, marked as an error when it is not OK; the log line gives method,
//! status, duration, trace id and request id (which the calls it makes onward carry along).
//! The metrics count requests by method and code, time them, and gauge those in flight.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

use crate::request_id::{REQUEST_ID_HEADER, with_request_id};
use crate::telemetry;

/// A request's duration as its log line gives it: milliseconds to the microsecond
/// (`0.137`, not `0.13712345678901`), easier to read and quicker to write.
pub fn log_millis(elapsed: std::time::Duration) -> f64 {
    elapsed.as_micros() as f64 / 1000.0
}

/// The address and port this server took `request` on (`server.address`, `server.port`).
fn local<B>(request: &http::Request<B>) -> (Option<String>, Option<u16>) {
    let local = request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(tonic::transport::server::TcpConnectInfo::local_addr);
    (local.map(|a| a.ip().to_string()), local.map(|a| a.port()))
}

/// Adds [`GrpcRequests`] around a tonic server.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcRequestsLayer;

impl<S> tower::Layer<S> for GrpcRequestsLayer {
    type Service = GrpcRequests<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcRequests { inner }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct GrpcRequests<S> {
    inner: S,
}

use crate::grpc::status_code;

impl<S, B, RB> tower::Service<http::Request<B>> for GrpcRequests<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let request_id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let health = method.starts_with("/grpc.health.");
        let span = telemetry::request_span(request.headers(), || {
            let (service, name) = crate::grpc::rpc_names(&method);
            let (address, port) = local(&request);
            tracing::info_span!(
                target: telemetry::REQUEST_SPANS,
                "grpc",
                otel.name = %method.trim_start_matches('/'),
                otel.kind = "server",
                otel.status_code = Empty,
                rpc.system = "grpc",
                rpc.service = %service,
                rpc.method = %name,
                rpc.grpc.status_code = Empty,
                server.address = address.as_deref(),
                server.port = port,
                user.id = Empty,
            )
        });
        let call = span.in_scope(|| self.inner.call(request));
        let started = Instant::now();
        crate::meters::started();
        let id = request_id.clone();
        Box::pin(
            async move {
                let result = with_request_id(id, call).await;
                let code = result.as_ref().map_or(2, status_code);
                let span = tracing::Span::current();
                span.record("rpc.grpc.status_code", code);
                if code != 0 {
                    span.record("otel.status_code", "ERROR");
                }
                let elapsed = started.elapsed();
                crate::meters::finished(&method, i64::from(code), elapsed.as_secs_f64(), || {
                    crate::meters::rpc_duration(&method, i64::from(code))
                });
                let duration_ms = log_millis(elapsed);
                let trace_id = telemetry::trace_id();
                if health {
                    tracing::debug!(%method, code, duration_ms, %trace_id, %request_id, "grpc request");
                } else {
                    tracing::info!(%method, code, duration_ms, %trace_id, %request_id, "grpc request");
                }
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::log_millis;

    #[test]
    fn a_log_line_gives_milliseconds_to_the_microsecond() {
        assert_eq!(log_millis(Duration::from_nanos(137_123_456)), 137.123);
        assert_eq!(log_millis(Duration::from_nanos(999)), 0.0);
        assert_eq!(log_millis(Duration::from_secs(2)), 2000.0);
    }
}
