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

/// shippy's consulrs is built on the build's one HTTP stack, without TLS: an agent address
/// that asks for TLS is refused at start, saying so, never reached in plain text.
#[test]
fn a_consul_agent_behind_tls_is_refused_at_start_saying_tls_is_not_built_in() {
    let refused = ConsulRegistry::connect("https://consul.internal:8501").unwrap_err();
    assert!(
        refused.to_string().contains("TLS to Consul") && refused.to_string().contains("plain HTTP"),
        "{refused}"
    );
}
