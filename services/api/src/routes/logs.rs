//! The caller's activity log.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use shippy_proto::log::{self as pb, log_service_client::LogServiceClient};

use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::state::{AppState, authed};

pub fn router() -> Router<AppState> {
    Router::new().route("/logs", get(list))
}

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    origin: String,
    #[serde(default)]
    since_unix_ms: i64,
    #[serde(default)]
    until_unix_ms: i64,
    #[serde(default)]
    limit: i32,
}

#[derive(Serialize)]
struct Event {
    id: String,
    origin: String,
    method: String,
    message: String,
    user_id: String,
    time_unix_ms: i64,
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request = authed(
        &headers,
        pb::ListRequest {
            user_id: String::new(),
            origin: f.origin,
            since_unix_ms: f.since_unix_ms,
            until_unix_ms: f.until_unix_ms,
            limit: f.limit,
        },
    )?;
    let mut client = LogServiceClient::new(state.logs.channel().await?);
    let events: Vec<Event> = client
        .list(request)
        .await?
        .into_inner()
        .events
        .into_iter()
        .map(|e| Event {
            id: e.id,
            origin: e.origin,
            method: e.method,
            message: e.message,
            user_id: e.user_id,
            time_unix_ms: e.time_unix_ms,
        })
        .collect();
    Ok(Json(serde_json::json!({ "events": events })))
}
