//! The wire-protocol test servers the system tests share (see
//! `shippy_plugins::test_servers`): MongoDB databases are per test, but there is one Kafka
//! broker, and a chaos test pauses it, so the tests on it take turns.

use std::sync::OnceLock;

use shippy_plugins::test_servers::{self, TestServer};
use tokio::sync::{Mutex, MutexGuard};

/// The Kafka-wire test broker, this test's alone while it is held.
pub struct KafkaTurn {
    /// Its bootstrap address.
    pub brokers: String,
    /// Its process, when known, for tests that pause it.
    pub pid: Option<i32>,
    _turn: MutexGuard<'static, ()>,
}

/// Waits for the Kafka broker's turn; `None` (the test is skipped, saying why) when no broker
/// is running and the run does not require one.
pub async fn kafka() -> Option<KafkaTurn> {
    static TURN: OnceLock<Mutex<()>> = OnceLock::new();
    let brokers = TestServer::Kafka.address()?;
    let turn = TURN.get_or_init(|| Mutex::new(())).lock().await;
    Some(KafkaTurn {
        brokers,
        pid: test_servers::kafka_pid(),
        _turn: turn,
    })
}

/// The MongoDB-wire test server's URI; `None` (the test is skipped, saying why) when none is
/// running and the run does not require one.
pub fn mongo() -> Option<String> {
    TestServer::Mongo.address()
}
