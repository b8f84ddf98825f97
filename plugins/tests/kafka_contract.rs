//! The broker contract against the Kafka adapter, on the Kafka-wire broker `make test`
//! starts (`SHIPPY_TEST_KAFKA_BROKERS`).
#![cfg(feature = "kafka")]

use std::sync::Arc;

use shippy_plugins::broker::{Broker, KafkaBroker};
use shippy_plugins::test_servers::TestServer;

shippy_plugins::broker_contract!(needs[TestServer::Kafka], async {
    let brokers = TestServer::Kafka.address().expect("checked before");
    Arc::new(KafkaBroker::connect(&brokers, 1).unwrap()) as Arc<dyn Broker>
});
