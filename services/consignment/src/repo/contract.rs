//! The consignment repository contract, run against every adapter with
//! `consignment_repo_contract!`.

use std::sync::Arc;

use shippy_common::paging::PageRequest;
use shippy_common::paging::testing::walk as walk_pages;
use shippy_plugins::outbox::Outgoing;
use shippy_plugins::outbox::contract::{outgoing, waiting};

use super::{ConsignmentRepository, Listed, RepoError};
use crate::domain::{
    Consignment, ConsignmentFilter, Container, IdempotencyKey, NewConsignment, Now, Status,
};

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

/// `owner`'s consignments, the first page of the largest size: all of them in these cases.
pub async fn owned(r: &dyn ConsignmentRepository, owner: &str) -> Vec<Consignment> {
    let filter = ConsignmentFilter::parse(owner, "").unwrap();
    let page = PageRequest::first(shippy_common::paging::MAX_PAGE_SIZE);
    let listed = r.list(&filter, &page).await.unwrap();
    listed.into_iter().map(|(_, c)| c).collect()
}

/// Walks `filter`'s list, `size` a page, storing each of `between` (one per page) after a
/// page; answers the ids seen, in order.
async fn walk(
    r: &dyn ConsignmentRepository,
    filter: &ConsignmentFilter,
    size: usize,
    between: Vec<Consignment>,
) -> Vec<String> {
    let mut between = between.into_iter();
    let rows = walk_pages(
        size,
        |(key, _): &Listed| key.clone(),
        async |page| r.list(filter, page).await.unwrap(),
        async || {
            if let Some(c) = between.next() {
                r.create(&c, &booked(&c.id)).await.unwrap();
            }
        },
    )
    .await;
    rows.into_iter().map(|(_, c)| c.id).collect()
}

pub async fn a_walk_through_the_pages_sees_every_consignment_once_whatever_is_stored_between(
    r: Arc<dyn ConsignmentRepository>,
) {
    let there: Vec<String> = (0..10).map(|i| format!("c{i:02}")).collect();
    for id in &there {
        r.create(&consignment(id, "alice"), &booked(id))
            .await
            .unwrap();
        r.create(&consignment(&format!("{id}-bob"), "bob"), &booked(id))
            .await
            .unwrap();
    }
    let between = (0..4)
        .map(|i| consignment(&format!("new{i}"), "alice"))
        .collect();
    let alices = ConsignmentFilter::parse("alice", "").unwrap();
    let seen = walk(r.as_ref(), &alices, 3, between).await;
    let mut newest_first = there.clone();
    newest_first.reverse();
    assert_eq!(
        seen, newest_first,
        "each of alice's once, newest first; those stored during the walk are newer than \
         where it stands, so it never reaches them"
    );
    let now = owned(r.as_ref(), "alice").await;
    assert_eq!(now.len(), 14, "the new ones are at the top of a new walk");
    assert_eq!(now[0].id, "new3");
}

pub async fn a_walk_by_status_holds_its_filter_on_every_page(r: Arc<dyn ConsignmentRepository>) {
    let mut expected = Vec::new();
    for i in 0..7 {
        let id = format!("c{i}");
        let c = if i % 3 == 0 {
            pending(&id, "alice")
        } else {
            expected.push(id.clone());
            consignment(&id, "alice")
        };
        r.create(&c, &booked(&id)).await.unwrap();
    }
    expected.reverse();
    let booked_only = ConsignmentFilter::parse("alice", "booked").unwrap();
    assert_eq!(walk(r.as_ref(), &booked_only, 2, vec![]).await, expected);
    let pending_only = ConsignmentFilter::parse("alice", "pending").unwrap();
    assert_eq!(
        walk(r.as_ref(), &pending_only, 2, vec![]).await,
        ["c6", "c3", "c0"]
    );
}

pub async fn an_owner_past_their_bookings_in_flight_quota_stores_nothing(
    r: Arc<dyn ConsignmentRepository>,
) {
    for id in ["a1", "a2"] {
        r.create_within(&pending(id, "alice"), &booked(id), 2)
            .await
            .unwrap();
    }
    let past = r
        .create_within(&pending("a3", "alice"), &booked("a3"), 2)
        .await;
    assert!(matches!(past, Err(RepoError::QuotaReached)), "{past:?}");
    r.create_within(&pending("b1", "bob"), &booked("b1"), 2)
        .await
        .expect("each owner has their own");
    // A booking the saga has finished with counts no more.
    let a1 = r.get("a1").await.unwrap().unwrap();
    let done = a1.booked("v1", &at(3_000)).unwrap();
    r.advance(Status::Pending, &done, None).await.unwrap();
    r.create_within(&pending("a3", "alice"), &booked("a3"), 2)
        .await
        .expect("room in the quota again");
}

pub async fn a_stored_consignment_comes_back_whole(r: Arc<dyn ConsignmentRepository>) {
    let c = consignment("c1", "alice");
    r.create(&c, &booked("c1")).await.unwrap();
    assert_eq!(owned(r.as_ref(), "alice").await, vec![c]);
    let pending = waiting(r.outbox().as_ref()).await;
    assert_eq!(pending, vec![booked("c1")], "the event waits beside it");
}

pub async fn owners_see_only_their_own_newest_first(r: Arc<dyn ConsignmentRepository>) {
    for (id, owner) in [("a1", "alice"), ("b1", "bob"), ("a2", "alice")] {
        r.create(&consignment(id, owner), &booked(id))
            .await
            .unwrap();
    }
    let ids: Vec<_> = owned(r.as_ref(), "alice")
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["a2", "a1"]);
    assert!(owned(r.as_ref(), "carol").await.is_empty());
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
        ids(r.unfinished(5_000, 5_000, 10).await.unwrap()),
        ["p", "c"],
        "oldest first"
    );
    assert_eq!(ids(r.unfinished(1_100, 5_000, 10).await.unwrap()), ["p"]);
    assert!(
        r.unfinished(500, 5_000, 10).await.unwrap().is_empty(),
        "not stale yet"
    );
}

pub async fn a_deferred_booking_waits_its_turn_and_never_deferred_ones_go_first(
    r: Arc<dyn ConsignmentRepository>,
) {
    for id in ["old", "older-failing", "new"] {
        r.create(&pending(id, "alice"), &booked(id)).await.unwrap();
    }
    let failing = r.get("older-failing").await.unwrap().unwrap();
    let deferred = failing.deferred(9_000);
    assert!(
        r.defer("older-failing", Status::Pending, &deferred)
            .await
            .unwrap()
    );
    assert!(
        !r.defer("older-failing", Status::Booked, &deferred)
            .await
            .unwrap(),
        "only from the step it was read at"
    );
    let stored = r.get("older-failing").await.unwrap().unwrap();
    assert_eq!((stored.attempts, stored.retry_at_ms), (1, 9_000));
    let ids = |list: Vec<Consignment>| list.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(r.unfinished(5_000, 8_000, 10).await.unwrap()),
        ["old", "new"],
        "not due before 9,000"
    );
    assert_eq!(
        ids(r.unfinished(5_000, 9_000, 10).await.unwrap()),
        ["old", "new", "older-failing"],
        "never deferred first, then by when due"
    );
    // A step taken clears the failures.
    let booked_now = stored.booked("v1", &at(3_000)).unwrap();
    assert!(r.advance(Status::Pending, &booked_now, None).await.unwrap());
    let stored = r.get("older-failing").await.unwrap().unwrap();
    assert_eq!((stored.attempts, stored.retry_at_ms), (0, 0));
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
            an_owner_past_their_bookings_in_flight_quota_stores_nothing,
            a_walk_through_the_pages_sees_every_consignment_once_whatever_is_stored_between,
            a_walk_by_status_holds_its_filter_on_every_page,
            a_booking_moves_on_only_from_the_step_it_was_read_at,
            one_owner_and_key_make_one_booking,
            unfinished_bookings_are_found_once_they_stand_still,
            a_deferred_booking_waits_its_turn_and_never_deferred_ones_go_first,
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
