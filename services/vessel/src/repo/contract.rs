//! The vessel repository contract, run against every adapter with `vessel_repo_contract!`.

use std::sync::Arc;

use shippy_plugins::outbox::Outgoing;
use shippy_plugins::outbox::contract::{outgoing, waiting};

use super::{RepoError, VesselRepository};
use crate::domain::{Specification, Vessel};

/// The event that goes with creating `id`.
pub fn created(id: &str) -> Outgoing {
    outgoing("shippy.log", "owner", &format!("created {id}"))
}

pub fn vessel(id: &str, capacity: i32, max_weight: i32, available: bool) -> Vessel {
    Vessel {
        id: id.into(),
        capacity,
        max_weight,
        name: format!("ship {id}"),
        available,
        owner_id: "owner".into(),
    }
}

fn spec(capacity: i32, max_weight: i32) -> Specification {
    Specification {
        capacity,
        max_weight,
    }
}

pub async fn the_smallest_available_vessel_that_fits_is_found(r: Arc<dyn VesselRepository>) {
    r.create(&vessel("big", 20_000, 199_000_000, true), &created("big"))
        .await
        .unwrap();
    r.create(&vessel("mid", 500, 200_000, true), &created("mid"))
        .await
        .unwrap();
    r.create(&vessel("small", 50, 60_000, true), &created("small"))
        .await
        .unwrap();
    r.create(&vessel("idle", 10, 1_000, false), &created("idle"))
        .await
        .unwrap();
    let found = |c, w| {
        let r = Arc::clone(&r);
        async move { r.find_available(spec(c, w)).await.unwrap().map(|v| v.id) }
    };
    assert_eq!(found(3, 55_000).await.as_deref(), Some("small"));
    assert_eq!(found(3, 61_000).await.as_deref(), Some("mid"));
    assert_eq!(found(501, 1).await.as_deref(), Some("big"));
    assert_eq!(
        found(1, 500).await.as_deref(),
        Some("small"),
        "unavailable vessels never fit"
    );
    assert_eq!(found(20_001, 1).await, None);
}

pub async fn a_created_vessel_is_listed_with_every_field(r: Arc<dyn VesselRepository>) {
    let v = vessel("v1", 5, 500, true);
    r.create(&v, &created("v1")).await.unwrap();
    assert_eq!(r.list().await.unwrap(), vec![v]);
}

pub async fn a_create_enqueues_its_event_and_a_refused_one_enqueues_none(
    r: Arc<dyn VesselRepository>,
) {
    let outbox = r.outbox();
    r.create(&vessel("v1", 5, 500, true), &created("v1"))
        .await
        .unwrap();
    let dup = outgoing("shippy.log", "owner", "duplicate");
    assert!(r.create(&vessel("v1", 6, 600, true), &dup).await.is_err());
    let pending = waiting(outbox.as_ref()).await;
    assert_eq!(pending, vec![created("v1")]);
}

pub async fn a_duplicate_id_is_refused(r: Arc<dyn VesselRepository>) {
    r.create(&vessel("v1", 5, 500, true), &created("v1"))
        .await
        .unwrap();
    let dup = r.create(&vessel("v1", 6, 600, true), &created("v1")).await;
    assert!(matches!(dup, Err(RepoError::DuplicateId)), "{dup:?}");
    assert_eq!(r.list().await.unwrap()[0].capacity, 5);
}

#[macro_export]
macro_rules! vessel_repo_contract {
    ($make:expr) => {
        $crate::vessel_repo_contract!(@cases $make;
            the_smallest_available_vessel_that_fits_is_found,
            a_created_vessel_is_listed_with_every_field,
            a_create_enqueues_its_event_and_a_refused_one_enqueues_none,
            a_duplicate_id_is_refused,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::repo::contract::$case($make.await).await;
            }
        )+
    };
}
