//! The REST resources, one module each, nested under `/api/v1`, plus health and readiness.

mod consignments;
mod health;
mod logs;
mod openapi;
mod users;
mod vessels;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{any, get};
use shippy_common::ErrorKind;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::state::AppState;

/// Everything the gateway answers itself; the UI's static files are added around it.
pub fn router() -> Router<AppState> {
    let spec = openapi::ApiDoc::openapi();
    let v1 = Router::new()
        .merge(users::router())
        .merge(vessels::router())
        .merge(consignments::router())
        .merge(logs::router());
    Router::new()
        .nest("/api/v1", v1)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/api/openapi.json",
            get(move || async move { axum::Json(spec) }),
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
