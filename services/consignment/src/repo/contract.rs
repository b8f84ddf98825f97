//! The consignment repository contract, run against every adapter with
//! `consignment_repo_contract!`.

use std::sync::Arc;

use shippy_plugins::outbox::Outgoing;
use shippy_plugins::outbox::contract::{outgoing, waiting};

use super::ConsignmentRepository;
use crate::domain::{Consignment, Container};

/// The event that goes with booking `id`.
pub fn booked(id: &str) -> Outgoing {
    outgoing("shippy.log", "alice", &format!("booked {id}"))
}

pub fn consignment(id: &str, owner: &str) -> Consignment {
    Consignment {
        id: id.into(),
        description: format!("goods {id}"),
        weight: 55_000,
        containers: vec![Container {
            id: "c1".into(),
            customer_id: "cust001".into(),
            origin: "Manchester, United Kingdom".into(),
            user_id: "user001".into(),
        }],
        vessel_id: "vessel001".into(),
        user_id: owner.into(),
        status: "booked".into(),
        created_at: "2026-11-21T12:00:00Z".into(),
    }
}

pub async fn a_stored_consignment_comes_back_whole(r: Arc<dyn ConsignmentRepository>) {
    let c = consignment("c1", "alice");
    r.create(&c, &booked("c1")).await.unwrap();
    assert_eq!(r.by_owner("alice").await.unwrap(), vec![c]);
    let pending = waiting(r.outbox().as_ref()).await;
    assert_eq!(pending, vec![booked("c1")], "the event waits beside it");
}

pub async fn owners_see_only_their_own_newest_first(r: Arc<dyn ConsignmentRepository>) {
    for (id, owner) in [("a1", "alice"), ("b1", "bob"), ("a2", "alice")] {
        r.create(&consignment(id, owner), &booked(id))
            .await
            .unwrap();
    }
    let ids: Vec<_> = r
        .by_owner("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["a2", "a1"]);
    assert!(r.by_owner("carol").await.unwrap().is_empty());
}

#[macro_export]
macro_rules! consignment_repo_contract {
    ($make:expr) => {
        $crate::consignment_repo_contract!(@cases $make;
            a_stored_consignment_comes_back_whole,
            owners_see_only_their_own_newest_first,
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
