//! The registry contract against the Consul adapter, on a contract double of Consul's
//! documented HTTP API (no Consul can be installed here; compose runs the real one).
#![cfg(feature = "consul")]

mod support {
    pub mod consul_double;
}

use std::sync::Arc;

use shippy_plugins::registry::{ConsulRegistry, Registry};

shippy_plugins::registry_contract!(async {
    let address = support::consul_double::start().await;
    Arc::new(ConsulRegistry::connect(&address).unwrap()) as Arc<dyn Registry>
});
