//! Consignments: book one, list the caller's.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use shippy_common::client::GrpcChannel;
use shippy_proto::consignment::{self as pb, shipping_service_client::ShippingServiceClient};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::json::Json;
use crate::state::{AppState, authed};

pub fn router() -> Router<AppState> {
    Router::new().route("/consignments", get(list).post(create))
}

/// A consignment to book.
#[derive(Deserialize, ToSchema)]
pub struct NewConsignment {
    #[schema(
        example = "This is a test consignment",
        min_length = 1,
        max_length = 1024
    )]
    description: String,
    /// Greater than 0.
    #[schema(example = 55000, minimum = 1)]
    weight: i32,
    /// At least one, at most 10000.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 10000)]
    containers: Vec<Container>,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct Container {
    #[serde(default)]
    id: String,
    #[serde(default)]
    #[schema(example = "cust001")]
    customer_id: String,
    #[serde(default)]
    #[schema(example = "Manchester, United Kingdom")]
    origin: String,
    #[serde(default)]
    user_id: String,
}

impl From<pb::Container> for Container {
    fn from(c: pb::Container) -> Self {
        Self {
            id: c.id,
            customer_id: c.customer_id,
            origin: c.origin,
            user_id: c.user_id,
        }
    }
}

impl From<Container> for pb::Container {
    fn from(c: Container) -> Self {
        Self {
            id: c.id,
            customer_id: c.customer_id,
            origin: c.origin,
            user_id: c.user_id,
        }
    }
}

/// A booked consignment.
#[derive(Serialize, ToSchema)]
pub struct Consignment {
    id: String,
    description: String,
    weight: i32,
    containers: Vec<Container>,
    /// The vessel that carries it.
    vessel_id: String,
    /// The owner.
    user_id: String,
    #[schema(example = "booked")]
    status: String,
    /// RFC 3339.
    created_at: String,
}

impl From<pb::Consignment> for Consignment {
    fn from(c: pb::Consignment) -> Self {
        Self {
            id: c.id,
            description: c.description,
            weight: c.weight,
            containers: c.containers.into_iter().map(Container::from).collect(),
            vessel_id: c.vessel_id,
            user_id: c.user_id,
            status: c.status,
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Booked {
    created: bool,
    consignment: Option<Consignment>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsignmentList {
    consignments: Vec<Consignment>,
}

async fn client(state: &AppState) -> Result<ShippingServiceClient<GrpcChannel>, ApiError> {
    Ok(ShippingServiceClient::new(
        state.consignments.channel().await?,
    ))
}

/// Book a consignment onto the smallest available vessel that can carry it.
#[utoipa::path(post, path = "/api/v1/consignments", tag = "consignments",
    request_body = NewConsignment, security(("bearer" = [])),
    responses(
        (status = 201, description = "Booked; `vessel_id` names the vessel", body = Booked),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "No vessel can carry it; nothing was stored", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(c): Json<NewConsignment>,
) -> Result<(StatusCode, Json<Booked>), ApiError> {
    let message = pb::Consignment {
        description: c.description,
        weight: c.weight,
        containers: c.containers.into_iter().map(pb::Container::from).collect(),
        ..Default::default()
    };
    let request = authed(&headers, message)?;
    let created = client(&state)
        .await?
        .create_consignment(request)
        .await?
        .into_inner();
    let body = Booked {
        created: created.created,
        consignment: created.consignment.map(Consignment::from),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Your consignments, newest first.
#[utoipa::path(get, path = "/api/v1/consignments", tag = "consignments",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your consignments", body = ConsignmentList),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ConsignmentList>, ApiError> {
    let request = authed(&headers, pb::GetRequest {})?;
    let list = client(&state)
        .await?
        .get_consignments(request)
        .await?
        .into_inner()
        .consignments;
    Ok(Json(ConsignmentList {
        consignments: list.into_iter().map(Consignment::from).collect(),
    }))
}
