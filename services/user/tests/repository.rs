//! The user repository contract against the SQLite and MongoDB adapters, and what survives
//! a reopen.

use std::sync::Arc;

use shippy_user::repo::{SqliteUsers, UserRepository, contract};

fn fresh() -> std::path::PathBuf {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep()
        .join("users.db")
}

shippy_user::user_repo_contract!(async {
    Arc::new(SqliteUsers::open(&fresh()).unwrap()) as Arc<dyn UserRepository>
});

#[tokio::test]
async fn users_survive_reopening_the_file() {
    let path = fresh();
    SqliteUsers::open(&path)
        .unwrap()
        .create(
            &contract::stored("u1", "a@example.com"),
            &contract::signed_up("u1"),
        )
        .await
        .unwrap();
    let again = SqliteUsers::open(&path).unwrap();
    assert!(again.get("u1").await.unwrap().is_some());
    assert_eq!(
        again.outbox().backlog().await.unwrap(),
        1,
        "an unsent event survives too"
    );
}

/// The same contract against MongoDB (the MongoDB-wire test server `make test` starts).
#[cfg(feature = "mongodb")]
mod mongo {
    use std::sync::Arc;

    use shippy_plugins::store::mongo::test_database;
    use shippy_plugins::test_servers::TestServer;
    use shippy_user::repo::{MongoUsers, UserRepository};

    shippy_user::user_repo_contract!(needs[TestServer::Mongo], async {
        let db = test_database("users").await;
        Arc::new(MongoUsers::open(&db).await.unwrap()) as Arc<dyn UserRepository>
    });
}

/// The same contract against the in-memory store the handler tests use, so it cannot drift.
mod memory {
    use std::sync::Arc;

    use shippy_user::repo::{MemoryUsers, UserRepository};

    shippy_user::user_repo_contract!(async {
        Arc::new(MemoryUsers::default()) as Arc<dyn UserRepository>
    });
}
