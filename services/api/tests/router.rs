//! The gateway's router in-process: bad input and missing auth get the JSON error body
//! before any service is asked.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use shippy_plugins::registry::{Registry, SqliteRegistry};
use tower::ServiceExt;

fn app() -> axum::Router {
    let path = tempfile_path();
    let registry: Arc<dyn Registry> = Arc::new(SqliteRegistry::open(&path).unwrap());
    shippy_api::app(shippy_api::AppState::discover(
        registry,
        Duration::from_millis(300),
    ))
}

/// A registry no service ever registers in, under cargo's scratch folder.
fn tempfile_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("api-router-{}.db", std::process::id()))
}

async fn call(request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn post(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400_with_the_error_body() {
    let (status, body) = call(post("/api/users", "{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_argument");
}

#[tokio::test]
async fn a_protected_route_without_a_token_is_a_401_naming_the_problem() {
    let (status, body) = call(
        Request::get("/api/consignments")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing token")
    );
}

#[tokio::test]
async fn a_service_with_no_instance_is_a_503_not_a_hang() {
    let (status, body) = call(post(
        "/api/auth/login",
        r#"{"email":"a@b.co","password":"x"}"#,
    ))
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shippy.user"),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404() {
    let (status, body) = call(Request::get("/api/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}
