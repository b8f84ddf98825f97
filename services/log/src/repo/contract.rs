//! The log repository contract, run against every adapter with `log_repo_contract!`.

use std::sync::Arc;

use super::{Event, Filter, LogRepository};

pub fn event(id: &str, origin: &str, user_id: &str, time_unix_ms: i64) -> Event {
    Event {
        id: id.into(),
        origin: origin.into(),
        method: "Create".into(),
        message: format!("event {id}"),
        user_id: user_id.into(),
        time_unix_ms,
    }
}

fn for_user(user_id: &str) -> Filter {
    Filter {
        user_id: user_id.into(),
        limit: 100,
        ..Filter::default()
    }
}

async fn ids(r: &Arc<dyn LogRepository>, filter: Filter) -> Vec<String> {
    r.list(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

pub async fn an_event_is_stored_once_whatever_the_redeliveries(r: Arc<dyn LogRepository>) {
    let e = event("e1", "shippy.vessel", "alice", 1_000);
    assert!(r.insert(&e).await.unwrap());
    assert!(!r.insert(&e).await.unwrap());
    assert_eq!(r.list(&for_user("alice")).await.unwrap(), vec![e]);
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

pub async fn filters_by_origin_time_and_limit(r: Arc<dyn LogRepository>) {
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
    let two = Filter {
        limit: 2,
        ..for_user("alice")
    };
    assert_eq!(ids(&r, two).await, ["4", "3"]);
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
            filters_by_origin_time_and_limit,
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
