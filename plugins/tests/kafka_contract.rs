//! The broker contract against the Kafka adapter, on the Kafka-wire broker `make test`
//! starts (`SHIPPY_TEST_KAFKA_BROKERS`).
#![cfg(feature = "kafka")]

use std::sync::Arc;

use shippy_plugins::broker::{Broker, KafkaBroker};

fn brokers() -> String {
    std::env::var("SHIPPY_TEST_KAFKA_BROKERS").unwrap_or_else(|_| {
        panic!(
            "SHIPPY_TEST_KAFKA_BROKERS is not set: run `make test` (it starts a Kafka-wire broker)"
        )
    })
}

shippy_plugins::broker_contract!(async {
    Arc::new(KafkaBroker::connect(&brokers(), 1).unwrap()) as Arc<dyn Broker>
});
