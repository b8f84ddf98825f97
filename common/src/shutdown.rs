//! The shutdown signal every process waits on (SIGINT or SIGTERM), and [`Stopping`], which
//! ends long-lived streams when the process stops so a graceful drain does not wait on them.

use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;
use tokio_stream::{Stream, StreamExt};

/// Completes when the process is asked to stop (SIGINT or SIGTERM). The handlers are
/// installed at the call, not when the future is first polled: a service registers itself
/// before it waits on this, and a stop signal arriving in between must not kill it with the
/// default action, still registered.
pub fn signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn received(signal: Option<Signal>) {
            match signal {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            tokio::select! {
                () = received(interrupt) => tracing::info!("interrupt received, shutting down"),
                () = received(terminate) => tracing::info!("terminate received, shutting down"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("interrupt received, shutting down");
    }
}

/// Tells streams the process is stopping. Cheap to clone; built once at start.
#[derive(Clone, Debug)]
pub struct Stopping {
    rx: watch::Receiver<bool>,
}

/// Flips [`Stopping`]; kept by whoever runs the shutdown.
#[derive(Debug)]
pub struct StopHandle {
    tx: watch::Sender<bool>,
}

impl Stopping {
    pub fn new() -> (StopHandle, Stopping) {
        let (tx, rx) = watch::channel(false);
        (StopHandle { tx }, Stopping { rx })
    }

    /// `stream`, ending as soon as the process starts stopping, or when `stream` ends.
    pub fn bound<S>(&self, stream: S) -> impl Stream<Item = S::Item> + Send + use<S>
    where
        S: Stream + Send + 'static,
        S::Item: Send + 'static,
    {
        enum Item<T> {
            Next(T),
            /// The process is stopping, or the stream ended: a merge alone would wait for
            /// the stop signal too.
            End,
        }
        let stops = WatchStream::new(self.rx.clone())
            .filter(|stopping| *stopping)
            .map(|_| Item::End);
        stream
            .map(Item::Next)
            .chain(tokio_stream::once(Item::End))
            .merge(stops)
            .map_while(|item| match item {
                Item::Next(next) => Some(next),
                Item::End => None,
            })
    }
}

impl StopHandle {
    /// Ends every stream bound by the matching [`Stopping`].
    pub fn stop(&self) {
        let _ = self.tx.send(true);
    }
}

/// `signal`, then stop the bound streams: the shutdown future to hand the server.
pub async fn then_stop(signal: impl std::future::Future<Output = ()>, handle: StopHandle) {
    signal.await;
    handle.stop();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_signal_sent_before_anyone_waits_is_still_caught() {
        let stop = signal();
        // Sent before the future is ever polled: with lazily installed handlers the default
        // action would end this test process here.
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), stop)
            .await
            .expect("the signal was caught");
    }

    #[tokio::test]
    async fn a_bound_stream_ends_when_stopping_and_not_before() {
        let (handle, stopping) = Stopping::new();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let mut bound = Box::pin(stopping.bound(tokio_stream::wrappers::ReceiverStream::new(rx)));
        tx.send(1).await.unwrap();
        assert_eq!(bound.next().await, Some(1));
        handle.stop();
        assert_eq!(
            bound.next().await,
            None,
            "ended although the source is still open"
        );
        drop(tx);
    }

    #[tokio::test]
    async fn a_bound_stream_ends_when_its_source_does() {
        let (_handle, stopping) = Stopping::new();
        let mut bound = Box::pin(stopping.bound(tokio_stream::iter([1, 2])));
        assert_eq!(bound.next().await, Some(1));
        assert_eq!(bound.next().await, Some(2));
        let ended = tokio::time::timeout(std::time::Duration::from_secs(5), bound.next()).await;
        assert_eq!(
            ended,
            Ok(None),
            "ended with its source, not at the stop signal"
        );
    }
}
