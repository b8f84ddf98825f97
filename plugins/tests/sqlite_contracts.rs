//! The registry and broker contract suites against the embedded SQLite adapters.

use std::sync::Arc;

use shippy_plugins::broker::{Broker, SqliteBroker};
use shippy_plugins::registry::{Registry, SqliteRegistry};

/// A fresh file in a temporary directory that lives as long as the test process.
fn fresh_path(name: &str) -> std::path::PathBuf {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    dir.join(name)
}

mod registry {
    use super::*;
    shippy_plugins::registry_contract!(async {
        Arc::new(SqliteRegistry::open(&fresh_path("registry.db")).unwrap()) as Arc<dyn Registry>
    });
}

mod broker {
    use super::*;
    shippy_plugins::broker_contract!(async {
        Arc::new(SqliteBroker::open(&fresh_path("broker.db")).unwrap()) as Arc<dyn Broker>
    });
}

#[tokio::test]
async fn two_processes_sharing_the_registry_file_see_one_another() {
    let path = fresh_path("shared.db");
    let a = SqliteRegistry::open(&path).unwrap();
    let b = SqliteRegistry::open(&path).unwrap();
    let i = shippy_plugins::registry::contract::instance("shippy.user", "x");
    a.register(&i, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(b.healthy("shippy.user").await.unwrap(), vec![i]);
}
