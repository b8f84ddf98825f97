//! Vessels: create, list, and find one for a specification.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use shippy_proto::vessel::{self as pb, vessel_service_client::VesselServiceClient};

use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::state::{AppState, authed};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vessels", get(list).post(create))
        .route("/vessels/available", get(find))
}

#[derive(Deserialize, Serialize)]
pub struct Vessel {
    #[serde(default)]
    id: String,
    capacity: i32,
    max_weight: i32,
    name: String,
    #[serde(default = "yes")]
    available: bool,
    #[serde(default, skip_deserializing)]
    owner_id: String,
}

fn yes() -> bool {
    true
}

impl From<pb::Vessel> for Vessel {
    fn from(v: pb::Vessel) -> Self {
        Self {
            id: v.id,
            capacity: v.capacity,
            max_weight: v.max_weight,
            name: v.name,
            available: v.available,
            owner_id: v.owner_id,
        }
    }
}

#[derive(Deserialize)]
struct Spec {
    capacity: i32,
    max_weight: i32,
}

async fn client(
    state: &AppState,
) -> Result<VesselServiceClient<shippy_proto::tonic::transport::Channel>, ApiError> {
    Ok(VesselServiceClient::new(state.vessels.channel().await?))
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(v): Json<Vessel>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let request = authed(
        &headers,
        pb::Vessel {
            id: v.id,
            capacity: v.capacity,
            max_weight: v.max_weight,
            name: v.name,
            available: v.available,
            owner_id: String::new(),
        },
    )?;
    let created = client(&state).await?.create(request).await?.into_inner();
    Ok((
        StatusCode::CREATED,
        Json(
            serde_json::json!({ "created": created.created, "vessel": created.vessel.map(Vessel::from) }),
        ),
    ))
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request = authed(&headers, pb::ListRequest {})?;
    let vessels: Vec<Vessel> = client(&state)
        .await?
        .list(request)
        .await?
        .into_inner()
        .vessels
        .into_iter()
        .map(Vessel::from)
        .collect();
    Ok(Json(serde_json::json!({ "vessels": vessels })))
}

async fn find(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(spec): Query<Spec>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request = authed(
        &headers,
        pb::Specification {
            capacity: spec.capacity,
            max_weight: spec.max_weight,
        },
    )?;
    let found = client(&state)
        .await?
        .find_available(request)
        .await?
        .into_inner();
    Ok(Json(
        serde_json::json!({ "vessel": found.vessel.map(Vessel::from) }),
    ))
}
