//! The load generators `make bench` and `shippy load` share: closed loop (N workers, each
//! sends its next request when the last answered: saturation throughput) and fixed rate
//! (requests started on a schedule whatever the answers do, latency measured from the
//! scheduled start, so a stall is not hidden).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub ok: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Latencies of the successful requests, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl Run {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    /// The `q` quantile (0..1) of latency, in microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let last = self.latencies_us.len() - 1;
        let index = ((last as f64) * q).round() as usize;
        self.latencies_us[index.min(last)]
    }

    fn add(&mut self, other: Run) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
    }

    fn finish(mut self, seconds: f64) -> Self {
        self.seconds = seconds;
        self.latencies_us.sort_unstable();
        self
    }
}

/// `concurrency` workers calling `request` back to back for `duration`.
pub async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, request: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let started = Instant::now();
    let until = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut run = Run::default();
                while Instant::now() < until {
                    let sent = Instant::now();
                    if request().await {
                        run.ok += 1;
                        run.latencies_us.push(sent.elapsed().as_micros() as u64);
                    } else {
                        run.errors += 1;
                    }
                }
                run
            })
        })
        .collect();
    let mut total = Run::default();
    for worker in workers {
        total.add(worker.await.unwrap_or_default());
    }
    total.finish(started.elapsed().as_secs_f64())
}

/// `rate` requests a second for `duration`, each started on schedule; at most `cap` in
/// flight (past that, the request counts as an error: the server fell behind).
pub async fn fixed_rate<F, Fut>(rate: f64, duration: Duration, cap: usize, request: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let limit = Limit {
        duration: Some(duration),
        count: None,
    };
    paced(rate, limit, cap, std::future::pending(), request).await
}

/// When a paced run ends, besides a stop: after a time, a number of requests, or both
/// (whichever comes first); neither runs until stopped.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limit {
    pub duration: Option<Duration>,
    pub count: Option<u64>,
}

/// `rate` requests a second, each started on schedule, until `limit` or `stop`; at most
/// `cap` in flight (past that, the request counts as an error: the server fell behind).
/// Requests in flight at the end get up to 10 s to finish.
pub async fn paced<F, Fut>(
    rate: f64,
    limit: Limit,
    cap: usize,
    stop: impl Future<Output = ()>,
    request: F,
) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let started = Instant::now();
    let every = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let by_time = limit
        .duration
        .map(|d| (d.as_secs_f64() * rate).ceil() as u64);
    let total = match (by_time, limit.count) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(u64::MAX),
    };
    let results = Arc::new(Mutex::new(Run::default()));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(cap));
    let finished = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    tokio::pin!(stop);
    for n in 0..total {
        let scheduled = started + every.mul_f64(n as f64);
        tokio::select! {
            () = tokio::time::sleep_until(scheduled) => {}
            () = &mut stop => break,
        }
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            results.lock().await.errors += 1;
            continue;
        };
        let (request, results, finished) = (request.clone(), results.clone(), finished.clone());
        tasks.push(tokio::spawn(async move {
            let ok = request().await;
            let latency = scheduled.elapsed().as_micros() as u64;
            drop(permit);
            if finished.load(Ordering::Relaxed) {
                return;
            }
            let mut r = results.lock().await;
            if ok {
                r.ok += 1;
                r.latencies_us.push(latency);
            } else {
                r.errors += 1;
            }
        }));
        tasks.retain(|t| !t.is_finished());
    }
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    finished.store(true, Ordering::Relaxed);
    let run = std::mem::take(&mut *results.lock().await);
    run.finish(started.elapsed().as_secs_f64())
}
