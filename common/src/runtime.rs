//! How a service uses its cores: a single-threaded tokio runtime per core, each serving the
//! connections handed to it, rather than one work-stealing runtime across them. A request
//! then lives on one thread from its first byte to its answer (no cross-thread wake-ups,
//! and answers of one connection go out together in fewer writes); measured on one core, a
//! bare tonic server answered about twice as many calls this way (docs/performance.md).
//!
//! [`main`] runs a service's `main` on a single-threaded runtime, which accepts connections
//! and runs the background work (registration, relay, consumers, clients), and starts one
//! worker runtime per core when there is more than one. [`spread`] accepts on a listener
//! and hands each connection, round robin, to a worker (or to the main runtime itself when
//! there are none), as a [`Handed`] stream of connections a tonic or axum server runs on.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

/// The allocator every service binary declares (`#[global_allocator]` in its `main.rs`):
/// mimalloc, whose per-thread free lists serve a request's many small allocations without
/// the locks and consolidation passes of glibc's malloc (docs/performance.md).
pub use mimalloc::MiMalloc as Allocator;

static WORKERS: OnceLock<Vec<Handle>> = OnceLock::new();

/// Runs `body` on a single-threaded runtime, with a worker runtime per core when the
/// process may use more than one (its CPU affinity counts, so a pinned process has none).
pub fn main<F>(body: F) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<()>>,
{
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let workers = if cores > 1 {
        start_workers(cores)?
    } else {
        Vec::new()
    };
    let _ = WORKERS.set(workers);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(body)
}

fn start_workers(n: usize) -> anyhow::Result<Vec<Handle>> {
    (0..n)
        .map(|i| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(runtime.handle().clone()));
                    // Serves what is spawned on it until the process ends.
                    runtime.block_on(std::future::pending::<()>());
                })?;
            Ok(rx.recv()??)
        })
        .collect()
}

/// The runtimes connections are handed to: the workers, or this runtime when there are none.
fn targets() -> Vec<Handle> {
    match WORKERS.get() {
        Some(workers) if !workers.is_empty() => workers.clone(),
        _ => vec![Handle::current()],
    }
}

/// Accepts on `listener` until `stop` turns true, handing each connection (with
/// `TCP_NODELAY`, so small answers go out at once) to a runtime, round robin; answers each
/// runtime with the connections it will be handed. Spawn a server per pair, on its handle.
pub fn spread(listener: TcpListener, mut stop: watch::Receiver<bool>) -> Vec<(Handle, Handed)> {
    let local = listener
        .local_addr()
        .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
    let (senders, pairs): (Vec<_>, Vec<_>) = targets()
        .into_iter()
        .map(|handle| {
            let (tx, rx) = mpsc::channel(64);
            (tx, (handle, Handed { rx, local }))
        })
        .unzip();
    tokio::spawn(async move {
        let mut next = 0usize;
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok(stream) = stream.into_std() else {
                continue;
            };
            let _ = senders[next % senders.len()].send(stream).await;
            next = next.wrapping_add(1);
        }
    });
    pairs
}

/// The connections handed to one runtime: a stream for tonic's `serve_with_incoming`, and
/// an axum `Listener`. Each connection joins the reactor of the runtime that polls it.
#[derive(Debug)]
pub struct Handed {
    rx: mpsc::Receiver<std::net::TcpStream>,
    local: SocketAddr,
}

impl tokio_stream::Stream for Handed {
    type Item = std::io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|s| s.map(TcpStream::from_std))
    }
}

impl axum::serve::Listener for Handed {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some(stream) = self.rx.recv().await else {
                // The acceptor stopped: no more connections, ever.
                return std::future::pending().await;
            };
            if let Ok(stream) = TcpStream::from_std(stream)
                && let Ok(peer) = stream.peer_addr()
            {
                return (stream, peer);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The address a connection handed to an axum server came from, as its `ConnectInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Handed>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Handed>) -> Self {
        Peer(*stream.remote_addr())
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_stream::StreamExt;

    use super::*;

    /// Without workers (as in a test), connections are handed to this runtime, and the
    /// acceptor stops when told.
    #[tokio::test]
    async fn accepted_connections_are_handed_over_intact_until_stopped() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let mut pairs = spread(listener, stopped);
        assert_eq!(pairs.len(), 1);
        let (_, mut handed) = pairs.remove(0);
        let mut client = TcpStream::connect(address).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut server = handed.next().await.unwrap().unwrap();
        assert!(server.nodelay().unwrap());
        let mut got = [0u8; 4];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");

        stop.send(true).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let late = TcpStream::connect(address).await;
        assert!(late.is_err(), "nothing listens once stopped");
    }
}
