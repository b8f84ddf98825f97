//! The REST resources, one module each, merged into one router.

mod consignments;
mod logs;
mod users;
mod vessels;

use axum::Router;
use axum::routing::get;

use crate::json::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({ "status": "ok" })) }),
        )
        .merge(users::router())
        .merge(vessels::router())
        .merge(consignments::router())
        .merge(logs::router())
        .fallback(|| async {
            crate::ApiError::new(shippy_common::ErrorKind::NotFound, "no such endpoint")
        })
}
