//! The gateway's deadline against a log service that never answers a call, and opens its
//! stream late and streams slowly: a call is answered 503 in the API's format once the
//! deadline passes; the live stream is not held to the deadline at all.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use shippy_common::config::{ApiConfig, LimitsConfig};
use shippy_plugins::registry::{Instance, Registry, SqliteRegistry};
use shippy_proto::log::log_service_server::{LogService, LogServiceServer};
use shippy_proto::log::{ListRequest, ListResponse, LogEvent, WatchRequest};
use shippy_proto::tonic::{self, Response, Status};
use tokio_stream::{Stream, StreamExt};
use tower::ServiceExt;

const DEADLINE: Duration = Duration::from_millis(300);
/// How long the fake service takes to open a stream: longer than the deadline.
const OPENING: Duration = Duration::from_millis(400);
/// How far apart it streams its events: the stream outlasts the deadline again.
const EVENT_GAP: Duration = Duration::from_millis(250);
const EVENTS: usize = 3;

/// Never answers `List`; on `Watch`, answers after `OPENING`, then streams `EVENTS` events
/// `EVENT_GAP` apart.
struct Stalling;

#[tonic::async_trait]
impl LogService for Stalling {
    async fn list(&self, _: tonic::Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        std::future::pending().await
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<LogEvent, Status>> + Send>>;

    async fn watch(
        &self,
        _: tonic::Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        tokio::time::sleep(OPENING).await;
        let events = tokio_stream::iter(0..EVENTS).then(|i| async move {
            if i > 0 {
                tokio::time::sleep(EVENT_GAP).await;
            }
            Ok(LogEvent {
                id: format!("e{i}"),
                origin: "shippy.consignment".into(),
                ..Default::default()
            })
        });
        Ok(Response::new(Box::pin(events)))
    }
}

/// The gateway with the stalling log service registered, its calls given far longer than
/// the deadline, so that whatever answers at the deadline is the gateway's own layer.
async fn app(name: &str) -> axum::Router {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(LogServiceServer::new(Stalling))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("api-deadline-{name}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let registry: Arc<dyn Registry> = Arc::new(SqliteRegistry::open(&path).unwrap());
    let instance = Instance {
        service: shippy_common::names::LOG.into(),
        id: "log-1".into(),
        address: address.to_string(),
        version: "test".into(),
        metadata: Default::default(),
    };
    registry
        .register(&instance, Duration::from_secs(60))
        .await
        .unwrap();
    let state = shippy_api::AppState {
        deadline: DEADLINE,
        ..shippy_api::AppState::discover(
            registry,
            Duration::from_secs(30),
            shippy_common::client::BreakerConfig {
                failures: 3,
                open_for: Duration::from_secs(5),
            },
        )
    };
    let config = ApiConfig {
        ui_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui"),
        cors_origins: vec![],
        max_body_bytes: 4096,
    };
    let limits = LimitsConfig {
        requests_per_sec: 1000,
        burst: 1000,
        trusted_proxies: vec![],
        live_feeds_per_user: 5,
        live_feeds_total: 1000,
        vessels_per_user: 0,
        bookings_in_flight_per_user: 0,
        vessel_share_percent: 100,
    };
    shippy_api::app(
        state,
        &config,
        &limits,
        verifier(),
        shippy_common::auth::testing::gateway_tokens(),
    )
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header("authorization", "Bearer t")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_call_the_service_never_answers_is_a_503_in_the_api_format_at_the_deadline() {
    let app = app("call").await;
    let started = Instant::now();
    let response = app.oneshot(get("/api/v1/logs")).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert_eq!(
        body["error"]["message"],
        "the gateway gave up waiting after 300ms; retry (a booking with the same Idempotency-Key)"
    );
    assert!(
        waited >= DEADLINE && waited < Duration::from_secs(5),
        "answered at the deadline, not the call timeout: {waited:?}"
    );
}

#[tokio::test]
async fn the_live_log_stream_is_not_held_to_the_deadline_opening_or_streaming() {
    let app = app("stream").await;
    let started = Instant::now();
    let response = app.oneshot(get("/api/v1/logs/stream")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The fake service ends the stream after its last event, and the answer with it.
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .collect();
    assert_eq!(ids, ["e0", "e1", "e2"], "{text}");
    assert_eq!(text.matches("event: log").count(), EVENTS, "{text}");
    let lasted = started.elapsed();
    assert!(
        lasted > DEADLINE,
        "the stream outlasted the deadline: {lasted:?}"
    );
}

/// A verifier of keys nobody signs with: every token the tests send is refused by the
/// services behind, as the rate limit does not decide that.
fn verifier() -> std::sync::Arc<shippy_common::auth::TokenVerifier> {
    let keys = shippy_common::auth::generate_key_pair().unwrap();
    let config = shippy_common::auth::testing::auth_config(5);
    std::sync::Arc::new(
        shippy_common::auth::TokenVerifier::from_pem(keys.public_pem.as_bytes(), &config).unwrap(),
    )
}
