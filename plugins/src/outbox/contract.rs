//! The outbox contract: what every [`Outbox`] adapter must do. An adapter's test file runs
//! all of it with `outbox_contract!(async { make_outbox() })`; each case wants an empty one.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Outbox, Outgoing};
use crate::broker::Message;

/// An event for `topic` keyed `key` with `payload`.
pub fn outgoing(topic: &str, key: &str, payload: &str) -> Outgoing {
    Outgoing {
        topic: topic.to_owned(),
        message: Message {
            key: key.to_owned(),
            headers: BTreeMap::from([("event-id".to_owned(), format!("{key}-{payload}"))]),
            payload: payload.as_bytes().to_vec(),
        },
    }
}

/// Every event `o` holds, in order (for contracts of repositories that enqueue).
pub async fn waiting(o: &dyn Outbox) -> Vec<Outgoing> {
    o.pending(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.outgoing)
        .collect()
}

pub async fn enqueued_events_wait_in_order_and_intact(o: Arc<dyn Outbox>) {
    let events: Vec<Outgoing> = (0..5)
        .map(|i| outgoing(if i % 2 == 0 { "a" } else { "b" }, "k", &format!("m{i}")))
        .collect();
    for e in &events {
        o.enqueue(e).await.unwrap();
    }
    let pending = o.pending(100).await.unwrap();
    let got: Vec<Outgoing> = pending.into_iter().map(|p| p.outgoing).collect();
    assert_eq!(got, events);
    assert_eq!(o.backlog().await.unwrap(), 5);
}

pub async fn events_enqueued_together_wait_together_in_order(o: Arc<dyn Outbox>) {
    let before = outgoing("log", "k", "before");
    let together = [
        outgoing("log", "k", "logged out"),
        outgoing("revocations", "k", "revoked"),
    ];
    let after = outgoing("log", "k", "after");
    o.enqueue(&before).await.unwrap();
    o.enqueue_all(&together).await.unwrap();
    o.enqueue(&after).await.unwrap();
    let mut expected = vec![before];
    expected.extend(together);
    expected.push(after);
    assert_eq!(waiting(o.as_ref()).await, expected);
    assert_eq!(o.backlog().await.unwrap(), 4);
}

pub async fn a_sent_event_leaves_and_the_rest_stay(o: Arc<dyn Outbox>) {
    for i in 0..3 {
        o.enqueue(&outgoing("t", "k", &format!("m{i}")))
            .await
            .unwrap();
    }
    let first = o.pending(1).await.unwrap();
    assert_eq!(first.len(), 1, "the limit holds");
    o.sent(&[first[0].id.clone()]).await.unwrap();
    let rest: Vec<Vec<u8>> = o
        .pending(100)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.outgoing.message.payload)
        .collect();
    assert_eq!(rest, [b"m1".to_vec(), b"m2".to_vec()]);
    assert_eq!(o.backlog().await.unwrap(), 2);
}

pub async fn sent_events_leave_together_and_only_they(o: Arc<dyn Outbox>) {
    for i in 0..4 {
        o.enqueue(&outgoing("t", "k", &format!("m{i}")))
            .await
            .unwrap();
    }
    let pending = o.pending(10).await.unwrap();
    o.sent(&[pending[0].id.clone(), pending[2].id.clone()])
        .await
        .unwrap();
    let rest: Vec<Vec<u8>> = o
        .pending(10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.outgoing.message.payload)
        .collect();
    assert_eq!(rest, [b"m1".to_vec(), b"m3".to_vec()]);
    assert_eq!(o.backlog().await.unwrap(), 2);
}

pub async fn an_empty_outbox_has_nothing_pending(o: Arc<dyn Outbox>) {
    assert!(o.pending(10).await.unwrap().is_empty());
    assert_eq!(o.backlog().await.unwrap(), 0);
}

/// Runs every case of the outbox contract against the outbox `$make` builds.
#[macro_export]
macro_rules! outbox_contract {
    // Cases that need test servers (`$crate::test_servers::TestServer`s): each is skipped,
    // saying why, when one is not running.
    (needs [$($server:expr),*], $make:expr) => {
        $crate::outbox_contract!(@cases [$($server),*] $make;
            enqueued_events_wait_in_order_and_intact,
            events_enqueued_together_wait_together_in_order,
            a_sent_event_leaves_and_the_rest_stay,
            sent_events_leave_together_and_only_they,
            an_empty_outbox_has_nothing_pending,
        );
    };
    ($make:expr) => {
        $crate::outbox_contract!(needs [], $make);
    };
    (@cases $servers:tt $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if !$crate::test_servers::all_present(&$servers) {
                    return;
                }
                let outbox = $make.await;
                $crate::outbox::contract::$case(outbox).await;
            }
        )+
    };
}
