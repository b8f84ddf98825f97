//! The consignment service's view of the vessel service: "find me a vessel for this", "what
//! does this consignment hold", "hold this room", "give it back", made as the consignment
//! service itself (the saga goes on after a restart, when no user's token is at hand) over a
//! discovered, balanced channel, within the caller's deadline. Every call is safe to repeat
//! (the lookups read; a reservation or a release is keyed by consignment id), so an
//! unavailable instance's answer is retried on another one, within a retry budget.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shippy_common::ErrorKind;
use shippy_common::auth::{ServiceTokens, forward_token};
use shippy_common::client::Discovered;
use shippy_common::config::ClientConfig;
use shippy_proto::tonic::{Code, Request, Status};
use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
use shippy_proto::vessel::{ReleaseRequest, ReservationQuery, ReserveRequest, Specification};
use tokio::time::Instant;
use tower::retry::budget::{Budget, TpsBudget};

use crate::domain::ConsignmentError;

/// The only methods the consignment service's own token may call: the saga's, on the vessel
/// service. Every guard refuses it for anything else.
pub const SAGA_CALLS: &[&str] = &[
    "/shippy.vessel.VesselService/FindAvailable",
    "/shippy.vessel.VesselService/Reserve",
    "/shippy.vessel.VesselService/Release",
    "/shippy.vessel.VesselService/GetReservation",
];

/// What asking the vessel service to hold room came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Room is held for the consignment on this vessel (maybe by an earlier ask).
    Held { vessel_id: String },
    /// The vessel lacks the room now (a race took it): try another.
    NoRoom(String),
    /// The consignment's reservation was released: it will never hold room.
    Released,
}

/// What one consignment holds on the vessel service, as a resumed booking finds out before
/// it looks for room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holding {
    /// Nothing was ever reserved (or released) for it.
    Nothing,
    /// Room is held for it on this vessel: the booking keeps it.
    Held { vessel_id: String },
    /// Its reservation was released: it will never hold room.
    Released,
}

/// Room to hold for one booking on one vessel, in the saga's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub consignment_id: String,
    pub vessel_id: String,
    pub capacity: i32,
    pub weight: i32,
    /// The booking's owner, for the vessel service's activity log.
    pub user_id: String,
    /// The hold's place among the booking's events, for the event the vessel service makes.
    pub sequence: i64,
}

impl From<&Room> for ReserveRequest {
    fn from(r: &Room) -> Self {
        ReserveRequest {
            consignment_id: r.consignment_id.clone(),
            vessel_id: r.vessel_id.clone(),
            capacity: r.capacity,
            weight: r.weight,
            user_id: r.user_id.clone(),
            sequence: r.sequence,
        }
    }
}

/// The vessel service, as the booking saga uses it: no wire types, so a fake stands in.
#[async_trait]
pub trait Vessels: Send + Sync + 'static {
    /// The id of the smallest available vessel with room left for `capacity` containers
    /// and `max_weight`, answered before `deadline`; [`ConsignmentError::NoVessel`] if none.
    async fn find(
        &self,
        capacity: i32,
        max_weight: i32,
        user_id: &str,
        deadline: Instant,
    ) -> Result<String, ConsignmentError>;
    /// What `consignment_id` holds now (a read, changing nothing).
    async fn holding(
        &self,
        consignment_id: &str,
        deadline: Instant,
    ) -> Result<Holding, ConsignmentError>;
    /// Holds `room` (asking again for its consignment holds nothing more).
    async fn reserve(&self, room: &Room, deadline: Instant) -> Result<Hold, ConsignmentError>;
    /// Gives back what `consignment_id` holds (the owner `user_id`'s), as the `sequence`-th
    /// of the booking's events; answers the vessel it was held on, if any.
    async fn release(
        &self,
        consignment_id: &str,
        user_id: &str,
        sequence: i64,
        deadline: Instant,
    ) -> Result<Option<String>, ConsignmentError>;
}

/// The vessel service over gRPC. The lookup is a read, so an UNAVAILABLE answer (an
/// instance that died or was unreachable) is retried on another instance, a few times,
/// within the deadline and a retry budget shared by all lookups.
#[derive(Clone)]
pub struct GrpcVessels {
    vessels: Discovered,
    tokens: Arc<ServiceTokens>,
    retries: u32,
    budget: Arc<TpsBudget>,
}

impl std::fmt::Debug for GrpcVessels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcVessels")
            .field("vessels", &self.vessels)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl GrpcVessels {
    pub fn new(vessels: Discovered, tokens: Arc<ServiceTokens>, client: &ClientConfig) -> Self {
        // Retries may add `retry_budget_percent` to the reads of the last ten seconds, and at
        // least a few a second however quiet it is.
        #[allow(clippy::cast_precision_loss)]
        let percent = client.retry_budget_percent as f32 / 100.0;
        Self {
            vessels,
            tokens,
            retries: client.read_retries,
            budget: Arc::new(TpsBudget::new(Duration::from_secs(10), 5, percent)),
        }
    }

    /// A client on a live instance, and `message` as a request signed as this service.
    async fn prepare<T>(
        &self,
        message: T,
        deadline: Instant,
    ) -> Result<(Client, Request<T>), ConsignmentError> {
        let channel = self
            .vessels
            .channel()
            .await
            .map_err(|s| unavailable(s.message().to_owned()))?;
        let mut request = Request::new(message);
        request.set_timeout(deadline.saturating_duration_since(Instant::now()));
        let token = self
            .tokens
            .token()
            .map_err(|e| unavailable(format!("cannot sign the service's call: {e}")))?;
        forward_token(&mut request, &token).map_err(|s| unavailable(s.message().to_owned()))?;
        Ok((VesselServiceClient::new(channel), request))
    }

    async fn attempt(
        &self,
        spec: Specification,
        deadline: Instant,
    ) -> Result<String, ConsignmentError> {
        let (mut client, request) = self.prepare(spec, deadline).await?;
        match client.find_available(request).await {
            Ok(response) => response
                .into_inner()
                .vessel
                .map(|v| v.id)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| unavailable("answered without a vessel".into())),
            Err(status) if status.code() == Code::NotFound => {
                Err(ConsignmentError::NoVessel(status.message().to_owned()))
            }
            Err(status) => Err(refused(&status)),
        }
    }
}

/// The vessel service's refusal, as the consignment service's error.
fn refused(status: &Status) -> ConsignmentError {
    ConsignmentError::Vessels {
        kind: ErrorKind::from_grpc(status.code()),
        message: status.message().to_owned(),
    }
}

type Client = VesselServiceClient<shippy_common::client::GrpcChannel>;

impl GrpcVessels {
    /// Runs `call` until it answers something other than UNAVAILABLE, a few times, on
    /// whichever instance the balancer picks, within the deadline and the retry budget.
    async fn retrying<T, F, Fut>(
        &self,
        deadline: Instant,
        mut call: F,
    ) -> Result<T, ConsignmentError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ConsignmentError>>,
    {
        self.budget.deposit();
        let mut left = self.retries;
        loop {
            let result = call().await;
            let retryable = matches!(
                &result,
                Err(ConsignmentError::Vessels {
                    kind: ErrorKind::Unavailable,
                    ..
                })
            );
            if !retryable || left == 0 || Instant::now() >= deadline || !self.budget.withdraw() {
                return result;
            }
            left -= 1;
            if let Err(e) = &result {
                tracing::debug!(error = %e, "vessel service unavailable; retrying on another instance");
            }
        }
    }

    async fn reserve_once(
        &self,
        request: ReserveRequest,
        deadline: Instant,
    ) -> Result<Hold, ConsignmentError> {
        let (mut client, request) = self.prepare(request, deadline).await?;
        match client.reserve(request).await {
            Ok(r) => Ok(Hold::Held {
                vessel_id: r.into_inner().vessel_id,
            }),
            Err(s) if matches!(s.code(), Code::FailedPrecondition | Code::NotFound) => {
                Ok(Hold::NoRoom(s.message().to_owned()))
            }
            Err(s) if s.code() == Code::Aborted => Ok(Hold::Released),
            Err(s) => Err(refused(&s)),
        }
    }

    async fn holding_once(
        &self,
        query: ReservationQuery,
        deadline: Instant,
    ) -> Result<Holding, ConsignmentError> {
        let (mut client, request) = self.prepare(query, deadline).await?;
        match client.get_reservation(request).await {
            Ok(r) => {
                let r = r.into_inner();
                Ok(if r.held {
                    Holding::Held {
                        vessel_id: r.vessel_id,
                    }
                } else {
                    Holding::Released
                })
            }
            Err(s) if s.code() == Code::NotFound => Ok(Holding::Nothing),
            Err(s) => Err(refused(&s)),
        }
    }

    async fn release_once(
        &self,
        request: ReleaseRequest,
        deadline: Instant,
    ) -> Result<Option<String>, ConsignmentError> {
        let (mut client, request) = self.prepare(request, deadline).await?;
        let released = client.release(request).await.map_err(|s| refused(&s))?;
        let vessel = released.into_inner().vessel_id;
        Ok(Some(vessel).filter(|v| !v.is_empty()))
    }
}

fn unavailable(message: String) -> ConsignmentError {
    ConsignmentError::Vessels {
        kind: ErrorKind::Unavailable,
        message,
    }
}

#[async_trait]
impl Vessels for GrpcVessels {
    async fn find(
        &self,
        capacity: i32,
        max_weight: i32,
        user_id: &str,
        deadline: Instant,
    ) -> Result<String, ConsignmentError> {
        // For whom: the vessel service passes over vessels on which they hold their share.
        let spec = Specification {
            capacity,
            max_weight,
            user_id: user_id.to_owned(),
        };
        self.retrying(deadline, || self.attempt(spec.clone(), deadline))
            .await
    }

    async fn holding(
        &self,
        consignment_id: &str,
        deadline: Instant,
    ) -> Result<Holding, ConsignmentError> {
        let query = ReservationQuery {
            consignment_id: consignment_id.to_owned(),
        };
        self.retrying(deadline, || self.holding_once(query.clone(), deadline))
            .await
    }

    async fn reserve(&self, room: &Room, deadline: Instant) -> Result<Hold, ConsignmentError> {
        let request = ReserveRequest::from(room);
        self.retrying(deadline, || self.reserve_once(request.clone(), deadline))
            .await
    }

    async fn release(
        &self,
        consignment_id: &str,
        user_id: &str,
        sequence: i64,
        deadline: Instant,
    ) -> Result<Option<String>, ConsignmentError> {
        let request = ReleaseRequest {
            consignment_id: consignment_id.to_owned(),
            user_id: user_id.to_owned(),
            sequence,
        };
        self.retrying(deadline, || self.release_once(request.clone(), deadline))
            .await
    }
}

#[cfg(test)]
mod tests {
    use shippy_proto::vessel::vessel_service_server::SERVICE_NAME;

    use super::SAGA_CALLS;

    #[test]
    fn the_saga_token_names_the_vessel_services_methods_as_they_are_routed() {
        let methods = ["FindAvailable", "Reserve", "Release", "GetReservation"];
        assert_eq!(SAGA_CALLS.len(), methods.len());
        for (call, method) in SAGA_CALLS.iter().zip(methods) {
            assert_eq!(*call, format!("/{SERVICE_NAME}/{method}"));
        }
    }
}
