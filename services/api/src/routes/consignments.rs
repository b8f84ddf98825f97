//! Consignments: book one, list the caller's.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use shippy_proto::consignment::{self as pb, shipping_service_client::ShippingServiceClient};

use crate::error::ApiError;
use crate::json::Json;
use crate::state::{AppState, authed};

pub fn router() -> Router<AppState> {
    Router::new().route("/consignments", get(list).post(create))
}

#[derive(Deserialize)]
struct NewConsignment {
    description: String,
    weight: i32,
    #[serde(default)]
    containers: Vec<Container>,
}

#[derive(Deserialize, Serialize)]
struct Container {
    #[serde(default)]
    id: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    origin: String,
    #[serde(default)]
    user_id: String,
}

#[derive(Serialize)]
struct Consignment {
    id: String,
    description: String,
    weight: i32,
    containers: Vec<Container>,
    vessel_id: String,
    user_id: String,
    status: String,
    created_at: String,
}

impl From<pb::Consignment> for Consignment {
    fn from(c: pb::Consignment) -> Self {
        Self {
            id: c.id,
            description: c.description,
            weight: c.weight,
            containers: c
                .containers
                .into_iter()
                .map(|c| Container {
                    id: c.id,
                    customer_id: c.customer_id,
                    origin: c.origin,
                    user_id: c.user_id,
                })
                .collect(),
            vessel_id: c.vessel_id,
            user_id: c.user_id,
            status: c.status,
            created_at: c.created_at,
        }
    }
}

async fn client(
    state: &AppState,
) -> Result<ShippingServiceClient<shippy_proto::tonic::transport::Channel>, ApiError> {
    Ok(ShippingServiceClient::new(
        state.consignments.channel().await?,
    ))
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(c): Json<NewConsignment>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let message = pb::Consignment {
        description: c.description,
        weight: c.weight,
        containers: c
            .containers
            .into_iter()
            .map(|c| pb::Container {
                id: c.id,
                customer_id: c.customer_id,
                origin: c.origin,
                user_id: c.user_id,
            })
            .collect(),
        ..Default::default()
    };
    let request = authed(&headers, message)?;
    let created = client(&state)
        .await?
        .create_consignment(request)
        .await?
        .into_inner();
    let body = serde_json::json!({ "created": created.created, "consignment": created.consignment.map(Consignment::from) });
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request = authed(&headers, pb::GetRequest {})?;
    let list: Vec<Consignment> = client(&state)
        .await?
        .get_consignments(request)
        .await?
        .into_inner()
        .consignments
        .into_iter()
        .map(Consignment::from)
        .collect();
    Ok(Json(serde_json::json!({ "consignments": list })))
}
