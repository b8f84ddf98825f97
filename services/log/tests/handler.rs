//! The log service's gRPC handler called in-process, over the in-memory event store: what a
//! caller of `List` and `Watch` notices.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shippy_common::auth::testing::{self, from_user as from};
use shippy_common::auth::{TokenVerifier, generate_key_pair};
use shippy_common::fields::from_status;
use shippy_common::paging::PageRequest;
use shippy_common::shutdown::{StopHandle, Stopping};
use shippy_log::LogHandler;
use shippy_log::domain::Event;
use shippy_log::feeds::Feeds;
use shippy_log::repo::{EventKey, Filter, LogRepository, MemoryLogs, RepoError};
use shippy_proto::log::log_service_server::LogService;
use shippy_proto::log::{ListRequest, WatchRequest};
use shippy_proto::tonic::Code;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;

fn event(id: &str, origin: &str, user_id: &str, time_unix_ms: i64) -> Event {
    shippy_log::repo::contract::event(id, origin, user_id, time_unix_ms)
}

struct Log {
    handler: LogHandler,
    repo: Arc<MemoryLogs>,
    live: broadcast::Sender<Event>,
    _stop: StopHandle,
}

/// Live feeds, at most `per_user` per user, with a verifier of keys nobody signs with.
fn feeds(per_user: usize) -> Feeds {
    let keys = generate_key_pair().unwrap();
    let verifier = TokenVerifier::from_pem(keys.public_pem.as_bytes(), &testing::auth_config(5));
    Feeds::new(per_user, 1000, Arc::new(verifier.unwrap()))
}

fn log() -> Log {
    let repo = Arc::new(MemoryLogs::default());
    let (live, _) = broadcast::channel(16);
    let (stop, stopping) = Stopping::new();
    Log {
        handler: LogHandler::new(repo.clone(), live.clone(), feeds(2), stopping),
        repo,
        live,
        _stop: stop,
    }
}

async fn listed(log: &Log, user_id: &str, request: ListRequest) -> Vec<String> {
    let response = log.handler.list(from(user_id, request)).await.unwrap();
    response
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect()
}

#[tokio::test]
async fn a_caller_lists_their_own_events_newest_first_and_nobody_elses() {
    let log = log();
    for e in [
        event("a1", "shippy.user", "alice", 10),
        event("b1", "shippy.user", "bob", 20),
        event("a2", "shippy.vessel", "alice", 30),
    ] {
        log.repo.insert(&e).await.unwrap();
    }
    assert_eq!(
        listed(&log, "alice", ListRequest::default()).await,
        ["a2", "a1"]
    );
    let vessels = ListRequest {
        origin: "shippy.vessel".into(),
        ..ListRequest::default()
    };
    assert_eq!(listed(&log, "alice", vessels).await, ["a2"]);
}

#[tokio::test]
async fn listing_another_users_events_is_refused() {
    let log = log();
    log.repo
        .insert(&event("b1", "shippy.user", "bob", 1))
        .await
        .unwrap();
    let theirs = ListRequest {
        user_id: "bob".into(),
        ..ListRequest::default()
    };
    let refused = log.handler.list(from("alice", theirs)).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        refused.message(),
        "user_id: you can only list your own events"
    );
}

#[tokio::test]
async fn a_listing_with_negative_bounds_names_every_bad_field() {
    let log = log();
    let negative = ListRequest {
        since_unix_ms: -1,
        until_unix_ms: -5,
        limit: -1,
        ..ListRequest::default()
    };
    let refused = log.handler.list(from("alice", negative)).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        from_status(&refused).names(),
        ["limit", "since_unix_ms", "until_unix_ms"]
    );
}

#[tokio::test]
async fn a_listing_answers_at_most_the_limit_asked() {
    let log = log();
    for i in 0..5 {
        log.repo
            .insert(&event(&format!("e{i}"), "o", "alice", i))
            .await
            .unwrap();
    }
    let two = ListRequest {
        limit: 2,
        ..ListRequest::default()
    };
    assert_eq!(listed(&log, "alice", two).await, ["e4", "e3"]);
}

/// A store that cannot answer.
struct Down;

#[async_trait]
impl LogRepository for Down {
    async fn insert(&self, _: &Event) -> Result<bool, RepoError> {
        Err(RepoError::Unavailable("disk /secret/logs.db locked".into()))
    }

    async fn trim(&self, _: i64) -> Result<u64, RepoError> {
        Err(RepoError::Unavailable("disk /secret/logs.db locked".into()))
    }
    async fn list(&self, _: &Filter, _: &PageRequest<EventKey>) -> Result<Vec<Event>, RepoError> {
        Err(RepoError::Unavailable("disk /secret/logs.db locked".into()))
    }
}

#[tokio::test]
async fn a_store_that_is_down_answers_unavailable_and_keeps_its_detail_to_itself() {
    let (live, _) = broadcast::channel(1);
    let (_stop, stopping) = Stopping::new();
    let handler = LogHandler::new(Arc::new(Down), live, feeds(2), stopping);
    let refused = handler
        .list(from("alice", ListRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    assert_eq!(refused.message(), "log store unavailable");
}

#[tokio::test]
async fn a_watcher_sees_their_own_new_events_of_the_origin_asked_and_nothing_else() {
    let log = log();
    let asked = WatchRequest {
        origin: "shippy.vessel".into(),
    };
    let mut watched = log
        .handler
        .watch(from("alice", asked))
        .await
        .unwrap()
        .into_inner();
    for e in [
        event("b1", "shippy.vessel", "bob", 1),
        event("a1", "shippy.user", "alice", 2),
        event("a2", "shippy.vessel", "alice", 3),
    ] {
        log.live.send(e).unwrap();
    }
    let first = tokio::time::timeout(Duration::from_secs(5), watched.next())
        .await
        .expect("an event within 5 s")
        .unwrap()
        .unwrap();
    assert_eq!((first.id.as_str(), first.user_id.as_str()), ("a2", "alice"));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), watched.next())
            .await
            .is_err(),
        "nothing more"
    );
}

#[tokio::test]
async fn a_user_past_their_open_feeds_is_told_to_close_one_and_a_closed_one_frees_its_place() {
    let log = log();
    let watch = || log.handler.watch(from("alice", WatchRequest::default()));
    let first = watch().await.unwrap();
    let _second = watch().await.unwrap();
    let third = watch().await.err().expect("a third feed is refused");
    assert_eq!(third.code(), Code::ResourceExhausted);
    assert_eq!(
        third.message(),
        "you have 2 live feeds open, the most one user may: close one first"
    );
    assert!(
        log.handler
            .watch(from("bob", WatchRequest::default()))
            .await
            .is_ok(),
        "another user has places of their own"
    );
    drop(first);
    assert!(watch().await.is_ok(), "a closed feed gave its place back");
}
