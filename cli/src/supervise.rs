//! Keeps `shippy run`'s services running: one that exits (a crash, a `kill -9`) is reported
//! and started again after a backoff that doubles while it keeps failing, so the failure
//! modes the README describes can be watched with the rest of the system up. The others are
//! never touched; only the stop the caller waits on stops them all.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use shippy_common::Service;

use crate::launcher::{Launch, Running};

/// The first wait before a restart; it doubles after each failure in a row.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait before a restart.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15);
/// A process that ran this long before it exited starts again after [`FIRST_BACKOFF`].
pub const STEADY: Duration = Duration::from_secs(30);
/// How often exits are looked for.
const CHECK_EVERY: Duration = Duration::from_millis(200);

/// One service process and how to start it again.
#[derive(Debug)]
pub struct Supervised {
    launch: Launch,
    service: Service,
    running: Option<Running>,
    /// The running process's id (the child forgets it once it has been reaped).
    pid: u32,
    started: Instant,
    backoff: Duration,
    due: Option<Instant>,
    restarts: u32,
}

impl Supervised {
    /// Watches `running`, which `launch` started.
    pub fn new(launch: Launch, running: Running) -> Self {
        Self {
            launch,
            service: running.service,
            pid: running.pid(),
            running: Some(running),
            started: Instant::now(),
            backoff: FIRST_BACKOFF,
            due: None,
            restarts: 0,
        }
    }

    /// Notices an exit and schedules the restart, or makes a restart that is due.
    fn check(&mut self, now: Instant) {
        let binary = self.service.binary();
        if let Some(running) = self.running.as_mut() {
            let Ok(Some(status)) = running.child.try_wait() else {
                return;
            };
            if now.duration_since(self.started) >= STEADY {
                self.backoff = FIRST_BACKOFF;
            }
            println!(
                "{binary} (pid {}) exited unexpectedly ({status}); starting it again in {:.1?}",
                self.pid, self.backoff
            );
            self.running = None;
            self.schedule(now);
            return;
        }
        if self.due.is_some_and(|due| now >= due) {
            match self.launch.spawn(self.service) {
                Ok(running) => {
                    self.restarts += 1;
                    println!(
                        "{binary} restarted (pid {}, restart {})",
                        running.pid(),
                        self.restarts
                    );
                    self.pid = running.pid();
                    self.running = Some(running);
                    self.started = now;
                    self.due = None;
                }
                Err(error) => {
                    println!("{binary} could not be started again: {error:#}");
                    self.schedule(now);
                }
            }
        }
    }

    fn schedule(&mut self, now: Instant) {
        self.due = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}

/// Keeps every one of `all` running until `stop` completes, then answers those running, for
/// the caller to stop.
pub async fn supervise(mut all: Vec<Supervised>, stop: impl Future<Output = ()>) -> Vec<Running> {
    tokio::pin!(stop);
    let mut every = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = every.tick() => {
                let now = Instant::now();
                for s in &mut all {
                    s.check(now);
                }
            }
        }
    }
    all.into_iter().filter_map(|s| s.running).collect()
}
