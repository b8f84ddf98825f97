//! The gRPC edge of the consignment service.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use shippy_common::auth::{Caller, caller};
use shippy_common::deadline;
use shippy_common::error::to_status;
use shippy_common::events::Events;
use shippy_proto::consignment::{self as pb, shipping_service_server::ShippingService};
use shippy_proto::tonic::{self, Request, Response, Status};
use time::format_description::well_known::Rfc3339;

use crate::domain::{Consignment, ConsignmentError, Container, NewConsignment};
use crate::repo::ConsignmentRepository;
use crate::vessels::VesselFinder;

/// Serves `shippy.consignment.ShippingService`.
#[derive(Clone)]
pub struct ConsignmentHandler {
    repo: Arc<dyn ConsignmentRepository>,
    vessels: Arc<dyn VesselFinder>,
    events: Events,
    /// The longest a booking may take, whatever deadline its caller gave.
    limit: Duration,
}

impl ConsignmentHandler {
    pub fn new(
        repo: Arc<dyn ConsignmentRepository>,
        vessels: Arc<dyn VesselFinder>,
        events: Events,
        limit: Duration,
    ) -> Self {
        Self {
            repo,
            vessels,
            events,
            limit,
        }
    }

    /// Validates, finds a vessel, stores, publishes: nothing is stored unless a vessel fits.
    async fn book(
        &self,
        caller: &Caller,
        input: pb::Consignment,
        deadline: Instant,
    ) -> Result<Consignment, ConsignmentError> {
        let containers = input
            .containers
            .into_iter()
            .map(container_from_proto)
            .collect();
        let new = NewConsignment::parse(&input.description, input.weight, containers)?;
        let vessel_id = self
            .vessels
            .find(new.capacity_needed(), new.weight, &caller.token, deadline)
            .await?;
        let consignment = Consignment {
            id: uuid::Uuid::now_v7().to_string(),
            description: new.description,
            weight: new.weight,
            containers: new.containers,
            vessel_id,
            user_id: caller.user_id().to_owned(),
            status: "booked".into(),
            created_at: time::OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default(),
        };
        let message = format!(
            "consignment {} ({} containers, {} kg) booked on vessel {}",
            consignment.id,
            consignment.containers.len(),
            consignment.weight,
            consignment.vessel_id
        );
        let event = self
            .events
            .outgoing("CreateConsignment", message, caller.user_id());
        self.repo.create(&consignment, &event).await?;
        self.events.written();
        Ok(consignment)
    }
}

fn container_from_proto(c: pb::Container) -> Container {
    Container {
        id: c.id,
        customer_id: c.customer_id,
        origin: c.origin,
        user_id: c.user_id,
    }
}

fn to_proto(c: Consignment) -> pb::Consignment {
    pb::Consignment {
        id: c.id,
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
        vessel_id: c.vessel_id,
        user_id: c.user_id,
        status: c.status,
        created_at: c.created_at,
    }
}

#[tonic::async_trait]
impl ShippingService for ConsignmentHandler {
    async fn create_consignment(
        &self,
        request: Request<pb::Consignment>,
    ) -> Result<Response<pb::Response>, Status> {
        let caller = caller(&request)?.clone();
        let deadline = deadline::derive(request.metadata(), self.limit);
        let booked = self
            .book(&caller, request.into_inner(), deadline)
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(pb::Response {
            created: true,
            consignment: Some(to_proto(booked)),
            consignments: vec![],
        }))
    }

    async fn get_consignments(
        &self,
        request: Request<pb::GetRequest>,
    ) -> Result<Response<pb::Response>, Status> {
        let user_id = caller(&request)?.user_id().to_owned();
        let list = self
            .repo
            .by_owner(&user_id)
            .await
            .map_err(|e| to_status(&ConsignmentError::from(e)))?;
        Ok(Response::new(pb::Response {
            created: false,
            consignment: None,
            consignments: list.into_iter().map(to_proto).collect(),
        }))
    }
}
