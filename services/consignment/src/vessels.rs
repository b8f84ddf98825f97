//! The consignment service's view of the vessel service: "find me a vessel for this", made
//! with the caller's own token over a discovered, balanced channel.

use async_trait::async_trait;
use shippy_common::ErrorKind;
use shippy_common::auth::forward_token;
use shippy_common::client::Discovered;
use shippy_proto::tonic::{Code, Request};
use shippy_proto::vessel::Specification;
use shippy_proto::vessel::vessel_service_client::VesselServiceClient;

use crate::domain::ConsignmentError;

/// Finds a vessel for a consignment.
#[async_trait]
pub trait VesselFinder: Send + Sync + 'static {
    /// The id of an available vessel with room for `capacity` containers and `max_weight`.
    async fn find(
        &self,
        capacity: i32,
        max_weight: i32,
        token: &str,
    ) -> Result<String, ConsignmentError>;
}

/// The vessel service over gRPC.
#[derive(Clone, Debug)]
pub struct GrpcVessels {
    vessels: Discovered,
}

impl GrpcVessels {
    pub fn new(vessels: Discovered) -> Self {
        Self { vessels }
    }
}

#[async_trait]
impl VesselFinder for GrpcVessels {
    async fn find(
        &self,
        capacity: i32,
        max_weight: i32,
        token: &str,
    ) -> Result<String, ConsignmentError> {
        let unavailable = |message: String| ConsignmentError::Vessels {
            kind: ErrorKind::Unavailable,
            message,
        };
        let channel = self
            .vessels
            .channel()
            .await
            .map_err(|s| unavailable(s.message().to_owned()))?;
        let mut request = Request::new(Specification {
            capacity,
            max_weight,
        });
        request.set_timeout(self.vessels.timeout());
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
