//! The vessel repository contract against the SQLite adapter, and seeding.

use std::sync::Arc;

use shippy_vessel::domain::{seed, seed_vessel};
use shippy_vessel::repo::{SqliteVessels, VesselRepository};

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
    seed(&repo).await.unwrap();
    seed(&SqliteVessels::open(&path).unwrap()).await.unwrap();
    assert_eq!(repo.list().await.unwrap(), vec![seed_vessel()]);
}
