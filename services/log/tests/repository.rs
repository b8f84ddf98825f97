//! The log repository contract against the SQLite adapter, and the consumer against the
//! embedded broker: events published while nobody consumed are recorded once, in order.

use shippy_common::paging::PageRequest;
use std::sync::Arc;
use std::time::Duration;

use shippy_common::events::{Detail, new_event, to_message};
use shippy_log::repo::{Filter, LogRepository, SqliteLogs};
use shippy_plugins::broker::{Broker, SqliteBroker};

fn fresh(name: &str) -> std::path::PathBuf {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep()
        .join(name)
}

shippy_log::log_repo_contract!(async {
    Arc::new(SqliteLogs::open(&fresh("logs.db")).unwrap()) as Arc<dyn LogRepository>
});

/// Alice's vessel `id`, created: its event.
fn created(id: &str) -> shippy_common::events::LogEvent {
    let detail = Detail::VesselCreated(shippy_proto::log::VesselCreated {
        vessel_id: id.into(),
        name: format!("The {id}"),
        capacity: 1,
        max_weight: 1,
        seeded: false,
    });
    new_event("shippy.vessel", detail, 1, "alice")
}

#[tokio::test]
async fn events_published_before_the_consumer_starts_are_recorded_once_after_a_restart() {
    let broker: Arc<dyn Broker> = Arc::new(SqliteBroker::open(&fresh("broker.db")).unwrap());
    let repo = Arc::new(SqliteLogs::open(&fresh("logs.db")).unwrap());
    let publish = |message: String| {
        let broker = Arc::clone(&broker);
        async move {
            let event = created(&message);
            broker
                .publish("shippy.log", to_message(&event))
                .await
                .unwrap();
        }
    };
    for i in 0..3 {
        publish(format!("vessel {i}")).await;
    }
    let all = Filter {
        user_id: "alice".into(),
        ..Filter::default()
    };

    // A first consumer runs for a while, then dies; a second one picks up from the commit.
    let consume =
        |subscription| tokio::spawn(shippy_log::consumer::run(subscription, repo.clone()));
    let first = consume(broker.subscribe("shippy.log", "g").await.unwrap());
    wait_for_count(repo.as_ref(), &all, 3).await;
    first.abort();
    publish("vessel 3".into()).await;
    let second = consume(broker.subscribe("shippy.log", "g").await.unwrap());
    wait_for_count(repo.as_ref(), &all, 4).await;
    second.abort();

    let subjects: Vec<_> = repo
        .list(&all, &PageRequest::first(100))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.subject)
        .collect();
    assert_eq!(subjects, ["vessel 3", "vessel 2", "vessel 1", "vessel 0"]);
}

#[tokio::test]
async fn the_live_feed_announces_each_new_event_once_and_no_old_one() {
    let broker: Arc<dyn Broker> = Arc::new(SqliteBroker::open(&fresh("broker.db")).unwrap());
    let mut old = created("old");
    old.time_unix_ms -= 60_000;
    let new = created("new");
    let later = created("later");
    // The relay delivers at least once: the new event comes twice.
    for event in [&old, &new, &new, &later] {
        broker
            .publish("shippy.log", to_message(event))
            .await
            .unwrap();
    }
    let (live, mut watched) = tokio::sync::broadcast::channel(16);
    let feed = tokio::spawn(shippy_log::consumer::follow_live(
        broker.subscribe("shippy.log", "live-1").await.unwrap(),
        live,
        new.time_unix_ms - 1_000,
    ));
    let mut announced = Vec::new();
    while announced.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(5), watched.recv())
            .await
            .expect("announced within 5 s")
            .unwrap();
        announced.push(event.subject);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(watched.try_recv().is_err(), "nothing more");
    assert_eq!(announced, ["new", "later"]);
    feed.abort();
}

async fn wait_for_count(repo: &dyn LogRepository, filter: &Filter, n: usize) {
    for _ in 0..100 {
        if repo
            .list(filter, &PageRequest::first(100))
            .await
            .unwrap()
            .len()
            >= n
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} events recorded within 5 s");
}

/// The same contract against the in-memory store the handler tests use, so it cannot drift.
mod memory {
    use std::sync::Arc;

    use shippy_log::repo::{LogRepository, MemoryLogs};

    shippy_log::log_repo_contract!(async {
        Arc::new(MemoryLogs::default()) as Arc<dyn LogRepository>
    });
}

/// The same contract against MongoDB (the MongoDB-wire test server `make test` starts).
#[cfg(feature = "mongodb")]
mod mongo {
    use std::sync::Arc;

    use shippy_log::repo::{LogRepository, MongoLogs};
    use shippy_plugins::store::mongo::test_database;
    use shippy_plugins::test_servers::TestServer;

    shippy_log::log_repo_contract!(needs[TestServer::Mongo], async {
        let db = test_database("logs").await;
        Arc::new(MongoLogs::open(&db).await.unwrap()) as Arc<dyn LogRepository>
    });
}
