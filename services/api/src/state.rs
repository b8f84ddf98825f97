//! The gateway's shared state: one discovered, balanced client per service, built at start.

use std::sync::Arc;
use std::time::Duration;

use shippy_common::client::{BreakerConfig, Discovered};
use shippy_common::names;
use shippy_common::shutdown::Stopping;
use shippy_plugins::registry::Registry;

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
