//! The wire-protocol test servers `make test` starts (`scripts/with-test-servers.sh`): a
//! test that needs one asks here. When it is not running, the test says it is skipped and
//! why, and passes, so `cargo test` works anywhere; `make test` sets
//! `SHIPPY_TEST_SERVERS=required`, and there a missing server fails the test instead, so no
//! test is skipped where they are meant to run.

/// A test server some tests need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestServer {
    /// A MongoDB-wire server (SecantusDB), as `SHIPPY_TEST_MONGO_URI`.
    Mongo,
    /// A Kafka-wire broker (tansu), as `SHIPPY_TEST_KAFKA_BROKERS`, its process id as
    /// `SHIPPY_TEST_KAFKA_PID` (the chaos tests pause it).
    Kafka,
}

impl TestServer {
    /// The variable that carries the server's address.
    pub fn variable(self) -> &'static str {
        match self {
            TestServer::Mongo => "SHIPPY_TEST_MONGO_URI",
            TestServer::Kafka => "SHIPPY_TEST_KAFKA_BROKERS",
        }
    }

    fn what(self) -> &'static str {
        match self {
            TestServer::Mongo => "a MongoDB-wire server",
            TestServer::Kafka => "a Kafka-wire broker",
        }
    }

    /// The server's address, or `None` after saying the test is skipped (see the module).
    ///
    /// # Panics
    ///
    /// When it is missing and the run requires it.
    pub fn address(self) -> Option<String> {
        let value = std::env::var(self.variable())
            .ok()
            .filter(|v| !v.is_empty());
        if value.is_none() {
            let why = format!(
                "{} is not set: this test needs {}, which `make test` starts",
                self.variable(),
                self.what()
            );
            assert!(!required(), "{why}");
            eprintln!("skipped: {why}");
        }
        value
    }

    /// Whether the server is there to test against (see [`TestServer::address`]).
    pub fn present(self) -> bool {
        self.address().is_some()
    }
}

/// Whether every one of `servers` is there (see [`TestServer::address`]).
pub fn all_present(servers: &[TestServer]) -> bool {
    servers.iter().all(|s| s.present())
}

/// Whether this run must have every test server (`SHIPPY_TEST_SERVERS=required`).
pub fn required() -> bool {
    std::env::var("SHIPPY_TEST_SERVERS").is_ok_and(|v| v == "required")
}

/// The Kafka-wire test broker's process id (`SHIPPY_TEST_KAFKA_PID`), when it is running.
pub fn kafka_pid() -> Option<i32> {
    TestServer::Kafka.address()?;
    let pid = std::env::var("SHIPPY_TEST_KAFKA_PID").ok()?.parse().ok();
    assert!(
        pid.is_some() || !required(),
        "SHIPPY_TEST_KAFKA_PID is not a process id"
    );
    pid
}
