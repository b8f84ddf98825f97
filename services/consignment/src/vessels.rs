//! The consignment service's view of the vessel service: "find me a vessel for this", made
//! with the caller's own token over a discovered, balanced channel, within the caller's
//! deadline, retried on another instance when one is unavailable.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shippy_common::ErrorKind;
use shippy_common::auth::forward_token;
use shippy_common::client::Discovered;
use shippy_common::config::ClientConfig;
use shippy_proto::tonic::{Code, Request};
use shippy_proto::vessel::Specification;
use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
use tokio::time::Instant;
use tower::retry::budget::{Budget, TpsBudget};

use crate::domain::ConsignmentError;

/// Finds a vessel for a consignment.
#[async_trait]
pub trait VesselFinder: Send + Sync + 'static {
    /// The id of an available vessel with room for `capacity` containers and `max_weight`,
    /// asked as the caller (`token`) and answered before `deadline`.
    async fn find(
        &self,
        capacity: i32,
        max_weight: i32,
        token: &str,
        deadline: Instant,
    ) -> Result<String, ConsignmentError>;
}

/// The vessel service over gRPC. The lookup is a read, so an UNAVAILABLE answer (an
/// instance that died or was unreachable) is retried on another instance, a few times,
/// within the deadline and a retry budget shared by all lookups.
#[derive(Clone)]
pub struct GrpcVessels {
    vessels: Discovered,
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
    pub fn new(vessels: Discovered, client: &ClientConfig) -> Self {
        // Retries may add `retry_budget_percent` to the reads of the last ten seconds, and at
        // least a few a second however quiet it is.
        #[allow(clippy::cast_precision_loss)]
        let percent = client.retry_budget_percent as f32 / 100.0;
        Self {
            vessels,
            retries: client.read_retries,
            budget: Arc::new(TpsBudget::new(Duration::from_secs(10), 5, percent)),
        }
    }

    async fn attempt(
        &self,
        spec: Specification,
        token: &str,
        deadline: Instant,
    ) -> Result<String, ConsignmentError> {
        let channel = self
            .vessels
            .channel()
            .await
            .map_err(|s| unavailable(s.message().to_owned()))?;
        let mut request = Request::new(spec);
        request.set_timeout(deadline.saturating_duration_since(Instant::now()));
        forward_token(&mut request, token).map_err(|s| unavailable(s.message().to_owned()))?;
        match VesselServiceClient::new(channel)
            .find_available(request)
            .await
        {
            Ok(response) => response
                .into_inner()
                .vessel
                .map(|v| v.id)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| unavailable("answered without a vessel".into())),
            Err(status) if status.code() == Code::NotFound => {
                Err(ConsignmentError::NoVessel(status.message().to_owned()))
            }
            Err(status) => Err(ConsignmentError::Vessels {
                kind: ErrorKind::from_grpc(status.code()),
                message: status.message().to_owned(),
            }),
        }
    }
}

fn unavailable(message: String) -> ConsignmentError {
    ConsignmentError::Vessels {
        kind: ErrorKind::Unavailable,
        message,
    }
}

#[async_trait]
impl VesselFinder for GrpcVessels {
    async fn find(
        &self,
        capacity: i32,
        max_weight: i32,
        token: &str,
        deadline: Instant,
    ) -> Result<String, ConsignmentError> {
        let spec = Specification {
            capacity,
            max_weight,
        };
        self.budget.deposit();
        let mut left = self.retries;
        loop {
            let result = self.attempt(spec, token, deadline).await;
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
                tracing::debug!(error = %e, "vessel lookup unavailable; retrying on another instance");
            }
        }
    }
}
