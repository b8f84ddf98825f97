//! The gRPC edge of the vessel service: proto in, domain rules, repository, proto out.

use std::sync::Arc;

use shippy_common::auth::{Caller, caller};
use shippy_common::error::to_status;
use shippy_common::events::Events;
use shippy_proto::tonic::{self, Request, Response, Status};
use shippy_proto::vessel::{self as pb, vessel_service_server::VesselService};

use crate::domain::{
    Answer, Hold, Holder, Release, Reservation, Share, Specification, Vessel, VesselError,
    VesselFilter, parse_id,
};
use crate::events;
use crate::repo::{RepoError, VesselRepository};
use shippy_common::paging::PageRequest;

/// Serves `shippy.vessel.VesselService`.
#[derive(Clone)]
pub struct VesselHandler {
    repo: Arc<dyn VesselRepository>,
    events: Events,
    /// The most vessels one user may create (`limits.vessels_per_user`); 0: no limit.
    vessels_per_user: u64,
    /// The most of a vessel not theirs one user may hold (`limits.vessel_share_percent`).
    share: Share,
}

impl VesselHandler {
    pub fn new(repo: Arc<dyn VesselRepository>, events: Events) -> Self {
        Self {
            repo,
            events,
            vessels_per_user: 0,
            share: Share::WHOLE,
        }
    }

    /// The handler, holding each user to `share` of a vessel that is not theirs.
    pub fn with_vessel_share(mut self, share: Share) -> Self {
        self.share = share;
        self
    }

    /// The handler, holding each user to at most `most` vessels (0: no limit).
    pub fn with_vessels_per_user(mut self, most: u64) -> Self {
        self.vessels_per_user = most;
        self
    }
}

impl From<pb::Vessel> for Vessel {
    fn from(v: pb::Vessel) -> Self {
        Vessel {
            id: v.id,
            capacity: v.capacity,
            max_weight: v.max_weight,
            name: v.name,
            available: v.available,
            owner_id: v.owner_id,
            remaining_capacity: v.remaining_capacity,
            remaining_weight: v.remaining_weight,
        }
    }
}

impl From<Vessel> for pb::Vessel {
    fn from(v: Vessel) -> Self {
        pb::Vessel {
            id: v.id,
            capacity: v.capacity,
            max_weight: v.max_weight,
            name: v.name,
            available: v.available,
            owner_id: v.owner_id,
            remaining_capacity: v.remaining_capacity,
            remaining_weight: v.remaining_weight,
        }
    }
}

impl TryFrom<pb::ReserveRequest> for Hold {
    type Error = VesselError;

    fn try_from(r: pb::ReserveRequest) -> Result<Self, VesselError> {
        Ok(Hold::parse(
            &r.consignment_id,
            &r.vessel_id,
            r.capacity,
            r.weight,
            &r.user_id,
        )?
        .at(r.sequence))
    }
}

impl TryFrom<pb::ReleaseRequest> for Release {
    type Error = VesselError;

    fn try_from(r: pb::ReleaseRequest) -> Result<Self, VesselError> {
        Ok(Release {
            sequence: r.sequence,
            ..Release::parse(&r.consignment_id, &r.user_id)?
        })
    }
}

impl TryFrom<pb::Specification> for Specification {
    type Error = VesselError;

    fn try_from(s: pb::Specification) -> Result<Self, VesselError> {
        Specification::parse(s.capacity, s.max_weight)
    }
}

impl From<Answer> for pb::Reservation {
    fn from(a: Answer) -> Self {
        let r = a.reservation;
        pb::Reservation {
            consignment_id: r.consignment_id,
            vessel_id: r.vessel_id,
            capacity: r.capacity,
            weight: r.weight,
            held: r.held,
            changed: a.changed,
        }
    }
}

fn status(e: VesselError) -> Status {
    to_status(&e)
}

fn store(e: RepoError) -> Status {
    status(e.into())
}

/// Reserve and Release move room that bookings hold: only shippy's services may.
fn service_only<T>(request: &Request<T>, method: &'static str) -> Result<(), Status> {
    let caller: &Caller = caller(request)?;
    if caller.is_service() {
        Ok(())
    } else {
        Err(status(VesselError::ServicesOnly(method)))
    }
}

#[tonic::async_trait]
impl VesselService for VesselHandler {
    async fn find_available(
        &self,
        request: Request<pb::Specification>,
    ) -> Result<Response<pb::Response>, Status> {
        // For whom: a service names the booking's owner; a user asks for themselves.
        let caller = caller(&request)?;
        let for_user = if caller.is_service() {
            request.get_ref().user_id.clone()
        } else {
            caller.user_id().to_owned()
        };
        let holder = Holder::new(&for_user, self.share);
        let spec = Specification::try_from(request.into_inner()).map_err(status)?;
        let found = self
            .repo
            .find_available(spec, &holder)
            .await
            .map_err(store)?;
        let vessel = found.ok_or_else(|| {
            status(if holder.is_capped() {
                VesselError::NoneWithinShare {
                    spec,
                    percent: holder.share.as_percent(),
                }
            } else {
                VesselError::NoneAvailable(spec)
            })
        })?;
        Ok(Response::new(pb::Response {
            vessel: Some(vessel.into()),
            created: false,
            ..Default::default()
        }))
    }

    async fn create(&self, request: Request<pb::Vessel>) -> Result<Response<pb::Response>, Status> {
        let user_id = caller(&request)?.user_id().to_owned();
        let vessel = Vessel::from(request.into_inner())
            .create(&user_id)
            .map_err(status)?;
        // The vessel's first event.
        let event = self
            .events
            .outgoing(events::created(&vessel, false), 1, &user_id);
        self.repo
            .create_within(&vessel, &event, self.vessels_per_user)
            .await
            .map_err(|e| match e {
                RepoError::DuplicateId => status(VesselError::DuplicateId(vessel.id.clone())),
                RepoError::QuotaReached => {
                    status(VesselError::TooManyVessels(self.vessels_per_user))
                }
                other => store(other),
            })?;
        Ok(Response::new(pb::Response {
            vessel: Some(vessel.into()),
            created: true,
            ..Default::default()
        }))
    }

    async fn list(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::Response>, Status> {
        let caller = caller(&request)?.user_id().to_owned();
        let asked = request.into_inner();
        let filter = VesselFilter::new(&caller, asked.mine, asked.only_available);
        let query = filter.query(&caller);
        let page = PageRequest::parse(asked.page_size, &asked.page_token, &query)
            .map_err(|e| status(VesselError::Invalid(e)))?;
        let rows = self.repo.list(&filter, &page).await.map_err(store)?;
        let page = page.page(rows, Vessel::key, &query);
        Ok(Response::new(pb::Response {
            vessel: None,
            vessels: page.items.into_iter().map(Into::into).collect(),
            created: false,
            next_page_token: page.next_page_token,
        }))
    }

    async fn reserve(
        &self,
        request: Request<pb::ReserveRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        service_only(&request, "Reserve")?;
        let hold = Hold::try_from(request.into_inner())
            .map_err(status)?
            .within(self.share);
        let event = self
            .events
            .outgoing(events::reserved(&hold), hold.sequence, &hold.user_id);
        let reserved = self.repo.reserve(&hold, &event).await.map_err(store)?;
        let answer = hold.answer(reserved).map_err(status)?;
        Ok(Response::new(answer.into()))
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        service_only(&request, "Release")?;
        let release = Release::try_from(request.into_inner()).map_err(status)?;
        let events = self.events.clone();
        let (user_id, sequence) = (release.user_id, release.sequence);
        let event = Box::new(move |held: &Reservation| {
            events.outgoing(crate::events::released(held), sequence, &user_id)
        });
        let released = self
            .repo
            .release(&release.consignment_id, event)
            .await
            .map_err(store)?;
        Ok(Response::new(Answer::from(released).into()))
    }

    async fn get_reservation(
        &self,
        request: Request<pb::ReservationQuery>,
    ) -> Result<Response<pb::Reservation>, Status> {
        service_only(&request, "GetReservation")?;
        let consignment_id =
            parse_id("consignment_id", &request.into_inner().consignment_id).map_err(status)?;
        let reservation = self
            .repo
            .reservation(&consignment_id)
            .await
            .map_err(store)?
            .ok_or_else(|| status(VesselError::NoReservation(consignment_id)))?;
        Ok(Response::new(
            Answer {
                reservation,
                changed: false,
            }
            .into(),
        ))
    }
}
