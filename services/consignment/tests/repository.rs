//! The consignment repository contract against the SQLite adapter.

use std::sync::Arc;

use shippy_consignment::repo::{ConsignmentRepository, SqliteConsignments};

fn fresh() -> std::path::PathBuf {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep()
        .join("consignments.db")
}

shippy_consignment::consignment_repo_contract!(async {
    Arc::new(SqliteConsignments::open(&fresh()).unwrap()) as Arc<dyn ConsignmentRepository>
});

#[tokio::test]
async fn a_store_from_before_the_saga_opens_with_its_bookings_as_they_were() {
    let path = fresh();
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(
        "CREATE TABLE consignments (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
             user_id TEXT NOT NULL, description TEXT NOT NULL, weight INTEGER NOT NULL,
             vessel_id TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
             containers TEXT NOT NULL);
         INSERT INTO consignments (id, user_id, description, weight, vessel_id, status, created_at, containers)
         VALUES ('c1', 'alice', 'old goods', 100, 'vessel001', 'booked', '2026-01-01T00:00:00Z', '[]'),
                ('c2', 'alice', 'older goods', 200, 'vessel001', 'booked', '2026-01-01T00:00:00Z', '[]');",
    )
    .unwrap();
    drop(old);
    let repo = SqliteConsignments::open(&path).unwrap();
    let list = shippy_consignment::repo::contract::owned(&repo, "alice").await;
    let ids: Vec<_> = list
        .iter()
        .map(|c| (c.id.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(ids, [("c2", "booked"), ("c1", "booked")]);
    assert!(
        repo.unfinished(i64::MAX, i64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    drop(repo);
    SqliteConsignments::open(&path).expect("opening again migrates nothing twice");
}

/// The same contract against the in-memory store the handler tests use, so it cannot drift.
mod memory {
    use std::sync::Arc;

    use shippy_consignment::repo::{ConsignmentRepository, MemoryConsignments};

    shippy_consignment::consignment_repo_contract!(async {
        Arc::new(MemoryConsignments::default()) as Arc<dyn ConsignmentRepository>
    });
}

/// The same contract against MongoDB (the MongoDB-wire test server `make test` starts).
#[cfg(feature = "mongodb")]
mod mongo {
    use std::sync::Arc;

    use shippy_consignment::repo::{ConsignmentRepository, MongoConsignments};
    use shippy_plugins::store::mongo::test_database;
    use shippy_plugins::test_servers::TestServer;

    shippy_consignment::consignment_repo_contract!(needs[TestServer::Mongo], async {
        let db = test_database("consignments").await;
        Arc::new(MongoConsignments::open(&db).await.unwrap()) as Arc<dyn ConsignmentRepository>
    });
}
