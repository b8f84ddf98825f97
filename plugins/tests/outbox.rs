//! The outbox contract against SQLite and MongoDB (the MongoDB-wire server `make test`
//! starts), and the relay: events wait while the broker is down and all arrive, in order,
//! once it is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shippy_plugins::broker::{Broker, BrokerError, Message, SqliteBroker, Subscription};
use shippy_plugins::outbox::contract::outgoing;
use shippy_plugins::outbox::{Outbox, Relay, RelayConfig, SqliteOutbox};
use shippy_plugins::store::SqliteDb;

fn fresh_dir() -> std::path::PathBuf {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep()
}

fn sqlite_outbox() -> Arc<dyn Outbox> {
    let db = SqliteDb::open(
        &fresh_dir().join("service.db"),
        shippy_plugins::outbox::sqlite::SCHEMA,
    )
    .unwrap();
    Arc::new(SqliteOutbox::new(db))
}

mod sqlite {
    use super::*;
    shippy_plugins::outbox_contract!(async { sqlite_outbox() });
}

/// The in-memory outbox the services' handler tests use.
mod memory {
    use super::*;
    shippy_plugins::outbox_contract!(async {
        Arc::new(shippy_plugins::outbox::MemoryOutbox::default()) as Arc<dyn Outbox>
    });
}

#[cfg(feature = "mongodb")]
mod mongo {
    use shippy_plugins::outbox::MongoOutbox;
    use shippy_plugins::test_servers::TestServer;

    use super::*;
    shippy_plugins::outbox_contract!(needs[TestServer::Mongo], async {
        let db = shippy_plugins::store::mongo::test_database("outbox").await;
        Arc::new(MongoOutbox::open(&db, "outbox").await.unwrap()) as Arc<dyn Outbox>
    });

    /// Many writes with their events at once, as under load: transactions that conflict are
    /// run again, so every write and every event is stored, once.
    #[tokio::test]
    async fn concurrent_writes_with_events_all_land() {
        if !TestServer::Mongo.present() {
            return;
        }
        let db = shippy_plugins::store::mongo::test_database("outbox_load").await;
        let outbox = Arc::new(MongoOutbox::open(&db, "outbox").await.unwrap());
        let things = db.collection::<mongodb::bson::Document>("things");
        let writes = (0..40).map(|i| {
            let (outbox, things) = (Arc::clone(&outbox), things.clone());
            tokio::spawn(async move {
                let event = outgoing("t", &format!("k{i}"), "p");
                outbox
                    .insert_with(&things, mongodb::bson::doc! { "_id": i }, &event)
                    .await
            })
        });
        for (i, write) in writes.collect::<Vec<_>>().into_iter().enumerate() {
            write
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("write {i}: {e}"));
        }
        assert_eq!(
            things
                .count_documents(mongodb::bson::doc! {})
                .await
                .unwrap(),
            40
        );
        assert_eq!(outbox.backlog().await.unwrap(), 40);
    }
}

/// A real (SQLite) broker that can be switched off, as a broker outage would, and counts
/// the broker calls that published.
struct Switchable {
    inner: SqliteBroker,
    down: AtomicBool,
    calls: AtomicUsize,
}

impl Switchable {
    fn new(down: bool) -> Arc<Self> {
        Arc::new(Self {
            inner: SqliteBroker::open(&fresh_dir().join("broker.db")).unwrap(),
            down: AtomicBool::new(down),
            calls: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl Broker for Switchable {
    fn system(&self) -> &'static str {
        self.inner.system()
    }

    async fn publish(&self, topic: &str, message: Message) -> Result<(), BrokerError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BrokerError::Unavailable("switched off".into()));
        }
        self.publish_all(vec![(topic.to_owned(), message)]).await
    }

    async fn publish_all(&self, messages: Vec<(String, Message)>) -> Result<(), BrokerError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BrokerError::Unavailable("switched off".into()));
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.publish_all(messages).await
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BrokerError> {
        self.inner.subscribe(topic, group).await
    }
}

async fn next_payload(sub: &mut Box<dyn Subscription>) -> String {
    let d = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("a message within 10 s")
        .unwrap();
    String::from_utf8(d.message.payload).unwrap()
}

/// Writes m0 to m4 to `outbox` on topic `t`, as a service does (each commit wakes the relay).
async fn write_five(outbox: &Arc<dyn Outbox>) {
    for i in 0..5 {
        outbox
            .enqueue(&outgoing("t", "k", &format!("m{i}")))
            .await
            .unwrap();
    }
}

/// The first five payloads on topic `t`, for a new group.
async fn five_payloads(broker: &dyn Broker) -> Vec<String> {
    let mut sub = broker.subscribe("t", "g").await.unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(next_payload(&mut sub).await);
    }
    got
}

const FAST: RelayConfig = RelayConfig {
    poll: Duration::from_millis(50),
    max_backoff: Duration::from_millis(200),
    batch: 2,
    gather: Duration::ZERO,
};

#[tokio::test]
async fn the_relay_holds_events_while_the_broker_is_down_and_delivers_all_in_order_after() {
    let broker = Switchable::new(true);
    let outbox = sqlite_outbox();
    let _relay = Relay::start(Arc::clone(&outbox), broker.clone(), FAST);
    write_five(&outbox).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        outbox.backlog().await.unwrap(),
        5,
        "nothing is dropped while down"
    );

    broker.down.store(false, Ordering::SeqCst);
    assert_eq!(
        five_payloads(broker.as_ref()).await,
        ["m0", "m1", "m2", "m3", "m4"]
    );
    for _ in 0..50 {
        if outbox.backlog().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        outbox.backlog().await.unwrap(),
        0,
        "every sent event leaves"
    );
}

/// Writes right behind one another go to the broker in one call, not one call each.
#[tokio::test]
async fn events_written_together_are_published_together() {
    let broker = Switchable::new(false);
    let outbox = sqlite_outbox();
    let config = RelayConfig {
        gather: Duration::from_millis(300),
        batch: 100,
        ..FAST
    };
    let _relay = Relay::start(Arc::clone(&outbox), broker.clone(), config);
    write_five(&outbox).await;
    assert_eq!(
        five_payloads(broker.as_ref()).await,
        ["m0", "m1", "m2", "m3", "m4"]
    );
    assert_eq!(
        broker.calls.load(Ordering::SeqCst),
        1,
        "one broker call for the five"
    );
}

#[tokio::test]
async fn a_relay_started_later_sends_what_an_earlier_process_left() {
    let broker: Arc<dyn Broker> =
        Arc::new(SqliteBroker::open(&fresh_dir().join("broker.db")).unwrap());
    let outbox = sqlite_outbox();
    outbox.enqueue(&outgoing("t", "k", "left")).await.unwrap();
    let _relay = Relay::start(Arc::clone(&outbox), Arc::clone(&broker), FAST);
    let mut sub = broker.subscribe("t", "g").await.unwrap();
    assert_eq!(next_payload(&mut sub).await, "left");
}

/// A repository's write that enqueues inside its own transaction wakes the relay by
/// committing: no one calls the relay, and it would not look by itself for a minute.
#[tokio::test]
async fn a_committed_write_with_an_event_wakes_the_relay_by_itself() {
    let broker: Arc<dyn Broker> =
        Arc::new(SqliteBroker::open(&fresh_dir().join("broker.db")).unwrap());
    let db = SqliteDb::open(
        &fresh_dir().join("service.db"),
        &format!(
            "CREATE TABLE rows (id TEXT PRIMARY KEY);{}",
            shippy_plugins::outbox::sqlite::SCHEMA
        ),
    )
    .unwrap();
    let config = RelayConfig {
        poll: Duration::from_secs(60),
        ..FAST
    };
    let outbox: Arc<dyn Outbox> = Arc::new(SqliteOutbox::new(db.clone()));
    let _relay = Relay::start(outbox, Arc::clone(&broker), config);
    let mut sub = broker.subscribe("t", "g").await.unwrap();
    // Past the relay's first look at start.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for id in ["r1", "r2"] {
        let event = outgoing("t", "k", id);
        db.write(move |tx| {
            tx.execute("INSERT INTO rows (id) VALUES (?1)", [id])?;
            shippy_plugins::outbox::sqlite::enqueue(tx, &event)
        })
        .await
        .unwrap();
        assert_eq!(next_payload(&mut sub).await, id);
    }
}

/// A real (SQLite) outbox that counts how often the relay looks into it.
struct Counted {
    inner: Arc<dyn Outbox>,
    looks: AtomicUsize,
}

#[async_trait]
impl Outbox for Counted {
    async fn enqueue_all(
        &self,
        outgoing: &[shippy_plugins::outbox::Outgoing],
    ) -> Result<(), shippy_plugins::outbox::OutboxError> {
        self.inner.enqueue_all(outgoing).await
    }

    async fn pending(
        &self,
        limit: usize,
    ) -> Result<Vec<shippy_plugins::outbox::Pending>, shippy_plugins::outbox::OutboxError> {
        self.looks.fetch_add(1, Ordering::SeqCst);
        self.inner.pending(limit).await
    }

    async fn sent(&self, ids: &[String]) -> Result<(), shippy_plugins::outbox::OutboxError> {
        self.inner.sent(ids).await
    }

    async fn backlog(&self) -> Result<u64, shippy_plugins::outbox::OutboxError> {
        self.inner.backlog().await
    }

    fn committed(&self) -> Arc<tokio::sync::Notify> {
        self.inner.committed()
    }
}

/// A batch smaller than the relay takes was all there was: the relay publishes it and waits
/// for the next write, without reading the outbox once more to find it empty; a full batch
/// is followed by another look, for what did not fit.
#[tokio::test]
async fn the_relay_looks_again_only_after_a_full_batch() {
    let broker = Switchable::new(false);
    let outbox = Arc::new(Counted {
        inner: sqlite_outbox(),
        looks: AtomicUsize::new(0),
    });
    let config = RelayConfig {
        poll: Duration::from_secs(60),
        batch: 5,
        ..FAST
    };
    let _relay = Relay::start(
        Arc::clone(&outbox) as Arc<dyn Outbox>,
        broker.clone(),
        config,
    );
    let (first, second) = (
        ["a0", "a1", "a2"].map(|p| outgoing("t", "k", p)),
        ["b0", "b1", "b2", "b3", "b4"].map(|p| outgoing("t", "k", p)),
    );
    let mut sub = broker.subscribe("t", "g").await.unwrap();
    // At start it looks once and finds nothing; the three are one more look.
    outbox.enqueue_all(&first).await.unwrap();
    for want in ["a0", "a1", "a2"] {
        assert_eq!(next_payload(&mut sub).await, want);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_first = outbox.looks.load(Ordering::SeqCst);
    // Five fill the batch, so one more look finds the outbox empty.
    outbox.enqueue_all(&second).await.unwrap();
    for want in ["b0", "b1", "b2", "b3", "b4"] {
        assert_eq!(next_payload(&mut sub).await, want);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_second = outbox.looks.load(Ordering::SeqCst);
    assert_eq!(
        (after_first, after_second - after_first),
        (2, 2),
        "looks for the short batch (with the first at start), then for the full one"
    );
}
