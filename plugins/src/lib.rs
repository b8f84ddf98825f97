//! Swappable infrastructure, as go-micro's plugins were: each port is a trait with an
//! embedded default on SQLite files, and a contract test suite any other adapter must pass.
//!
//! - [`registry`]: where services announce themselves and find each other.
//! - [`broker`]: durable topics with consumer groups and committed offsets.
//! - [`store`]: the SQLite and MongoDB plumbing the services' repositories are built on.
//! - [`outbox`]: events stored with their writes and relayed to the broker afterwards.
//! - [`flags`]: fault flags, read from a flagd file and followed as it changes.
//! - [`spans`]: the PRODUCER and CONSUMER spans of messages, as OpenTelemetry names them.
//! - [`task`]: background tasks that stop when their handle is dropped.
//! - [`test_servers`]: which wire-protocol test servers are running, for tests that need one.

pub mod broker;
pub mod flags;
pub mod outbox;
pub mod registry;
pub mod spans;
pub mod store;
pub mod task;
#[cfg(any(test, feature = "testing"))]
pub mod test_servers;

/// Milliseconds since the Unix epoch, the time unit the embedded adapters store.
pub fn now_unix_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
