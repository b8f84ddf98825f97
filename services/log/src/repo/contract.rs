//! The log repository contract, run against every adapter with `log_repo_contract!`.

use std::sync::Arc;

use shippy_common::paging::PageRequest;
use shippy_common::paging::testing::walk as walk_pages;

use shippy_common::events::Detail;

use super::{Event, Filter, LogRepository};

pub fn event(id: &str, origin: &str, user_id: &str, time_unix_ms: i64) -> Event {
    Event {
        id: id.into(),
        origin: origin.into(),
        method: "Create".into(),
        message: format!("event {id}"),
        user_id: user_id.into(),
        time_unix_ms,
        subject: String::new(),
        sequence: 0,
        detail: None,
    }
}

fn for_user(user_id: &str) -> Filter {
    Filter {
        user_id: user_id.into(),
        ..Filter::default()
    }
}

/// The first page of 100: every event in these small cases.
async fn first(r: &Arc<dyn LogRepository>, filter: &Filter) -> Vec<Event> {
    r.list(filter, &PageRequest::first(100)).await.unwrap()
}

async fn ids(r: &Arc<dyn LogRepository>, filter: Filter) -> Vec<String> {
    first(r, &filter).await.into_iter().map(|e| e.id).collect()
}

/// Walks `filter`'s events, `size` a page, storing each of `between` (one per page) after a
/// page; answers the ids seen, in order.
async fn walk(
    r: &Arc<dyn LogRepository>,
    filter: &Filter,
    size: usize,
    between: Vec<Event>,
) -> Vec<String> {
    let mut between = between.into_iter();
    let rows = walk_pages(
        size,
        Event::key,
        async |page| r.list(filter, page).await.unwrap(),
        async || {
            if let Some(e) = between.next() {
                r.insert(&e).await.unwrap();
            }
        },
    )
    .await;
    rows.into_iter().map(|e| e.id).collect()
}

pub async fn an_event_is_stored_once_whatever_the_redeliveries(r: Arc<dyn LogRepository>) {
    let e = event("e1", "shippy.vessel", "alice", 1_000);
    assert!(r.insert(&e).await.unwrap());
    assert!(!r.insert(&e).await.unwrap());
    assert_eq!(first(&r, &for_user("alice")).await, vec![e]);
}

pub async fn a_batch_stores_each_event_once_and_counts_the_new_ones(r: Arc<dyn LogRepository>) {
    let old = event("e1", "o", "alice", 1);
    r.insert(&old).await.unwrap();
    let batch = [
        old.clone(),
        event("e2", "o", "alice", 2),
        event("e3", "o", "bob", 3),
        event("e2", "o", "alice", 2),
    ];
    assert_eq!(r.insert_all(&batch).await.unwrap(), 2);
    assert_eq!(
        r.insert_all(&batch).await.unwrap(),
        0,
        "a redelivered batch"
    );
    assert_eq!(ids(&r, for_user("alice")).await, ["e2", "e1"]);
    assert_eq!(ids(&r, for_user("bob")).await, ["e3"]);
    assert_eq!(r.insert_all(&[]).await.unwrap(), 0);
}

pub async fn events_list_newest_first_for_their_user_only(r: Arc<dyn LogRepository>) {
    for e in [
        event("a1", "o", "alice", 1),
        event("b1", "o", "bob", 2),
        event("a2", "o", "alice", 3),
    ] {
        r.insert(&e).await.unwrap();
    }
    assert_eq!(ids(&r, for_user("alice")).await, ["a2", "a1"]);
}

pub async fn filters_by_origin_and_time_hold_on_every_page(r: Arc<dyn LogRepository>) {
    for (id, origin, t) in [
        ("1", "shippy.user", 10),
        ("2", "shippy.vessel", 20),
        ("3", "shippy.vessel", 30),
        ("4", "shippy.consignment", 40),
    ] {
        r.insert(&event(id, origin, "alice", t)).await.unwrap();
    }
    let vessel = Filter {
        origin: Some("shippy.vessel".into()),
        ..for_user("alice")
    };
    assert_eq!(ids(&r, vessel).await, ["3", "2"]);
    let window = Filter {
        since_unix_ms: Some(20),
        until_unix_ms: Some(40),
        ..for_user("alice")
    };
    assert_eq!(ids(&r, window).await, ["3", "2"]);
    let vessel_walk = Filter {
        origin: Some("shippy.vessel".into()),
        ..for_user("alice")
    };
    assert_eq!(walk(&r, &vessel_walk, 1, vec![]).await, ["3", "2"]);
}

pub async fn trimming_deletes_only_what_is_older(r: Arc<dyn LogRepository>) {
    for (id, t) in [("old", 10), ("edge", 20), ("new", 30)] {
        r.insert(&event(id, "o", "alice", t)).await.unwrap();
    }
    assert_eq!(r.trim(20).await.unwrap(), 1);
    assert_eq!(ids(&r, for_user("alice")).await, ["new", "edge"]);
    assert_eq!(r.trim(20).await.unwrap(), 0, "nothing twice");
}

pub async fn a_walk_through_the_pages_sees_every_event_once_whatever_is_stored_between(
    r: Arc<dyn LogRepository>,
) {
    // Ties in time, so the id decides; and bob's, which alice never sees.
    let mut expected = Vec::new();
    for i in 0..12 {
        let e = event(&format!("e{i:02}"), "o", "alice", 100 + i / 3);
        r.insert(&e).await.unwrap();
        r.insert(&event(&format!("b{i:02}"), "o", "bob", 100 + i))
            .await
            .unwrap();
        expected.push(e);
    }
    expected.sort_by_key(|e| std::cmp::Reverse(e.key()));
    // Stored during the walk: newer than all (the feed goes on), and old ones arriving late
    // (a broker redelivering), before and among the ties.
    let between = vec![
        event("late-a", "o", "alice", 50),
        event("new", "o", "alice", 500),
        event("e02x", "o", "alice", 100),
        event("late-b", "o", "alice", 102),
    ];
    let seen = walk(&r, &for_user("alice"), 5, between).await;
    let there: Vec<String> = expected.iter().map(|e| e.id.clone()).collect();
    let walked: Vec<String> = seen
        .iter()
        .filter(|id| there.contains(id))
        .cloned()
        .collect();
    assert_eq!(
        walked, there,
        "each of alice's once, newest first: {seen:?}"
    );
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "nothing twice: {seen:?}");
}

/// Alice's booking `c1`'s step `sequence`, as its event: `id` and `detail` given, all in one
/// millisecond.
fn step(id: &str, sequence: i64, detail: Detail) -> Event {
    Event {
        subject: "c1".into(),
        sequence,
        detail: Some(detail),
        ..event(id, "shippy.consignment", "alice", 1_000)
    }
}

pub async fn a_bookings_steps_in_one_millisecond_list_in_the_order_they_happened_with_their_detail(
    r: Arc<dyn LogRepository>,
) {
    use shippy_proto::log as pb;
    let pending = Detail::ConsignmentPending(pb::ConsignmentPending {
        consignment_id: "c1".into(),
        description: "pallets".into(),
        containers: 3,
        weight: 55_000,
    });
    let reserved = Detail::CapacityReserved(pb::CapacityReserved {
        vessel_id: "v1".into(),
        consignment_id: "c1".into(),
        containers: 3,
        weight: 55_000,
    });
    let booked = Detail::ConsignmentBooked(pb::ConsignmentBooked {
        consignment_id: "c1".into(),
        vessel_id: "v1".into(),
    });
    // Ids in the reverse of the steps' order: only the sequence can order them.
    let stored = vec![
        step("e-c", 1, pending),
        step("e-b", 2, reserved),
        step("e-a", 3, booked),
    ];
    assert_eq!(r.insert_all(&stored).await.unwrap(), 3);
    let listed = first(&r, &for_user("alice")).await;
    let newest_first: Vec<Event> = stored.into_iter().rev().collect();
    assert_eq!(listed, newest_first, "every field back, newest step first");
    // Paged one at a time, the order holds across pages.
    let walked = walk(&r, &for_user("alice"), 1, Vec::new()).await;
    assert_eq!(walked, ["e-a", "e-b", "e-c"]);
}

#[macro_export]
macro_rules! log_repo_contract {
    // Cases that need test servers (`shippy_plugins::test_servers::TestServer`s): each is
    // skipped, saying why, when one is not running.
    (needs [$($server:expr),*], $make:expr) => {
        $crate::log_repo_contract!(@cases [$($server),*] $make;
            an_event_is_stored_once_whatever_the_redeliveries,
            a_batch_stores_each_event_once_and_counts_the_new_ones,
            events_list_newest_first_for_their_user_only,
            filters_by_origin_and_time_hold_on_every_page,
            a_walk_through_the_pages_sees_every_event_once_whatever_is_stored_between,
            trimming_deletes_only_what_is_older,
            a_bookings_steps_in_one_millisecond_list_in_the_order_they_happened_with_their_detail,
        );
    };
    ($make:expr) => {
        $crate::log_repo_contract!(needs [], $make);
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
