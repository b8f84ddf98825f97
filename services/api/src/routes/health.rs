//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every service the
//! gateway calls has a healthy instance registered).

use axum::extract::State;
use serde_json::{Value, json};
use shippy_common::ErrorKind;

use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

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
