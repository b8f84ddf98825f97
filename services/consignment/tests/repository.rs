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

/// The same contract against MongoDB (the MongoDB-wire test server `make test` starts).
mod mongo {
    use std::sync::Arc;

    use shippy_consignment::repo::{ConsignmentRepository, MongoConsignments};
    use shippy_plugins::store::mongo::test_database;

    shippy_consignment::consignment_repo_contract!(async {
        let db = test_database("consignments").await;
        Arc::new(MongoConsignments::open(&db).await.unwrap()) as Arc<dyn ConsignmentRepository>
    });
}
