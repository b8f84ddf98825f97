//! The gateway's router in-process: bad input, missing auth, size limits, CORS and request
//! ids, answered in the API's own error format before (or without) any service is asked.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use shippy_common::config::ApiConfig;
use shippy_plugins::registry::{Registry, SqliteRegistry};
use tower::ServiceExt;

const UI_ORIGIN: &str = "http://ui.example:5173";

fn app() -> axum::Router {
    app_limited(1000)
}

/// The gateway allowing each client `per_sec` requests a second (and as many at once).
fn app_limited(per_sec: u32) -> axum::Router {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("api-router-{}.db", std::process::id()));
    let registry: Arc<dyn Registry> = Arc::new(SqliteRegistry::open(&path).unwrap());
    let config = ApiConfig {
        ui_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui"),
        cors_origins: vec![UI_ORIGIN.into()],
        max_body_bytes: 4096,
    };
    let state = shippy_api::AppState::discover(
        registry,
        Duration::from_millis(300),
        shippy_common::client::BreakerConfig {
            failures: 3,
            open_for: Duration::from_secs(5),
        },
    );
    let limits = shippy_common::config::LimitsConfig {
        requests_per_sec: per_sec,
        burst: per_sec,
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

async fn call(request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let response = app().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, body)
}

fn post(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400_with_the_error_body_and_a_request_id() {
    let (status, headers, body) = call(post("/api/v1/users", "{not json".into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_argument");
    assert!(headers.get("x-request-id").is_some_and(|v| !v.is_empty()));
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_with_the_error_body() {
    let huge = format!(
        r#"{{"name":"{}","email":"a@b.co","password":"x"}}"#,
        "n".repeat(10_000)
    );
    let (status, _, body) = call(post("/api/v1/users", huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn a_protected_route_without_a_token_is_a_401_naming_the_problem() {
    let request = Request::get("/api/v1/consignments")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = call(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing token")
    );
}

#[tokio::test]
async fn a_service_with_no_instance_is_a_503_not_a_hang_and_the_gateway_is_not_ready() {
    let login = post(
        "/api/v1/auth/login",
        r#"{"email":"a@b.co","password":"x"}"#.into(),
    );
    let (status, _, body) = call(login).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shippy.user"),
        "{body}"
    );
    let (status, _, body) = call(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shippy.vessel"),
        "{body}"
    );
}

#[tokio::test]
async fn an_idempotency_key_a_header_cannot_carry_is_a_400_naming_it() {
    let request = Request::post("/api/v1/consignments")
        .header("content-type", "application/json")
        .header("authorization", "Bearer t")
        .header("idempotency-key", "caf\u{e9}".as_bytes())
        .body(Body::from(
            r#"{"description":"d","weight":1,"containers":[{}]}"#,
        ))
        .unwrap();
    let (status, _, body) = call(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("idempotency-key:"),
        "{body}"
    );
}

#[tokio::test]
async fn an_idempotency_key_the_service_would_refuse_is_a_400_before_any_service_is_asked() {
    // No consignment service is registered: a 400 proves the gateway refused it itself.
    for key in [String::new(), "k".repeat(129), "two words".into()] {
        let request = Request::post("/api/v1/consignments")
            .header("content-type", "application/json")
            .header("authorization", "Bearer t")
            .header("idempotency-key", key.as_str())
            .body(Body::from(
                r#"{"description":"d","weight":1,"containers":[{}]}"#,
            ))
            .unwrap();
        let (status, _, body) = call(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{key:?}: {body}");
        assert_eq!(
            body["error"]["message"],
            "idempotency-key: must be 1 to 128 visible ASCII characters"
        );
    }
}

#[tokio::test]
async fn reading_or_cancelling_a_consignment_needs_a_token_then_the_consignment_service() {
    let requests = || {
        [
            Request::get("/api/v1/consignments/c1"),
            Request::post("/api/v1/consignments/c1/cancel"),
        ]
    };
    for request in requests() {
        let (status, _, body) = call(request.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    for request in requests() {
        let request = request.header("authorization", "Bearer t");
        let (status, _, body) = call(request.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("shippy.consignment"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404() {
    let (status, _, body) = call(Request::get("/api/v1/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn the_configured_ui_origin_may_call_the_api_and_others_may_not() {
    let preflight = |origin: &str| {
        Request::options("/api/v1/consignments")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,idempotency-key",
            )
            .body(Body::empty())
            .unwrap()
    };
    let (_, headers, _) = call(preflight(UI_ORIGIN)).await;
    assert_eq!(
        headers.get("access-control-allow-origin").unwrap(),
        UI_ORIGIN
    );
    let allowed = headers.get("access-control-allow-headers").unwrap();
    assert!(
        allowed.to_str().unwrap().contains("idempotency-key"),
        "a booking from the UI's origin may send its key: {allowed:?}"
    );
    let (_, headers, _) = call(preflight("http://evil.example")).await;
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint_with_its_schemas() {
    let (status, _, doc) = call(
        Request::get("/api/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("/api/v1/users", "post"),
        ("/api/v1/users/me", "get"),
        ("/.well-known/jwks.json", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/validate", "post"),
        ("/api/v1/vessels", "post"),
        ("/api/v1/vessels", "get"),
        ("/api/v1/vessels/available", "get"),
        ("/api/v1/consignments", "post"),
        ("/api/v1/consignments", "get"),
        ("/api/v1/consignments/{id}", "get"),
        ("/api/v1/consignments/{id}/cancel", "post"),
        ("/api/v1/logs", "get"),
        ("/api/v1/logs/stream", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ];
    for (path, method) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        if method == "post" {
            assert!(
                op["requestBody"]["content"]["application/json"]["schema"].is_object()
                    || path.ends_with("/cancel"),
                "{path}"
            );
        }
        let ok = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(code, _)| code.starts_with('2'));
        assert!(ok.is_some(), "{method} {path} has a success response");
        assert!(
            op["responses"]["429"]["headers"]["Retry-After"].is_object(),
            "{method} {path} documents the rate limit"
        );
    }
    let cancel = &doc["paths"]["/api/v1/consignments/{id}/cancel"]["post"];
    assert!(cancel["responses"]["200"].is_object() && cancel["responses"]["404"].is_object());
    let book = &doc["paths"]["/api/v1/consignments"]["post"];
    for code in ["409", "422", "503"] {
        assert!(
            book["responses"][code].is_object(),
            "booking documents {code}"
        );
    }
    assert!(
        book["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
        "{book}"
    );
    for schema in [
        "NewConsignment",
        "Step",
        "Consignment",
        "Container",
        "ErrorBody",
        "Vessel",
        "Token",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("Consignment", "reason"),
        ("Consignment", "steps"),
        ("Step", "at"),
        ("Vessel", "remaining_capacity"),
        ("Vessel", "remaining_weight"),
    ] {
        assert!(
            schemas[schema]["properties"][field].is_object(),
            "{schema}.{field}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn pages_scripts_and_api_answers_carry_the_security_headers() {
    for path in ["/", "/docs.html", "/app.js", "/api/v1/nope"] {
        let (_, headers, _) = call(Request::get(path).body(Body::empty()).unwrap()).await;
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
}

/// What the policy would block, looked for in the pages themselves: inline scripts and
/// styles, event-handler and style attributes.
#[test]
fn the_ui_has_nothing_inline_that_the_policy_would_block() {
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
    let mut pages = 0;
    for entry in std::fs::read_dir(&ui).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "html") {
            continue;
        }
        pages += 1;
        let html = std::fs::read_to_string(&path).unwrap().to_lowercase();
        let name = path.display();
        assert!(!html.contains("<style"), "{name}: a <style> element");
        assert!(!html.contains(" style="), "{name}: a style attribute");
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(tag.contains(" src="), "{name}: an inline script");
        }
        let handler = html
            .split(|c: char| c.is_whitespace())
            .find(|word| word.starts_with("on") && word.contains("=\""));
        assert!(
            handler.is_none(),
            "{name}: an event-handler attribute {handler:?}"
        );
    }
    assert!(pages >= 2, "index.html and docs.html at least");
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_a_json_405() {
    let (status, headers, body) = call(
        Request::delete("/api/v1/vessels")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers.contains_key("allow"), "{headers:?}");
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
}

/// The `field code` pairs of an error body's `fields`.
fn fields(body: &serde_json::Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| {
                    format!(
                        "{} {}",
                        f["field"].as_str().unwrap(),
                        f["code"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_body_wrong_in_every_field_is_one_400_naming_each_before_any_service_is_asked() {
    // No vessel service is registered: the 400 is the gateway's own, with every field.
    let request = Request::post("/api/v1/vessels")
        .header("content-type", "application/json")
        .header("authorization", "Bearer t")
        .body(Body::from(
            r#"{"name": 5, "capacity": "ten", "max_weight": null}"#,
        ))
        .unwrap();
    let (status, _, body) = call(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        fields(&body),
        [
            "name bad_format",
            "capacity not_a_number",
            "max_weight required"
        ],
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("name: must be a string; capacity: must be a whole number"),
        "{body}"
    );
}

#[tokio::test]
async fn an_empty_or_wordy_query_number_is_named_in_the_api_words_not_the_parser_s() {
    let request = Request::get("/api/v1/vessels/available?capacity=&max_weight=lots")
        .header("authorization", "Bearer t")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = call(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        fields(&body),
        ["capacity required", "max_weight not_a_number"],
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.contains("deserialize"), "{message}");
}

#[tokio::test]
async fn a_booking_with_a_bad_key_and_bad_fields_names_them_all() {
    let request = Request::post("/api/v1/consignments")
        .header("content-type", "application/json")
        .header("authorization", "Bearer t")
        .header("idempotency-key", "two words")
        .body(Body::from(
            r#"{"description": [], "weight": 1.5, "containers": [{}]}"#,
        ))
        .unwrap();
    let (status, _, body) = call(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        fields(&body),
        [
            "description bad_format",
            "weight not_a_number",
            "idempotency-key bad_format"
        ],
        "{body}"
    );
}

#[tokio::test]
async fn every_protected_route_asks_for_the_token_before_it_looks_for_a_service() {
    // No service is registered: had the gateway looked for one first, it would answer 503
    // "no healthy instance" once its wait ran out; a 401 proves it refused the token itself.
    let requests = [
        Request::get("/api/v1/users/me"),
        Request::get("/api/v1/vessels"),
        Request::post("/api/v1/vessels").header("content-type", "application/json"),
        Request::get("/api/v1/vessels/available?capacity=1&max_weight=1"),
        Request::get("/api/v1/logs"),
        Request::get("/api/v1/logs/stream"),
        Request::post("/api/v1/auth/logout"),
    ];
    for request in requests {
        let request = request.header("authorization", "Basic dXNlcjpwYXNz");
        let (status, _, body) = call(request.body(Body::from("{}")).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("malformed token"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_holds_exactly_the_operations_the_router_serves() {
    let (_, _, doc) = call(
        Request::get("/api/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().unwrap().keys();
            methods.map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    documented.sort();
    let mut expected: Vec<(String, String)> = [
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users/me"),
        ("GET", "/.well-known/jwks.json"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/validate"),
        ("POST", "/api/v1/vessels"),
        ("GET", "/api/v1/vessels"),
        ("GET", "/api/v1/vessels/available"),
        ("POST", "/api/v1/consignments"),
        ("GET", "/api/v1/consignments"),
        ("GET", "/api/v1/consignments/{id}"),
        ("POST", "/api/v1/consignments/{id}/cancel"),
        ("GET", "/api/v1/logs"),
        ("GET", "/api/v1/logs/stream"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/api/asyncapi.json"),
    ]
    .iter()
    .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
    .collect();
    expected.sort();
    assert_eq!(documented, expected);
    // And each one is served: not the API's 404 for an unknown path, nor a 405.
    for (method, path) in documented {
        let uri = path.replace("{id}", "c1");
        let request = Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, _, body) = call(request).await;
        assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
}

#[tokio::test]
async fn a_client_over_its_rate_is_a_429_with_retry_after_in_the_api_format() {
    let app = app_limited(1);
    let unknown = || Request::get("/api/v1/nope").body(Body::empty()).unwrap();
    let first = app.clone().oneshot(unknown()).await.unwrap();
    assert_eq!(first.status(), StatusCode::NOT_FOUND);
    let second = app.oneshot(unknown()).await.unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(second.headers().contains_key("retry-after"));
    assert!(second.headers().contains_key("x-request-id"));
    let bytes = axum::body::to_bytes(second.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], "resource_exhausted", "{body}");
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
