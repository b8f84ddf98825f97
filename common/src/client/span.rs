//! The CLIENT span of every outgoing gRPC call (when spans are exported): named
//! `package.Service/Method` as the conventions ask, with `rpc.system`, `rpc.service`,
//! `rpc.method` and the answer's `rpc.grpc.status_code`, an error when that is not OK. It
//! covers the whole call, the wait for a ready instance included; [`Peer`], under the
//! balancer, adds the `server.address` and `server.port` of the instance that took it. The
//! trace context the call carries is this span's, so the server's span is its child.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;
use tower::BoxError;
use tracing::Instrument;
use tracing::field::Empty;

use crate::telemetry;

pub use crate::grpc::rpc_names;

/// Adds [`ClientSpan`] around a client's stack.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientSpanLayer;

impl<S> tower::Layer<S> for ClientSpanLayer {
    type Service = ClientSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientSpan { inner }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct ClientSpan<S> {
    inner: S,
}

/// The gRPC code of a call that got no answer: the status it failed with, else
/// UNAVAILABLE (no instance took it).
fn error_code(error: &BoxError) -> i32 {
    error
        .downcast_ref::<Status>()
        .map_or(tonic::Code::Unavailable as i32, |s| s.code() as i32)
}

impl<S, B, RB> tower::Service<http::Request<B>> for ClientSpan<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !telemetry::exporting() {
            return Box::pin(self.inner.call(request));
        }
        let path = request.uri().path();
        let (service, method) = rpc_names(path);
        let span = tracing::info_span!(
            target: telemetry::REQUEST_SPANS,
            "grpc client",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = Empty,
            server.address = Empty,
            server.port = Empty,
        );
        // Called inside the span: the headers carry its context, and the balancer's queue
        // hands it on to the instance that takes the call ([`Peer`]).
        let call = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = call.await;
                let code = match &result {
                    Ok(response) => crate::grpc::status_code(response),
                    Err(error) => error_code(error),
                };
                let span = tracing::Span::current();
                span.record("rpc.grpc.status_code", code);
                if code != 0 {
                    span.record("otel.status_code", "ERROR");
                }
                result
            }
            .instrument(span),
        )
    }
}

/// One instance's channel, which names the instance on the CLIENT span of each call it
/// takes (`server.address`, `server.port`).
#[derive(Clone, Debug)]
pub struct Peer<S> {
    inner: S,
    host: Arc<str>,
    port: Option<u16>,
}

impl<S> Peer<S> {
    /// `inner`, the channel to the instance at `address` (`host:port`).
    pub fn new(inner: S, address: &str) -> Self {
        let (host, port) = address
            .rsplit_once(':')
            .map_or((address, None), |(h, p)| (h, p.parse().ok()));
        Self {
            inner,
            host: host.trim_start_matches('[').trim_end_matches(']').into(),
            port,
        }
    }
}

impl<S, R> tower::Service<R> for Peer<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        if telemetry::exporting() {
            let span = tracing::Span::current();
            span.record("server.address", &*self.host);
            if let Some(port) = self.port {
                span.record("server.port", port);
            }
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::{Peer, rpc_names};

    #[test]
    fn a_path_names_the_service_and_the_method_apart() {
        assert_eq!(
            rpc_names("/shippy.vessel.VesselService/Reserve"),
            ("shippy.vessel.VesselService", "Reserve")
        );
    }

    #[test]
    fn an_instance_address_gives_host_and_port() {
        let peer = Peer::new((), "127.0.0.1:50051");
        assert_eq!((&*peer.host, peer.port), ("127.0.0.1", Some(50051)));
        let peer = Peer::new((), "[::1]:7");
        assert_eq!((&*peer.host, peer.port), ("::1", Some(7)));
    }
}
