//! The gateway's shared state: one discovered, balanced client per service, built at start.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use shippy_common::auth::AuthError;
use shippy_common::client::{BreakerConfig, Discovered};
use shippy_common::shutdown::Stopping;
use shippy_common::{ErrorKind, names};
use shippy_plugins::registry::Registry;
use shippy_proto::tonic::Request;

use crate::error::ApiError;

#[derive(Clone, Debug)]
pub struct AppState {
    pub users: Discovered,
    pub vessels: Discovered,
    pub consignments: Discovered,
    pub logs: Discovered,
    /// Ends live streams when the gateway stops.
    pub stopping: Stopping,
}

impl AppState {
    /// Starts following every service in `registry`.
    pub fn discover(
        registry: Arc<dyn Registry>,
        timeout: Duration,
        breaker: BreakerConfig,
    ) -> Self {
        let client = |name| Discovered::new(Arc::clone(&registry), name, timeout, breaker);
        Self {
            users: client(names::USER),
            vessels: client(names::VESSEL),
            consignments: client(names::CONSIGNMENT),
            logs: client(names::LOG),
            stopping: Stopping::new().1,
        }
    }
}

impl AppState {
    /// Every client, for readiness.
    pub fn clients(&self) -> [&Discovered; 4] {
        [&self.users, &self.vessels, &self.consignments, &self.logs]
    }
}

/// A gRPC request carrying the caller's `Authorization` header. No header is refused here;
/// the token itself is checked by the service.
pub fn authed<T>(headers: &HeaderMap, message: T) -> Result<Request<T>, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::new(ErrorKind::Unauthenticated, AuthError::Missing.to_string()))?;
    let value = value
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::new(ErrorKind::Unauthenticated, AuthError::Malformed.to_string())
        })?;
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}
