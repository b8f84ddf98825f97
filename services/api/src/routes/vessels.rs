//! Vessels: create, list, and find one for a specification.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shippy_common::FieldErrors;
use shippy_proto::vessel as pb;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Bearer;
use crate::error::{ApiError, ErrorBody};
use crate::fields::{self, QueryWhole, Text, Whole};
use crate::json::{Json, Query};
use crate::paging::PageParams;
use crate::state::{AppState, VesselService};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(find))
}

/// A vessel to create.
#[derive(Deserialize, ToSchema)]
pub struct NewVessel {
    /// Generated when empty.
    #[serde(default)]
    #[schema(value_type = String, example = "vessel002", max_length = 64)]
    id: Text,
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "Boaty McBoatface", min_length = 1, max_length = 256)]
    name: Text,
    /// How many containers it carries; greater than 0.
    #[serde(default)]
    #[schema(value_type = i32, required = true, example = 50, minimum = 1)]
    capacity: Whole,
    /// How much weight it carries, in kg; greater than 0.
    #[serde(default)]
    #[schema(value_type = i32, required = true, example = 60000, minimum = 1)]
    max_weight: Whole,
    #[serde(default = "yes")]
    available: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
pub struct Vessel {
    id: String,
    name: String,
    capacity: i32,
    max_weight: i32,
    available: bool,
    /// The user who created it; empty for the seeded vessel.
    owner_id: String,
    /// Containers not yet reserved by bookings (`capacity` less what bookings hold).
    remaining_capacity: i32,
    /// Weight not yet reserved by bookings (`max_weight` less what bookings hold).
    remaining_weight: i32,
}

impl From<pb::Vessel> for Vessel {
    fn from(v: pb::Vessel) -> Self {
        Self {
            id: v.id,
            name: v.name,
            capacity: v.capacity,
            max_weight: v.max_weight,
            available: v.available,
            owner_id: v.owner_id,
            remaining_capacity: v.remaining_capacity,
            remaining_weight: v.remaining_weight,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VesselEnvelope {
    created: bool,
    vessel: Option<Vessel>,
}

#[derive(Serialize, ToSchema)]
pub struct VesselList {
    vessels: Vec<Vessel>,
    /// The `page_token` of the next page; empty after the last.
    next_page_token: String,
}

/// What a consignment needs.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Spec {
    /// Containers to carry.
    #[serde(default)]
    #[param(value_type = i32, required = true, minimum = 0)]
    capacity: QueryWhole,
    /// Weight to carry, in kg.
    #[serde(default)]
    #[param(value_type = i32, required = true, minimum = 0)]
    max_weight: QueryWhole,
}

/// Create a vessel.
///
/// Adds a vessel, owned by the signed-in user, with the containers and weight it carries;
/// bookings then reserve room on it.
#[utoipa::path(post, path = "/api/v1/vessels", tag = "vessels", operation_id = "createVessel",
    request_body = NewVessel,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = VesselEnvelope),
        (status = 400, description = "Fields are invalid: `fields` names every one", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 409, description = "A vessel with this id exists", body = ErrorBody),
        (status = 429, description = "You have the most vessels one user may (limits.vessels_per_user), or are over your request rate", body = ErrorBody),
    ))]
pub async fn create(
    State(vessels): State<VesselService>,
    bearer: Bearer,
    Json(v): Json<NewVessel>,
) -> Result<(StatusCode, Json<VesselEnvelope>), ApiError> {
    let mut errors = FieldErrors::new();
    let message = pb::Vessel {
        id: v.id.take(&mut errors, "id"),
        name: v.name.take(&mut errors, "name"),
        capacity: v.capacity.take(&mut errors, "capacity"),
        max_weight: v.max_weight.take(&mut errors, "max_weight"),
        available: v.available,
        ..Default::default()
    };
    fields::check(errors)?;
    let created = vessels
        .get()
        .await?
        .create(bearer.request(message))
        .await?
        .into_inner();
    let body = VesselEnvelope {
        created: created.created,
        vessel: created.vessel.map(Vessel::from),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Which vessels to list.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VesselFilter {
    /// Only your own vessels.
    #[serde(default)]
    mine: bool,
    /// Only vessels open for bookings.
    #[serde(default)]
    available: bool,
}

/// List vessels.
///
/// The vessels, smallest first (by capacity, max weight, id), a page at a time.
#[utoipa::path(get, path = "/api/v1/vessels", tag = "vessels", operation_id = "listVessels",
    params(VesselFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of vessels", body = VesselList),
        (status = 400, description = "A bad page size or page token", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list(
    State(vessels): State<VesselService>,
    bearer: Bearer,
    Query(filter): Query<VesselFilter>,
    Query(page): Query<PageParams>,
) -> Result<Json<VesselList>, ApiError> {
    let mut errors = FieldErrors::new();
    let (page_size, page_token) = page.take(&mut errors);
    fields::check(errors)?;
    let request = bearer.request(pb::ListRequest {
        page_size,
        page_token,
        mine: filter.mine,
        only_available: filter.available,
    });
    let page = vessels.get().await?.list(request).await?.into_inner();
    Ok(Json(VesselList {
        vessels: page.vessels.into_iter().map(Vessel::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// Find a vessel for a specification.
///
/// The smallest available vessel that can carry a specification.
#[utoipa::path(get, path = "/api/v1/vessels/available", tag = "vessels",
    operation_id = "findAvailableVessel", params(Spec),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A vessel that fits", body = VesselEnvelope),
        (status = 400, description = "A negative or missing number: `fields` names every one", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No available vessel fits", body = ErrorBody),
    ))]
pub async fn find(
    State(vessels): State<VesselService>,
    bearer: Bearer,
    Query(spec): Query<Spec>,
) -> Result<Json<VesselEnvelope>, ApiError> {
    let mut errors = FieldErrors::new();
    let message = pb::Specification {
        capacity: spec.capacity.take(&mut errors, "capacity"),
        max_weight: spec.max_weight.take(&mut errors, "max_weight"),
        // The caller's own share counts: the vessel service takes the user from the token.
        user_id: String::new(),
    };
    fields::check(errors)?;
    let found = vessels
        .get()
        .await?
        .find_available(bearer.request(message))
        .await?;
    Ok(Json(VesselEnvelope {
        created: false,
        vessel: found.into_inner().vessel.map(Vessel::from),
    }))
}
