//! The REST resources, one module each under `/api/v1`, plus health and readiness. Each
//! module's `OpenApiRouter` serves its operations and documents them in one go: the
//! document at `/api/openapi.json` is what the routers hold. The broker topics' AsyncAPI
//! document is at `/api/asyncapi.json` (`asyncapi`).

mod asyncapi;
mod consignments;
mod health;
mod logs;
mod openapi;
mod users;
mod vessels;

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::http::header;
use axum::response::Redirect;
use axum::routing::{any, get};
use shippy_common::ErrorKind;
use tower::ServiceBuilder;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::deadline;
use crate::error::ApiError;
use crate::state::AppState;

/// Everything the gateway answers itself; the UI's static files are added around it. Every
/// route but the live stream answers 503 once `deadline` has passed.
pub fn router(deadline: Duration) -> Router<AppState> {
    let timeout = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(deadline::answer(deadline)))
        .timeout(deadline);
    let calls = OpenApiRouter::new()
        .merge(users::router())
        .merge(vessels::router())
        .merge(consignments::router())
        .merge(logs::router())
        .merge(health::router())
        .merge(asyncapi::router())
        .route_layer(timeout);
    let (router, mut spec) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(calls)
        .merge(logs::live())
        .split_for_parts();
    openapi::finish(&mut spec);
    // Written out once: every copy of the handler (one per layer and runtime, and one per
    // request) then shares these bytes, where holding the document itself cloned all of it
    // each time, about 2 MiB at start.
    let spec = Bytes::from(serde_json::to_vec(&spec).expect("the OpenAPI document serializes"));
    router
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], spec) }),
        )
        .route(
            "/api/docs",
            get(|| async { Redirect::permanent("/docs.html") }),
        )
        .route("/api", any(not_found))
        .route("/api/{*rest}", any(not_found))
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorKind::NotFound, "no such endpoint")
}
