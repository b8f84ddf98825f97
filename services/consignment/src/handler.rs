//! The gRPC edge of the consignment service: proto in, the booking saga, proto out.

use std::time::Duration;

use shippy_common::auth::caller;
use shippy_common::deadline;
use shippy_common::error::to_status;
use shippy_proto::consignment::{self as pb, shipping_service_server::ShippingService};
use shippy_proto::tonic::{self, Request, Response, Status};

use crate::domain::{
    Consignment, ConsignmentError, ConsignmentFilter, Container, IdempotencyKey, NewConsignment,
    Step,
};
use crate::saga::Saga;

/// The metadata key a client sends so a retried booking books once.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Serves `shippy.consignment.ShippingService`.
#[derive(Clone)]
pub struct ConsignmentHandler {
    saga: Saga,
    /// The longest a booking may take, whatever deadline its caller gave.
    limit: Duration,
}

impl ConsignmentHandler {
    pub fn new(saga: Saga, limit: Duration) -> Self {
        Self { saga, limit }
    }
}

impl From<pb::Container> for Container {
    fn from(c: pb::Container) -> Self {
        Container {
            id: c.id,
            customer_id: c.customer_id,
            origin: c.origin,
            user_id: c.user_id,
        }
    }
}

impl From<Container> for pb::Container {
    fn from(c: Container) -> Self {
        pb::Container {
            id: c.id,
            customer_id: c.customer_id,
            origin: c.origin,
            user_id: c.user_id,
        }
    }
}

impl TryFrom<pb::Consignment> for NewConsignment {
    type Error = ConsignmentError;

    fn try_from(c: pb::Consignment) -> Result<Self, ConsignmentError> {
        let containers = c.containers.into_iter().map(Container::from).collect();
        NewConsignment::parse(&c.description, c.weight, containers)
    }
}

impl From<Step> for pb::Step {
    fn from(s: Step) -> Self {
        pb::Step {
            name: s.name,
            at: s.at,
            detail: s.detail,
            vessel_id: s.vessel_id,
        }
    }
}

impl From<Consignment> for pb::Consignment {
    fn from(c: Consignment) -> Self {
        pb::Consignment {
            id: c.id,
            description: c.description,
            weight: c.weight,
            containers: c.containers.into_iter().map(Into::into).collect(),
            vessel_id: c.vessel_id,
            user_id: c.user_id,
            status: c.status.as_str().to_owned(),
            created_at: c.created_at,
            reason: c.reason,
            steps: c.steps.into_iter().map(Into::into).collect(),
        }
    }
}

fn one(c: Consignment, created: bool) -> Response<pb::Response> {
    Response::new(pb::Response {
        created,
        consignment: Some(c.into()),
        ..Default::default()
    })
}

/// The idempotency key a request carries, if any.
fn idempotency_key<T>(request: &Request<T>) -> Result<IdempotencyKey, ConsignmentError> {
    let key = match request.metadata().get(IDEMPOTENCY_KEY) {
        Some(value) => Some(value.to_str().map_err(|_| {
            ConsignmentError::invalid(
                IDEMPOTENCY_KEY,
                shippy_common::FieldCode::BadFormat,
                "must be visible ASCII characters",
            )
        })?),
        None => None,
    };
    IdempotencyKey::parse(key)
}

#[tonic::async_trait]
impl ShippingService for ConsignmentHandler {
    async fn create_consignment(
        &self,
        request: Request<pb::Consignment>,
    ) -> Result<Response<pb::Response>, Status> {
        let user_id = caller(&request)?.user_id().to_owned();
        let deadline = deadline::derive(request.metadata(), self.limit);
        let key = idempotency_key(&request).map_err(|e| to_status(&e))?;
        let new = NewConsignment::try_from(request.into_inner()).map_err(|e| to_status(&e))?;
        let booked = self
            .saga
            .book(&user_id, key, new, deadline)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(one(booked, true))
    }

    async fn get_consignments(
        &self,
        request: Request<pb::GetRequest>,
    ) -> Result<Response<pb::Response>, Status> {
        let user_id = caller(&request)?.user_id().to_owned();
        let asked = request.into_inner();
        let filter =
            ConsignmentFilter::parse(&user_id, &asked.status).map_err(|e| to_status(&e))?;
        let page = self
            .saga
            .list(&filter, asked.page_size, &asked.page_token)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::Response {
            consignments: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
            ..Default::default()
        }))
    }

    async fn get_consignment(
        &self,
        request: Request<pb::ConsignmentRef>,
    ) -> Result<Response<pb::Response>, Status> {
        let user_id = caller(&request)?.user_id().to_owned();
        let found = self
            .saga
            .get(&user_id, &request.into_inner().id)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(one(found, false))
    }

    async fn cancel_consignment(
        &self,
        request: Request<pb::ConsignmentRef>,
    ) -> Result<Response<pb::Response>, Status> {
        let user_id = caller(&request)?.user_id().to_owned();
        let deadline = deadline::derive(request.metadata(), self.limit);
        let cancelled = self
            .saga
            .cancel(&user_id, &request.into_inner().id, deadline)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(one(cancelled, false))
    }
}
