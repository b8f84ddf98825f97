//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every service the
//! gateway calls has a healthy instance registered).

use axum::extract::State;
use serde_json::{Value, json};
use shippy_common::ErrorKind;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Liveness.
///
/// The gateway process answers, whatever the state of the services behind it.
#[utoipa::path(get, path = "/healthz", tag = "health", operation_id = "healthz", security(),
    responses((status = 200, description = "Alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness.
///
/// Every service the gateway calls has a healthy instance; a 503 names those that have none.
#[utoipa::path(get, path = "/readyz", tag = "health", operation_id = "readyz", security(),
    responses(
        (status = 200, description = "Ready"),
        (status = 503, description = "A service has no healthy instance", body = crate::error::ErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let missing: Vec<&str> = state
        .clients()
        .into_iter()
        .filter(|c| !c.has_instances())
        .map(|c| c.service())
        .collect();
    if missing.is_empty() {
        Ok(Json(json!({ "status": "ready" })))
    } else {
        Err(ApiError::new(
            ErrorKind::Unavailable,
            format!("not ready: no healthy instance of {}", missing.join(", ")),
        ))
    }
}
