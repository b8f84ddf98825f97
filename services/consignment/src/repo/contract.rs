//! The consignment repository contract, run against every adapter with
//! `consignment_repo_contract!`.

use std::sync::Arc;

use shippy_plugins::outbox::Outgoing;
use shippy_plugins::outbox::contract::{outgoing, waiting};

use super::{ConsignmentRepository, RepoError};
use crate::domain::{Consignment, Container, IdempotencyKey, NewConsignment, Now, Status};

/// The event that goes with booking `id`.
pub fn booked(id: &str) -> Outgoing {
    outgoing("shippy.log", "alice", &format!("booked {id}"))
}

fn at(ms: i64) -> Now {
    Now {
        rfc3339: format!("2026-11-21T12:00:{:02}Z", ms % 60),
        unix_ms: ms,
    }
}

/// A pending booking `id` of `owner`, under key `id`.
pub fn pending(id: &str, owner: &str) -> Consignment {
    let new = NewConsignment::parse(
        &format!("goods {id}"),
        55_000,
        vec![Container {
            id: "c1".into(),
            customer_id: "cust001".into(),
            origin: "Manchester, United Kingdom".into(),
            user_id: "user001".into(),
        }],
    )
    .unwrap();
    let key = IdempotencyKey::parse(Some(id)).unwrap();
    Consignment::pending(id.into(), new, owner, key, &at(1_000))
}

/// A booked consignment `id` of `owner`, as stored.
pub fn consignment(id: &str, owner: &str) -> Consignment {
    pending(id, owner).booked("vessel001", &at(2_000)).unwrap()
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

pub async fn a_booking_moves_on_only_from_the_step_it_was_read_at(
    r: Arc<dyn ConsignmentRepository>,
) {
    let p = pending("c1", "alice");
    r.create(&p, &booked("c1")).await.unwrap();
    let booked_event = outgoing("shippy.log", "alice", "booked");
    let b = p.booked("v1", &at(2_000)).unwrap();
    assert!(
        r.advance(Status::Pending, &b, Some(&booked_event))
            .await
            .unwrap()
    );
    assert_eq!(
        r.get("c1").await.unwrap(),
        Some(b.clone()),
        "stored whole, steps too"
    );
    let rejecting = p.rejecting("no room", &at(3_000)).unwrap();
    assert!(
        !r.advance(Status::Pending, &rejecting, Some(&booked_event))
            .await
            .unwrap(),
        "a second driver that read it pending loses"
    );
    assert_eq!(r.get("c1").await.unwrap().unwrap().status, Status::Booked);
    let events = waiting(r.outbox().as_ref()).await;
    assert_eq!(
        events,
        vec![booked("c1"), booked_event],
        "the losing move wrote no event"
    );
}

pub async fn one_owner_and_key_make_one_booking(r: Arc<dyn ConsignmentRepository>) {
    r.create(&pending("k1", "alice"), &booked("k1"))
        .await
        .unwrap();
    let mut again = pending("k1", "alice");
    again.id = "other-id".into();
    let dup = r.create(&again, &booked("other-id")).await;
    assert!(matches!(dup, Err(RepoError::DuplicateKey)), "{dup:?}");
    let found = r
        .by_key("alice", &again.idempotency_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "k1");
    let mut bobs = pending("k1", "bob");
    bobs.id = "bobs".into();
    r.create(&bobs, &booked("bobs"))
        .await
        .expect("keys are per owner");
    assert_eq!(
        waiting(r.outbox().as_ref()).await.len(),
        2,
        "the refused one enqueued nothing"
    );
}

pub async fn unfinished_bookings_are_found_once_they_stand_still(
    r: Arc<dyn ConsignmentRepository>,
) {
    let p = pending("p", "alice");
    r.create(&p, &booked("p")).await.unwrap();
    let b = pending("b", "alice");
    r.create(&b, &booked("b")).await.unwrap();
    r.advance(Status::Pending, &b.booked("v1", &at(1_500)).unwrap(), None)
        .await
        .unwrap();
    let c = consignment("c", "alice");
    r.create(&pending("c", "alice"), &booked("c"))
        .await
        .unwrap();
    r.advance(Status::Pending, &c, None).await.unwrap();
    r.advance(Status::Booked, &c.cancelling(&at(1_200)).unwrap(), None)
        .await
        .unwrap();
    let ids = |list: Vec<Consignment>| list.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(r.unfinished(5_000, 10).await.unwrap()),
        ["p", "c"],
        "oldest first"
    );
    assert_eq!(ids(r.unfinished(1_100, 10).await.unwrap()), ["p"]);
    assert!(
        r.unfinished(500, 10).await.unwrap().is_empty(),
        "not stale yet"
    );
}

pub async fn a_bookings_events_leave_once_sent_and_its_next_steps_wait_in_order(
    r: Arc<dyn ConsignmentRepository>,
) {
    let outbox = r.outbox();
    for id in ["c1", "c2", "c3"] {
        r.create(&pending(id, "alice"), &booked(id)).await.unwrap();
    }
    let first = outbox.pending(2).await.unwrap();
    let got: Vec<_> = first.iter().map(|p| p.outgoing.clone()).collect();
    assert_eq!(
        got,
        vec![booked("c1"), booked("c2")],
        "oldest first, a batch at most"
    );
    let ids: Vec<String> = first.into_iter().map(|p| p.id).collect();
    outbox.sent(&ids).await.unwrap();
    assert_eq!(waiting(outbox.as_ref()).await, vec![booked("c3")]);

    // The booking whose event left takes its next steps: their events wait, in order.
    let p = pending("c1", "alice");
    let b = p.booked("v1", &at(2_000)).unwrap();
    let (on, off) = (
        outgoing("shippy.log", "alice", "booked"),
        outgoing("shippy.log", "alice", "cancelling"),
    );
    assert!(r.advance(Status::Pending, &b, Some(&on)).await.unwrap());
    let cancelling = b.cancelling(&at(3_000)).unwrap();
    assert!(
        r.advance(Status::Booked, &cancelling, Some(&off))
            .await
            .unwrap()
    );
    assert_eq!(waiting(outbox.as_ref()).await, vec![booked("c3"), on, off]);
    assert_eq!(outbox.backlog().await.unwrap(), 3);
    let ids: Vec<String> = outbox
        .pending(10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    outbox.sent(&ids).await.unwrap();
    assert_eq!(
        outbox.backlog().await.unwrap(),
        0,
        "every event left once sent"
    );
    assert_eq!(
        r.get("c1").await.unwrap(),
        Some(cancelling),
        "the booking itself is untouched by its events leaving"
    );
}

#[macro_export]
macro_rules! consignment_repo_contract {
    // Cases that need test servers (`shippy_plugins::test_servers::TestServer`s): each is
    // skipped, saying why, when one is not running.
    (needs [$($server:expr),*], $make:expr) => {
        $crate::consignment_repo_contract!(@cases [$($server),*] $make;
            a_stored_consignment_comes_back_whole,
            owners_see_only_their_own_newest_first,
            a_booking_moves_on_only_from_the_step_it_was_read_at,
            one_owner_and_key_make_one_booking,
            unfinished_bookings_are_found_once_they_stand_still,
            a_bookings_events_leave_once_sent_and_its_next_steps_wait_in_order,
        );
    };
    ($make:expr) => {
        $crate::consignment_repo_contract!(needs [], $make);
    };
    (@cases $servers:tt $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if !::shippy_plugins::test_servers::all_present(&$servers) {
                    return;
                }
                $crate::repo::contract::$case($make.await).await;
            }
        )+
    };
}
