//! A circuit breaker for one instance, made for a balancer: after `failures` calls in a row
//! fail at the transport (refused, reset, timed out) the instance stops reporting ready, so
//! the balancer sends nothing to it; after `open_for` one call, and only one, goes through as
//! a probe (the instance is not ready again until it ends), and its outcome closes or
//! reopens the breaker. A refused connection opens it at once:
//! nothing listens there. An answer with an HTTP 5xx status (an instance or a proxy in front
//! of it that cannot serve, such as an instance failing on a fault flag) is a failure too;
//! answers that carry a gRPC error of the application's own (in an HTTP 200) are not.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};
use tower::Service;

/// When a breaker opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Transport failures in a row that open the breaker.
    pub failures: u32,
    /// How long an open breaker keeps the instance out before a probe.
    pub open_for: Duration,
}

impl From<&crate::config::ClientConfig> for BreakerConfig {
    /// The breaker every instance gets, as the `client` config section sets it.
    fn from(config: &crate::config::ClientConfig) -> Self {
        Self {
            failures: config.breaker_failures,
            open_for: Duration::from_millis(config.breaker_open_ms),
        }
    }
}

/// Whether calls may go to the instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// Open time is over; the next call is the probe.
    HalfOpen,
}

#[derive(Debug)]
struct Shared {
    failures: u32,
    open_until: Option<Instant>,
    /// A half-open probe is in flight: nothing else goes to the instance until it ends.
    probing: bool,
    /// Who is waiting for the probe to end.
    waiting: Vec<Waker>,
}

impl Shared {
    fn probe_ended(&mut self) {
        self.probing = false;
        for waker in self.waiting.drain(..) {
            waker.wake();
        }
    }
}

/// Ends the probe however its call ends, even when the caller gives up on it.
struct ProbeGuard(Arc<Mutex<Shared>>);

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .probe_ended();
    }
}

/// What an answer says about the instance that gave it.
pub trait Answer {
    /// True when the instance itself could not serve.
    fn instance_failed(&self) -> bool;
}

impl<B> Answer for http::Response<B> {
    fn instance_failed(&self) -> bool {
        self.status().is_server_error()
    }
}

impl Answer for () {
    fn instance_failed(&self) -> bool {
        false
    }
}

/// The breaker around one instance's service.
#[derive(Debug)]
pub struct Breaker<S> {
    inner: S,
    config: BreakerConfig,
    /// The gauge `shippy_breaker_open` of this instance (1 while open) and the counter
    /// `shippy_breaker_opened_total` of the times it opened.
    meters: Meters,
    label: Arc<str>,
    shared: Arc<Mutex<Shared>>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<S> Breaker<S> {
    /// Wraps `inner`, an instance of `service` known as `label` in logs and metrics.
    pub fn new(inner: S, config: BreakerConfig, service: &'static str, label: &str) -> Self {
        let labels = [
            ("service", service.to_owned()),
            ("instance", label.to_owned()),
        ];
        let meters = Meters {
            open: metrics::gauge!("shippy_breaker_open", &labels),
            opened: metrics::counter!("shippy_breaker_opened_total", &labels),
        };
        meters.open.set(0.0);
        meters.opened.increment(0);
        Self {
            inner,
            config,
            meters,
            label: label.into(),
            shared: Arc::new(Mutex::new(Shared {
                failures: 0,
                open_until: None,
                probing: false,
                waiting: Vec::new(),
            })),
            sleep: None,
        }
    }

    pub fn state(&self) -> BreakerState {
        let shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        match shared.open_until {
            None => BreakerState::Closed,
            Some(until) if Instant::now() < until => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }
}

/// Whether `error` says nothing listens at the address (no request reached the instance).
fn is_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = e.source();
    }
    false
}

/// A breaker's meters.
#[derive(Clone, Debug)]
struct Meters {
    open: metrics::Gauge,
    opened: metrics::Counter,
}

fn record(
    shared: &Mutex<Shared>,
    config: BreakerConfig,
    (label, meters): (&str, &Meters),
    failed: Option<bool>,
) {
    let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
    match failed {
        None => {
            if s.open_until.is_some() {
                tracing::info!(
                    instance = label,
                    "circuit breaker closed: the probe succeeded"
                );
                meters.open.set(0.0);
            }
            s.failures = 0;
            s.open_until = None;
        }
        Some(refused) => {
            s.failures = if refused {
                config.failures
            } else {
                s.failures.saturating_add(1)
            };
            if s.failures >= config.failures {
                if s.open_until.is_none() {
                    meters.open.set(1.0);
                    meters.opened.increment(1);
                    tracing::warn!(
                        instance = label,
                        failures = s.failures,
                        "circuit breaker open: no calls to this instance for {:?}",
                        config.open_for
                    );
                }
                s.open_until = Some(Instant::now() + config.open_for);
            }
        }
    }
}

impl<S, Req> Service<Req> for Breaker<S>
where
    S: Service<Req>,
    S::Response: Answer,
    S::Error: Into<tower::BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, tower::BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let open_until = {
            let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            if shared.probing {
                shared.waiting.push(cx.waker().clone());
                return Poll::Pending;
            }
            shared.open_until
        };
        if let Some(until) = open_until
            && Instant::now() < until
        {
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
            if sleep.deadline() != until {
                sleep.as_mut().reset(until);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.sleep = None;
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let probe = {
            let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            let half_open = shared
                .open_until
                .is_some_and(|until| Instant::now() >= until);
            shared.probing |= half_open;
            half_open.then(|| ProbeGuard(Arc::clone(&self.shared)))
        };
        let call = self.inner.call(request);
        let (shared, config, label, meters) = (
            Arc::clone(&self.shared),
            self.config,
            Arc::clone(&self.label),
            self.meters.clone(),
        );
        Box::pin(async move {
            let result = call.await.map_err(Into::into);
            let failed = match &result {
                Ok(answer) => answer.instance_failed().then_some(false),
                Err(e) => Some(is_refused(e.as_ref())),
            };
            record(&shared, config, (&label, &meters), failed);
            drop(probe);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use tower::ServiceExt;
    use tower::util::BoxService;

    use super::*;

    fn failing(fail: Arc<AtomicBool>) -> BoxService<(), (), tower::BoxError> {
        BoxService::new(tower::service_fn(move |()| {
            let fail = fail.load(Ordering::SeqCst);
            async move {
                if fail {
                    Err::<(), tower::BoxError>("reset".into())
                } else {
                    Ok(())
                }
            }
        }))
    }

    const CONFIG: BreakerConfig = BreakerConfig {
        failures: 3,
        open_for: Duration::from_secs(5),
    };

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_in_a_row_then_a_probe_closes_it() {
        let fail = Arc::new(AtomicBool::new(true));
        let mut breaker = Breaker::new(failing(fail.clone()), CONFIG, "test", "v1");
        for _ in 0..2 {
            assert!(breaker.ready().await.unwrap().call(()).await.is_err());
        }
        assert_eq!(breaker.state(), BreakerState::Closed, "two are not enough");
        assert!(breaker.ready().await.unwrap().call(()).await.is_err());
        assert_eq!(breaker.state(), BreakerState::Open);

        // Not ready while open: a balancer would pick another instance.
        let ready = tokio::time::timeout(Duration::from_secs(4), breaker.ready()).await;
        assert!(ready.is_err(), "ready while open");
        fail.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.ready().await.unwrap().call(()).await.is_ok());
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_it_again_and_a_success_resets_the_count() {
        let fail = Arc::new(AtomicBool::new(true));
        let mut breaker = Breaker::new(failing(fail.clone()), CONFIG, "test", "v1");
        for _ in 0..3 {
            let _ = breaker.ready().await.unwrap().call(()).await;
        }
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(breaker.ready().await.unwrap().call(()).await.is_err());
        assert_eq!(breaker.state(), BreakerState::Open, "the probe failed");

        let mut fresh = Breaker::new(failing(fail.clone()), CONFIG, "test", "v2");
        for _ in 0..2 {
            let _ = fresh.ready().await.unwrap().call(()).await;
        }
        fail.store(false, Ordering::SeqCst);
        fresh.ready().await.unwrap().call(()).await.unwrap();
        fail.store(true, Ordering::SeqCst);
        for _ in 0..2 {
            let _ = fresh.ready().await.unwrap().call(()).await;
        }
        assert_eq!(fresh.state(), BreakerState::Closed, "not three in a row");
    }

    /// Many callers share one breaker through a buffer, as they share a balancer: when the
    /// open time ends, one call probes the instance and the rest wait for its outcome.
    #[tokio::test(start_paused = true)]
    async fn half_open_lets_one_probe_through_however_many_callers_wait() {
        let fail = Arc::new(AtomicBool::new(true));
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let slow = {
            let (fail, calls) = (fail.clone(), calls.clone());
            BoxService::new(tower::service_fn(move |()| {
                calls.fetch_add(1, Ordering::SeqCst);
                let fail = fail.load(Ordering::SeqCst);
                async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if fail {
                        Err::<(), tower::BoxError>("reset".into())
                    } else {
                        Ok(())
                    }
                }
            }))
        };
        let shared = tower::buffer::Buffer::new(Breaker::new(slow, CONFIG, "test", "v1"), 64);
        for _ in 0..3 {
            let _ = shared.clone().oneshot(()).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        fail.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(6)).await;

        let callers: Vec<_> = (0..20)
            .map(|_| tokio::spawn(shared.clone().oneshot(())))
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "only the probe reaches the instance while it is in flight"
        );
        for caller in callers {
            assert!(caller.await.unwrap().is_ok());
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            23,
            "after the probe, everyone"
        );
    }

    /// An instance answering HTTP 503 (failing on a fault flag, or behind a proxy that
    /// cannot reach it) is failing; one answering a gRPC error in an HTTP 200 is serving.
    #[tokio::test(start_paused = true)]
    async fn http_503_answers_open_it_but_grpc_errors_in_a_200_do_not() {
        let answering = |status: u16| {
            BoxService::new(tower::service_fn(move |()| async move {
                let mut response = http::Response::new(());
                *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
                response
                    .headers_mut()
                    .insert("grpc-status", http::HeaderValue::from_static("14"));
                Ok::<_, tower::BoxError>(response)
            }))
        };
        let mut failing = Breaker::new(answering(503), CONFIG, "test", "sick");
        let mut serving = Breaker::new(answering(200), CONFIG, "test", "fine");
        for _ in 0..3 {
            assert!(failing.ready().await.unwrap().call(()).await.is_ok());
            assert!(serving.ready().await.unwrap().call(()).await.is_ok());
        }
        assert_eq!(failing.state(), BreakerState::Open);
        assert_eq!(serving.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_connection_opens_it_at_once() {
        let refused = BoxService::new(tower::service_fn(|()| async {
            Err::<(), tower::BoxError>(Box::new(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            )))
        }));
        let mut breaker = Breaker::new(refused, CONFIG, "test", "gone");
        assert!(breaker.ready().await.unwrap().call(()).await.is_err());
        assert_eq!(breaker.state(), BreakerState::Open);
    }
}
