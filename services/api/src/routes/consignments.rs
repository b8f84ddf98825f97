//! Consignments: book one (safely retried with an `Idempotency-Key`), list the caller's,
//! read one with its booking steps, cancel one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shippy_common::FieldErrors;
use shippy_proto::consignment as pb;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Bearer;
use crate::error::{ApiError, ErrorBody};
use crate::fields::{self, Text, Whole};
use crate::idempotency::{IDEMPOTENCY_KEY, IdempotencyKey};
use crate::json::{Json, Query};
use crate::paging::PageParams;
use crate::state::{AppState, ShippingService};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one))
        .routes(routes!(cancel))
}

/// A consignment to book.
#[derive(Deserialize, ToSchema)]
pub struct NewConsignment {
    #[serde(default)]
    #[schema(
        value_type = String,
        required = true,
        example = "This is a test consignment",
        min_length = 1,
        max_length = 1024
    )]
    description: Text,
    /// In kg; greater than 0.
    #[serde(default)]
    #[schema(value_type = i32, required = true, example = 55000, minimum = 1)]
    weight: Whole,
    /// At least one, at most 10000. (A body without it is refused with that message.)
    #[serde(default)]
    #[schema(min_items = 1, max_items = 10000, required = true)]
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

/// One step of a booking.
#[derive(Serialize, ToSchema)]
pub struct Step {
    /// `pending`, `reserved`, `booked`, `rejecting`, `rejected`, `cancelling`, `released`,
    /// `cancelled`.
    #[schema(example = "booked")]
    name: String,
    /// RFC 3339.
    at: String,
    /// What happened, for a person; may be reworded at any release: read the other fields.
    detail: String,
    /// The vessel the step concerns (room reserved, booked on, given back); empty if none.
    vessel_id: String,
}

impl From<pb::Step> for Step {
    fn from(s: pb::Step) -> Self {
        Self {
            name: s.name,
            at: s.at,
            detail: s.detail,
            vessel_id: s.vessel_id,
        }
    }
}

/// A consignment and where its booking stands.
#[derive(Serialize, ToSchema)]
pub struct Consignment {
    id: String,
    description: String,
    weight: i32,
    containers: Vec<Container>,
    /// The vessel that carries it; empty unless booked.
    vessel_id: String,
    /// The owner.
    user_id: String,
    /// `pending`, `booked`, `rejecting`, `rejected`, `cancelling`, `cancelled`, `failing`
    /// or `failed` (shippy gave up on it after `saga.max_attempts` tries; nothing is held).
    #[schema(example = "booked")]
    status: String,
    /// RFC 3339.
    created_at: String,
    /// Why no vessel took it, when it was rejected.
    reason: String,
    /// The booking's steps, oldest first.
    steps: Vec<Step>,
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
            reason: c.reason,
            steps: c.steps.into_iter().map(Step::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Booked {
    created: bool,
    consignment: Option<Consignment>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsignmentEnvelope {
    consignment: Option<Consignment>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsignmentList {
    consignments: Vec<Consignment>,
    /// The `page_token` of the next page; empty after the last.
    next_page_token: String,
}

/// Book a consignment.
///
/// Books it onto the smallest vessel with room left for it. The booking is a saga: stored as
/// pending, room reserved on the vessel, then booked; send an `Idempotency-Key` so that a
/// retry after a 503 or a broken connection returns the same booking.
#[utoipa::path(post, path = "/api/v1/consignments", tag = "consignments",
    operation_id = "createConsignment",
    request_body = NewConsignment, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        min_length = 1, max_length = 128, pattern = "^[!-~]+$",
        description = "1 to 128 visible ASCII characters: the same key books once, and answers the first outcome")),
    responses(
        (status = 201, description = "Booked; `vessel_id` names the vessel", body = Booked),
        (status = 400, description = "Fields or the Idempotency-Key are invalid: `fields` names every one", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used for another consignment, or its booking was cancelled", body = ErrorBody),
        (status = 422, description = "No vessel has room for it (it is kept as rejected, with the reason, holding nothing), or a retry of a booking shippy gave up on (failed, holding nothing: book it again with a new key)", body = ErrorBody),
        (status = 429, description = "You have the most bookings in flight one user may (limits.bookings_in_flight_per_user), or are over your request rate", body = ErrorBody),
        (status = 503, description = "Not finished now; retry with the same Idempotency-Key", body = ErrorBody),
    ))]
pub async fn create(
    State(consignments): State<ShippingService>,
    bearer: Bearer,
    key: IdempotencyKey,
    Json(c): Json<NewConsignment>,
) -> Result<(StatusCode, Json<Booked>), ApiError> {
    let mut errors = FieldErrors::new();
    let message = pb::Consignment {
        description: c.description.take(&mut errors, "description"),
        weight: c.weight.take(&mut errors, "weight"),
        containers: c.containers.into_iter().map(pb::Container::from).collect(),
        ..Default::default()
    };
    let key = key.check(&mut errors);
    fields::check(errors)?;
    let mut request = bearer.request(message);
    if let Some(key) = key {
        request.metadata_mut().insert(IDEMPOTENCY_KEY, key);
    }
    let created = consignments
        .get()
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

/// Which of your consignments to list.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsignmentFilter {
    /// Only those in this state: `pending`, `booked`, `rejecting`, `rejected`,
    /// `cancelling`, `cancelled`, `failing` or `failed`.
    #[serde(default)]
    #[param(
        pattern = "^(pending|booked|rejecting|rejected|cancelling|cancelled|failing|failed)?$"
    )]
    status: String,
}

/// List your consignments.
///
/// Your consignments, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/consignments", tag = "consignments",
    operation_id = "listConsignments",
    params(ConsignmentFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of your consignments", body = ConsignmentList),
        (status = 400, description = "A bad status, page size or page token", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list(
    State(consignments): State<ShippingService>,
    bearer: Bearer,
    Query(filter): Query<ConsignmentFilter>,
    Query(page): Query<PageParams>,
) -> Result<Json<ConsignmentList>, ApiError> {
    let mut errors = FieldErrors::new();
    let (page_size, page_token) = page.take(&mut errors);
    fields::check(errors)?;
    let request = bearer.request(pb::GetRequest {
        page_size,
        page_token,
        status: filter.status,
    });
    let page = consignments
        .get()
        .await?
        .get_consignments(request)
        .await?
        .into_inner();
    Ok(Json(ConsignmentList {
        consignments: page
            .consignments
            .into_iter()
            .map(Consignment::from)
            .collect(),
        next_page_token: page.next_page_token,
    }))
}

/// Get one of your consignments.
///
/// One of your consignments, with its booking steps and their times.
#[utoipa::path(get, path = "/api/v1/consignments/{id}", tag = "consignments",
    operation_id = "getConsignment",
    params(("id" = String, Path, description = "The consignment's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your consignment", body = ConsignmentEnvelope),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No consignment of yours has this id", body = ErrorBody),
    ))]
pub async fn one(
    State(consignments): State<ShippingService>,
    bearer: Bearer,
    Path(id): Path<String>,
) -> Result<Json<ConsignmentEnvelope>, ApiError> {
    let request = bearer.request(pb::ConsignmentRef { id });
    let found = consignments
        .get()
        .await?
        .get_consignment(request)
        .await?
        .into_inner();
    Ok(Json(ConsignmentEnvelope {
        consignment: found.consignment.map(Consignment::from),
    }))
}

/// Cancel a consignment.
///
/// Cancels one of your consignments and gives its room on the vessel back. Cancelling again
/// answers it as it is; so does cancelling a rejected one.
#[utoipa::path(post, path = "/api/v1/consignments/{id}/cancel", tag = "consignments",
    operation_id = "cancelConsignment",
    params(("id" = String, Path, description = "The consignment's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled (or already ended)", body = ConsignmentEnvelope),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No consignment of yours has this id", body = ErrorBody),
        (status = 503, description = "Not finished now; cancel again", body = ErrorBody),
    ))]
pub async fn cancel(
    State(consignments): State<ShippingService>,
    bearer: Bearer,
    Path(id): Path<String>,
) -> Result<Json<ConsignmentEnvelope>, ApiError> {
    let request = bearer.request(pb::ConsignmentRef { id });
    let cancelled = consignments
        .get()
        .await?
        .cancel_consignment(request)
        .await?
        .into_inner();
    Ok(Json(ConsignmentEnvelope {
        consignment: cancelled.consignment.map(Consignment::from),
    }))
}
