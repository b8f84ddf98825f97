//! The embedded broker's retention: topics are trimmed by age and by size, as Kafka's are,
//! but never past what a consumer group that lags still needs, and the log-outs outlive the
//! tokens they revoke.

use std::collections::BTreeMap;
use std::time::Duration;

use shippy_plugins::broker::{Broker, Message, Retention, SqliteBroker};
use shippy_plugins::now_unix_ms;

fn fresh() -> SqliteBroker {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    SqliteBroker::open(&dir.join("broker.db")).unwrap()
}

fn message(i: usize) -> Message {
    Message {
        key: "k".into(),
        headers: BTreeMap::new(),
        payload: format!("m{i}").into_bytes(),
    }
}

async fn publish(broker: &SqliteBroker, topic: &str, n: usize) {
    let all = (0..n).map(|i| (topic.to_owned(), message(i))).collect();
    broker.publish_all(all).await.unwrap();
}

/// Reads `n` messages of `topic` as `group`, committing through the last.
async fn consume(broker: &SqliteBroker, topic: &str, group: &str, n: usize) -> Vec<String> {
    let mut sub = broker.subscribe(topic, group).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..n {
        let d = sub.next().await.unwrap();
        seen.push(String::from_utf8(d.message.payload.clone()).unwrap());
        sub.commit(&d).await.unwrap();
    }
    seen
}

const HOUR: Duration = Duration::from_secs(3600);

fn retention(max_messages: u64) -> Retention {
    Retention {
        max_age: HOUR,
        max_messages,
        floors: BTreeMap::from([("revocations".to_owned(), 24 * HOUR)]),
    }
}

#[tokio::test]
async fn old_messages_go_but_a_lagging_group_keeps_what_it_has_not_read() {
    let broker = fresh();
    publish(&broker, "log", 100).await;
    consume(&broker, "log", "done", 100).await;
    consume(&broker, "log", "lagging", 10).await;
    let two_hours_on = now_unix_ms() + 2 * 3_600_000;
    let gone = broker
        .trim(&retention(1_000_000), two_hours_on)
        .await
        .unwrap();
    assert_eq!(gone, 10, "only what every live group has read");
    // The lagging group reads on from where it was, losing nothing.
    let rest = consume(&broker, "log", "lagging", 90).await;
    assert_eq!(rest.first().map(String::as_str), Some("m10"));
    assert_eq!(rest.last().map(String::as_str), Some("m99"));
    let gone = broker
        .trim(&retention(1_000_000), two_hours_on)
        .await
        .unwrap();
    assert_eq!(gone, 90, "now that it has read them");
}

#[tokio::test]
async fn a_topic_keeps_its_newest_messages_up_to_the_size_and_young_ones_stay() {
    let broker = fresh();
    publish(&broker, "log", 100).await;
    assert_eq!(
        broker.trim(&retention(30), now_unix_ms()).await.unwrap(),
        70
    );
    let kept = consume(&broker, "log", "new-group", 30).await;
    assert_eq!(kept.first().map(String::as_str), Some("m70"));
    assert_eq!(
        broker.trim(&retention(1_000), now_unix_ms()).await.unwrap(),
        0,
        "young enough and few enough"
    );
}

#[tokio::test]
async fn sizes_count_per_topic_and_never_cut_into_the_log_outs() {
    let broker = fresh();
    // Interleaved: offsets count across topics.
    for _ in 0..5 {
        publish(&broker, "revocations", 2).await;
        publish(&broker, "log", 10).await;
    }
    let gone = broker.trim(&retention(20), now_unix_ms()).await.unwrap();
    assert_eq!(
        gone, 30,
        "the log keeps its newest 20; the log-outs all 10, young as they are"
    );
    assert_eq!(consume(&broker, "revocations", "fresh", 10).await.len(), 10);
    let log = consume(&broker, "log", "fresh", 20).await;
    assert_eq!(log.len(), 20);
}

#[tokio::test]
async fn log_outs_outlive_the_tokens_they_revoke_and_quiet_groups_stop_pinning() {
    let broker = fresh();
    publish(&broker, "revocations", 5).await;
    publish(&broker, "log", 5).await;
    // A group that read one message, then went away for good.
    consume(&broker, "log", "gone-for-good", 1).await;
    let later = now_unix_ms() + 2 * 3_600_000;
    broker.trim(&retention(1_000), later).await.unwrap();
    assert_eq!(
        consume(&broker, "revocations", "fresh", 5).await.len(),
        5,
        "kept a day"
    );
    // Two hours on, the quiet group still pins (it committed within a day, the longest any
    // topic keeps); a day and more on, it is forgotten and everything old goes.
    let much_later = now_unix_ms() + 25 * 3_600_000;
    assert_eq!(broker.trim(&retention(1_000), much_later).await.unwrap(), 9);
}

#[tokio::test]
async fn a_live_feed_starts_where_the_topic_reaches_its_time_not_at_the_oldest() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    let path = dir.join("broker.db");
    let broker = SqliteBroker::open(&path).unwrap();
    publish(&broker, "log", 100).await;
    // The first 90 were published an hour ago.
    let now = now_unix_ms();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE messages SET created_at = ?1
             WHERE offset < (SELECT min(offset) + 90 FROM messages)",
            [now - 3_600_000],
        )
        .unwrap();
    let mut live = broker
        .subscribe_since("log", "live-1", now - 60_000)
        .await
        .unwrap();
    let first = live.next().await.unwrap();
    assert_eq!(first.message.payload, b"m90", "nothing older than a minute");
    // A group that committed resumes from its commit, whatever time it names.
    live.commit(&first).await.unwrap();
    drop(live);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = broker.subscribe_since("log", "live-1", now).await.unwrap();
    assert_eq!(again.next().await.unwrap().message.payload, b"m91");
}
