//! Where fault flags ([`shippy_plugins::flags`]) meet a service: [`follow`] makes the
//! flags file's flags for this service and instance take effect, and [`FaultsLayer`] plays
//! `<service>.latency_ms` and `<service>.fail_rate` on its gRPC calls. A call struck by
//! `fail_rate` is answered as an instance that cannot serve answers: HTTP 503 carrying
//! UNAVAILABLE, which callers retry elsewhere and their circuit breakers count against the
//! instance (a gRPC error of the application's own travels in an HTTP 200 and does not).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use shippy_plugins::flags::{self, Following};
use tonic::Status;

use crate::Service;
use crate::config::Config;

/// Follows the config's flags file for `service` serving at `address` (as registered), for
/// as long as the answer is kept; `None` when no file is configured.
pub async fn follow(config: &Config, service: Service, address: SocketAddr) -> Option<Following> {
    let path = config.faults.flags_file.clone();
    if path.as_os_str().is_empty() {
        return None;
    }
    let scope = service.key();
    // The gateway keeps no store and publishes nothing.
    let shared: &[&str] = if service == Service::Api {
        &[]
    } else {
        &["broker", "store"]
    };
    let mine = flags::known()
        .filter(|f| {
            let s = f.key.split_once('.').map_or("", |(s, _)| s);
            s == scope || shared.contains(&s)
        })
        .collect();
    let context = flags::Context {
        service: scope.to_owned(),
        instance: crate::registration::advertised(address, &config.registry.advertise_host),
    };
    tracing::info!(path = %path.display(), instance = %context.instance, "following the fault flags file");
    Some(flags::follow(path, context, mine).await)
}

/// Plays `<service>.latency_ms` and `<service>.fail_rate` on a gRPC server's calls (not on
/// its health checks).
#[derive(Clone, Copy, Debug)]
pub struct FaultsLayer {
    fail: &'static str,
    latency: &'static str,
}

impl FaultsLayer {
    /// The layer for `service`'s flags (`vessel.fail_rate`, …).
    pub fn new(service: Service) -> Self {
        let key = |fault: &str| {
            let key = format!("{}.{fault}", service.key());
            flags::find(&key).map_or("", |f| f.key)
        };
        Self {
            fail: key("fail_rate"),
            latency: key("latency_ms"),
        }
    }
}

impl<S> tower::Layer<S> for FaultsLayer {
    type Service = Faults<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Faults { inner, keys: *self }
    }
}

/// See [`FaultsLayer`].
#[derive(Clone, Debug)]
pub struct Faults<S> {
    inner: S,
    keys: FaultsLayer,
}

impl<S, B, RB> tower::Service<http::Request<B>> for Faults<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    RB: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path().starts_with("/grpc.health.") {
            return Box::pin(self.inner.call(request));
        }
        let delay = flags::delay(self.keys.latency);
        if let Some(delay) = delay {
            flags::injected(self.keys.latency, &format!("held the call {delay:?}"));
        }
        let answer: Self::Future = if flags::strikes(self.keys.fail) {
            flags::injected(self.keys.fail, "answered the call UNAVAILABLE");
            let response = unavailable(self.keys.fail);
            Box::pin(async move { Ok(response) })
        } else {
            Box::pin(self.inner.call(request))
        };
        match delay {
            None => answer,
            Some(delay) => Box::pin(async move {
                tokio::time::sleep(delay).await;
                answer.await
            }),
        }
    }
}

/// An instance's refusal to serve: HTTP 503, gRPC UNAVAILABLE naming the flag.
fn unavailable<B: Default>(flag: &str) -> http::Response<B> {
    let mut response = Status::unavailable(format!(
        "this instance is failing on purpose (fault flag {flag})"
    ))
    .into_http::<B>();
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_finds_its_own_flags() {
        let layer = FaultsLayer::new(Service::Vessel);
        assert_eq!(layer.fail, "vessel.fail_rate");
        assert_eq!(layer.latency, "vessel.latency_ms");
        assert_eq!(FaultsLayer::new(Service::Api).fail, "api.fail_rate");
    }

    #[test]
    fn a_struck_call_is_an_http_503_carrying_unavailable() {
        let response = unavailable::<()>("vessel.fail_rate");
        assert_eq!(response.status(), 503);
        let status = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(status.message().contains("vessel.fail_rate"));
    }
}
