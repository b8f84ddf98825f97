//! The broker contract: what every [`Broker`] adapter must do. An adapter's test file runs
//! all of it with `broker_contract!(async { make_broker() })`. Each case uses its own topic
//! names so adapters backed by a shared server can run the cases side by side.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Broker, Delivery, Message, Subscription};

/// A message with key `key`, one header and `payload`.
pub fn message(key: &str, payload: &str) -> Message {
    Message {
        key: key.into(),
        headers: BTreeMap::from([("user_id".to_owned(), format!("user-{key}"))]),
        payload: payload.as_bytes().to_vec(),
    }
}

/// A topic name unique to this run, so cases never see each other's messages.
pub fn fresh_topic(case: &str) -> String {
    format!("contract.{case}.{}", crate::now_unix_ms())
}

async fn next(sub: &mut Box<dyn Subscription>) -> Delivery {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("no message within 10 s")
        .expect("subscription failed")
}

async fn payloads(sub: &mut Box<dyn Subscription>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(String::from_utf8(next(sub).await.message.payload).unwrap());
    }
    out
}

pub async fn published_messages_arrive_in_order_with_key_and_headers(b: Arc<dyn Broker>) {
    let topic = fresh_topic("order");
    for i in 0..5 {
        b.publish(&topic, message("k", &format!("m{i}")))
            .await
            .unwrap();
    }
    let mut sub = b.subscribe(&topic, "g").await.unwrap();
    let first = next(&mut sub).await;
    assert_eq!(first.message, message("k", "m0"));
    assert_eq!(first.topic, topic);
    assert_eq!(payloads(&mut sub, 4).await, ["m1", "m2", "m3", "m4"]);
}

pub async fn a_batch_arrives_whole_and_in_order_per_topic(b: Arc<dyn Broker>) {
    let (one, two) = (fresh_topic("batch-one"), fresh_topic("batch-two"));
    let batch = (0..6)
        .map(|i| {
            let topic = if i % 2 == 0 { &one } else { &two };
            (topic.clone(), message("k", &format!("m{i}")))
        })
        .collect();
    b.publish_all(batch).await.unwrap();
    // Groups of its own: on Kafka, members of one group on other topics rebalance together.
    let mut sub = b.subscribe(&one, &one).await.unwrap();
    assert_eq!(payloads(&mut sub, 3).await, ["m0", "m2", "m4"]);
    drop(sub);
    let mut sub = b.subscribe(&two, &two).await.unwrap();
    let first = next(&mut sub).await;
    assert_eq!(first.message, message("k", "m1"), "key and headers kept");
    assert_eq!(payloads(&mut sub, 2).await, ["m3", "m5"]);
}

pub async fn a_waiting_consumer_gets_a_message_published_later(b: Arc<dyn Broker>) {
    let topic = fresh_topic("later");
    b.publish(&topic, message("k", "before")).await.unwrap();
    let mut sub = b.subscribe(&topic, "g").await.unwrap();
    assert_eq!(payloads(&mut sub, 1).await, ["before"]);
    let publisher = Arc::clone(&b);
    let t = topic.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        publisher.publish(&t, message("k", "after")).await.unwrap();
    });
    assert_eq!(payloads(&mut sub, 1).await, ["after"]);
}

pub async fn a_group_resumes_after_its_committed_offset(b: Arc<dyn Broker>) {
    let topic = fresh_topic("resume");
    for p in ["a", "b", "c"] {
        b.publish(&topic, message("k", p)).await.unwrap();
    }
    let mut sub = b.subscribe(&topic, "g").await.unwrap();
    let a = next(&mut sub).await;
    sub.commit(&a).await.unwrap();
    drop(sub);
    b.publish(&topic, message("k", "d")).await.unwrap();
    let mut again = b.subscribe(&topic, "g").await.unwrap();
    assert_eq!(payloads(&mut again, 3).await, ["b", "c", "d"]);
}

/// Batches hand out every message once, in order, none bigger than asked; committing a
/// batch's last message commits the batch.
pub async fn batches_hand_out_each_message_once_in_order(b: Arc<dyn Broker>) {
    let topic = fresh_topic("batches");
    for i in 0..5 {
        b.publish(&topic, message("k", &format!("m{i}")))
            .await
            .unwrap();
    }
    let mut sub = b.subscribe(&topic, "g").await.unwrap();
    let mut got = Vec::new();
    let mut first_batch = None;
    while got.len() < 5 {
        let batch = tokio::time::timeout(Duration::from_secs(10), sub.next_batch(2))
            .await
            .expect("no message within 10 s")
            .expect("subscription failed");
        assert!(
            (1..=2).contains(&batch.len()),
            "{} in a batch of 2",
            batch.len()
        );
        first_batch.get_or_insert_with(|| batch.clone());
        got.extend(
            batch
                .into_iter()
                .map(|d| String::from_utf8(d.message.payload).unwrap()),
        );
    }
    assert_eq!(got, ["m0", "m1", "m2", "m3", "m4"]);
    let first_batch = first_batch.unwrap();
    sub.commit(first_batch.last().unwrap()).await.unwrap();
    drop(sub);
    let mut again = b.subscribe(&topic, "g").await.unwrap();
    let rest: Vec<String> = ["m0", "m1", "m2", "m3", "m4"][first_batch.len()..]
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(payloads(&mut again, rest.len()).await, rest);
}

pub async fn uncommitted_messages_are_delivered_again(b: Arc<dyn Broker>) {
    let topic = fresh_topic("redeliver");
    b.publish(&topic, message("k", "a")).await.unwrap();
    b.publish(&topic, message("k", "b")).await.unwrap();
    let mut sub = b.subscribe(&topic, "g").await.unwrap();
    assert_eq!(payloads(&mut sub, 2).await, ["a", "b"]);
    drop(sub);
    let mut again = b.subscribe(&topic, "g").await.unwrap();
    assert_eq!(payloads(&mut again, 2).await, ["a", "b"]);
}

pub async fn groups_consume_independently(b: Arc<dyn Broker>) {
    let topic = fresh_topic("groups");
    b.publish(&topic, message("k", "a")).await.unwrap();
    let mut one = b.subscribe(&topic, "one").await.unwrap();
    let a = next(&mut one).await;
    one.commit(&a).await.unwrap();
    let mut two = b.subscribe(&topic, "two").await.unwrap();
    assert_eq!(payloads(&mut two, 1).await, ["a"]);
}

pub async fn a_subscription_is_caught_up_once_handed_every_message_there(b: Arc<dyn Broker>) {
    let topic = fresh_topic("caught_up");
    let mut sub = b.subscribe(&topic, "g").await.unwrap();
    assert!(sub.caught_up().await.unwrap(), "an empty topic");
    for payload in ["a", "b"] {
        b.publish(&topic, message("k", payload)).await.unwrap();
    }
    assert!(!sub.caught_up().await.unwrap(), "two messages wait");
    assert_eq!(payloads(&mut sub, 1).await, ["a"]);
    assert!(!sub.caught_up().await.unwrap(), "one waits");
    assert_eq!(payloads(&mut sub, 1).await, ["b"]);
    assert!(sub.caught_up().await.unwrap());
    b.publish(&topic, message("k", "c")).await.unwrap();
    assert!(!sub.caught_up().await.unwrap(), "a new one came");
    assert_eq!(payloads(&mut sub, 1).await, ["c"]);
    assert!(sub.caught_up().await.unwrap());
}

pub async fn topics_are_separate(b: Arc<dyn Broker>) {
    let (t1, t2) = (fresh_topic("sep1"), fresh_topic("sep2"));
    b.publish(&t1, message("k", "one")).await.unwrap();
    b.publish(&t2, message("k", "two")).await.unwrap();
    let mut sub = b.subscribe(&t2, "g").await.unwrap();
    assert_eq!(payloads(&mut sub, 1).await, ["two"]);
}

/// What `sub` delivers within `window`, each committed as it arrives.
async fn drain(sub: &mut Box<dyn Subscription>, window: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + window;
    let mut out = Vec::new();
    while let Ok(delivery) = tokio::time::timeout_at(deadline, sub.next()).await {
        let delivery = delivery.expect("subscription failed");
        sub.commit(&delivery).await.unwrap();
        out.push(String::from_utf8(delivery.message.payload).unwrap());
    }
    out
}

/// The first `n` messages `sub` delivers (each committed), then whatever else arrives within
/// a second: waits at most `limit` for the `n`.
async fn drain_n(sub: &mut Box<dyn Subscription>, n: usize, limit: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while out.len() < n {
        let Ok(delivery) = tokio::time::timeout_at(deadline, sub.next()).await else {
            return out;
        };
        let delivery = delivery.expect("subscription failed");
        sub.commit(&delivery).await.unwrap();
        out.push(String::from_utf8(delivery.message.payload).unwrap());
    }
    out.extend(drain(sub, Duration::from_secs(1)).await);
    out
}

/// How long two new members of a group poll before the group has settled (a Kafka group
/// waits for more members, and a member learns of a new one at its next heartbeat).
const SETTLE: Duration = Duration::from_secs(8);

pub async fn members_of_one_group_get_each_message_once_between_them(b: Arc<dyn Broker>) {
    let topic = fresh_topic("members");
    // A group of its own: on a shared Kafka, members joining and leaving rebalance every
    // consumer of the group, also other cases'.
    let group = format!("{topic}.group");
    let mut first = b.subscribe(&topic, &group).await.unwrap();
    let mut second = b.subscribe(&topic, &group).await.unwrap();
    tokio::join!(drain(&mut first, SETTLE), drain(&mut second, SETTLE));
    for i in 0..20 {
        b.publish(&topic, message(&format!("k{i}"), &i.to_string()))
            .await
            .unwrap();
    }
    let window = Duration::from_secs(5);
    let (a, c) = tokio::join!(drain(&mut first, window), drain(&mut second, window));
    let mut all: Vec<u32> = a.iter().chain(&c).map(|p| p.parse().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..20).collect::<Vec<_>>(),
        "each message to one member, once: {a:?} and {c:?}"
    );
}

pub async fn a_member_that_stops_has_its_share_taken_over(b: Arc<dyn Broker>) {
    let topic = fresh_topic("takeover");
    // A group of its own: on a shared Kafka, members joining and leaving rebalance every
    // consumer of the group, also other cases'.
    let group = format!("{topic}.group");
    let mut first = b.subscribe(&topic, &group).await.unwrap();
    let mut second = b.subscribe(&topic, &group).await.unwrap();
    tokio::join!(drain(&mut first, SETTLE), drain(&mut second, SETTLE));
    for i in 0..5 {
        b.publish(&topic, message("k", &format!("before-{i}")))
            .await
            .unwrap();
    }
    let window = Duration::from_secs(5);
    let (a, c) = tokio::join!(drain(&mut first, window), drain(&mut second, window));
    assert_eq!(a.len() + c.len(), 5, "{a:?} {c:?}");
    // The member that had the messages stops; the other takes its share from where it
    // committed.
    let mut stays = if a.len() >= c.len() {
        drop(first);
        second
    } else {
        drop(second);
        first
    };
    for i in 0..5 {
        b.publish(&topic, message("k", &format!("after-{i}")))
            .await
            .unwrap();
    }
    // Kafka moves a stopped member's partitions at once when it leaves the group, and
    // within the session timeout (30 s) when it vanishes.
    let started = tokio::time::Instant::now();
    let taken_over = drain_n(&mut stays, 5, Duration::from_secs(45)).await;
    println!("taken over in {:?}", started.elapsed());
    assert_eq!(
        taken_over,
        (0..5).map(|i| format!("after-{i}")).collect::<Vec<_>>(),
        "the rest of the group gets what follows, and nothing it had committed"
    );
}

/// Generates one `#[tokio::test]` per contract case for the adapter built by `$make`, an
/// expression evaluating to a future of `Arc<dyn Broker>`.
#[macro_export]
macro_rules! broker_contract {
    // Cases that need test servers (`$crate::test_servers::TestServer`s): each is skipped,
    // saying why, when one is not running.
    (needs [$($server:expr),*], $make:expr) => {
        $crate::broker_contract!(@cases [$($server),*] $make;
            published_messages_arrive_in_order_with_key_and_headers,
            a_batch_arrives_whole_and_in_order_per_topic,
            a_waiting_consumer_gets_a_message_published_later,
            a_group_resumes_after_its_committed_offset,
            batches_hand_out_each_message_once_in_order,
            uncommitted_messages_are_delivered_again,
            groups_consume_independently,
            topics_are_separate,
            a_subscription_is_caught_up_once_handed_every_message_there,
            members_of_one_group_get_each_message_once_between_them,
            a_member_that_stops_has_its_share_taken_over,
        );
    };
    ($make:expr) => {
        $crate::broker_contract!(needs [], $make);
    };
    (@cases $servers:tt $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if !$crate::test_servers::all_present(&$servers) {
                    return;
                }
                let broker = $make.await;
                $crate::broker::contract::$case(broker).await;
            }
        )+
    };
}
