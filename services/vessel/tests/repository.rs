//! The vessel repository contract against the SQLite adapter, and seeding.

use std::sync::Arc;

use shippy_common::events::Events;
use shippy_vessel::domain::seed_vessel;
use shippy_vessel::repo::contract::all;
use shippy_vessel::repo::{SqliteVessels, VesselRepository};
use shippy_vessel::seed::seed;

fn fresh() -> std::path::PathBuf {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep()
        .join("vessels.db")
}

shippy_vessel::vessel_repo_contract!(async {
    Arc::new(SqliteVessels::open(&fresh()).unwrap()) as Arc<dyn VesselRepository>
});

#[tokio::test]
async fn an_empty_store_is_seeded_once_with_vessel001() {
    let path = fresh();
    let repo = SqliteVessels::open(&path).unwrap();
    let events = Events::new("shippy.log", "shippy.vessel");
    seed(&repo, &events).await.unwrap();
    seed(&SqliteVessels::open(&path).unwrap(), &events)
        .await
        .unwrap();
    assert_eq!(all(&repo).await, vec![seed_vessel()]);
    assert_eq!(
        repo.outbox().backlog().await.unwrap(),
        1,
        "one seeding, one event"
    );
}

#[tokio::test]
async fn a_store_from_before_reservations_opens_with_every_vessel_empty() {
    let path = fresh();
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(
        "CREATE TABLE vessels (id TEXT PRIMARY KEY, capacity INTEGER NOT NULL,
             max_weight INTEGER NOT NULL, name TEXT NOT NULL, available INTEGER NOT NULL,
             owner_id TEXT NOT NULL);
         CREATE INDEX vessels_by_spec ON vessels (available, capacity, max_weight);
         INSERT INTO vessels VALUES ('old', 7, 7000, 'Old Faithful', 1, 'u1');",
    )
    .unwrap();
    drop(old);
    let repo = SqliteVessels::open(&path).unwrap();
    let v = all(&repo).await.remove(0);
    assert_eq!(
        (v.id.as_str(), v.remaining_capacity, v.remaining_weight),
        ("old", 7, 7000)
    );
    drop(repo);
    SqliteVessels::open(&path).expect("opening again migrates nothing twice");
}

/// The same contract against the in-memory store the handler tests use, so it cannot drift.
mod memory {
    use std::sync::Arc;

    use shippy_vessel::repo::{MemoryVessels, VesselRepository};

    shippy_vessel::vessel_repo_contract!(async {
        Arc::new(MemoryVessels::default()) as Arc<dyn VesselRepository>
    });
}

/// The same contract against MongoDB (the MongoDB-wire test server `make test` starts).
#[cfg(feature = "mongodb")]
mod mongo {
    use std::sync::Arc;

    use shippy_plugins::store::mongo::test_database;
    use shippy_plugins::test_servers::TestServer;
    use shippy_vessel::repo::{MongoVessels, VesselRepository};

    shippy_vessel::vessel_repo_contract!(needs[TestServer::Mongo], async {
        let db = test_database("vessels").await;
        Arc::new(MongoVessels::open(&db).await.unwrap()) as Arc<dyn VesselRepository>
    });
}

/// The quota holds for any interleaving on the embedded store: twelve creates at once from
/// two instances on one file, with room for five, store five.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_from_two_instances_never_pass_the_vessel_quota() {
    let path = fresh();
    let instances = [
        Arc::new(SqliteVessels::open(&path).unwrap()),
        Arc::new(SqliteVessels::open(&path).unwrap()),
    ];
    let creates = (0..12).map(|i| {
        let repo = Arc::clone(&instances[i % 2]);
        tokio::spawn(async move {
            let mut v = shippy_vessel::repo::contract::vessel(&format!("v{i}"), 5, 500, true);
            v.owner_id = "alice".into();
            let event = shippy_vessel::repo::contract::created(&v.id);
            repo.create_within(&v, &event, 5).await
        })
    });
    let mut stored = 0;
    for create in creates.collect::<Vec<_>>() {
        stored += usize::from(create.await.unwrap().is_ok());
    }
    assert_eq!(stored, 5);
    let alices = all(instances[0].as_ref())
        .await
        .into_iter()
        .filter(|v| v.owner_id == "alice")
        .count();
    assert_eq!(alices, 5);
}
