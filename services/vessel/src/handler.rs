//! The gRPC edge of the vessel service.

use std::sync::Arc;

use shippy_common::auth::caller;
use shippy_common::error::to_status;
use shippy_common::events::Events;
use shippy_proto::tonic::{self, Request, Response, Status};
use shippy_proto::vessel::{self as pb, vessel_service_server::VesselService};

use crate::domain::{Specification, Vessel, VesselError};
use crate::repo::{RepoError, VesselRepository};

/// Serves `shippy.vessel.VesselService`.
#[derive(Clone)]
pub struct VesselHandler {
    repo: Arc<dyn VesselRepository>,
    events: Events,
}

impl VesselHandler {
    pub fn new(repo: Arc<dyn VesselRepository>, events: Events) -> Self {
        Self { repo, events }
    }
}

fn from_proto(v: pb::Vessel) -> Vessel {
    Vessel {
        id: v.id,
        capacity: v.capacity,
        max_weight: v.max_weight,
        name: v.name,
        available: v.available,
        owner_id: v.owner_id,
    }
}

fn to_proto(v: Vessel) -> pb::Vessel {
    pb::Vessel {
        id: v.id,
        capacity: v.capacity,
        max_weight: v.max_weight,
        name: v.name,
        available: v.available,
        owner_id: v.owner_id,
    }
}

fn status(e: VesselError) -> Status {
    to_status(&e)
}

#[tonic::async_trait]
impl VesselService for VesselHandler {
    async fn find_available(
        &self,
        request: Request<pb::Specification>,
    ) -> Result<Response<pb::Response>, Status> {
        let s = request.into_inner();
        let spec = Specification::parse(s.capacity, s.max_weight).map_err(status)?;
        let found = self
            .repo
            .find_available(spec)
            .await
            .map_err(|e| status(e.into()))?;
        let vessel = found.ok_or_else(|| status(VesselError::NoneAvailable(spec)))?;
        Ok(Response::new(pb::Response {
            vessel: Some(to_proto(vessel)),
            vessels: vec![],
            created: false,
        }))
    }

    async fn create(&self, request: Request<pb::Vessel>) -> Result<Response<pb::Response>, Status> {
        let user_id = caller(&request)?.user_id().to_owned();
        let mut vessel = from_proto(request.into_inner()).parse().map_err(status)?;
        vessel.owner_id.clone_from(&user_id);
        let message = format!(
            "vessel {} {:?} created (capacity {}, max weight {})",
            vessel.id, vessel.name, vessel.capacity, vessel.max_weight
        );
        let event = self.events.outgoing("Create", message, &user_id);
        self.repo
            .create(&vessel, &event)
            .await
            .map_err(|e| match e {
                RepoError::DuplicateId => status(VesselError::DuplicateId(vessel.id.clone())),
                other => status(other.into()),
            })?;
        self.events.written();
        Ok(Response::new(pb::Response {
            vessel: Some(to_proto(vessel)),
            vessels: vec![],
            created: true,
        }))
    }

    async fn list(&self, _: Request<pb::ListRequest>) -> Result<Response<pb::Response>, Status> {
        let vessels = self.repo.list().await.map_err(|e| status(e.into()))?;
        Ok(Response::new(pb::Response {
            vessel: None,
            vessels: vessels.into_iter().map(to_proto).collect(),
            created: false,
        }))
    }
}
