//! The Kafka broker adapter (rdkafka): an idempotent producer that waits for every in-sync
//! replica (acks=all), and consumer groups that commit an offset only when told the message
//! was handled, so a crash redelivers rather than loses. Messages keep their key, headers
//! and payload as they are, so any Kafka consumer reads them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use super::{Broker, BrokerError, Delivery, Message, Subscription};

/// How long a publish may wait for the brokers' acknowledgement.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(e.to_string())
}

/// `message` as a Kafka record for `topic`: its key, headers and payload as they are.
fn record<'a>(topic: &'a str, message: &'a Message) -> FutureRecord<'a, String, Vec<u8>> {
    let mut headers = OwnedHeaders::new();
    for (key, value) in &message.headers {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    FutureRecord::to(topic)
        .key(&message.key)
        .payload(&message.payload)
        .headers(headers)
}

/// Whether the producer's acknowledgement of one record says it is stored.
fn delivered<Canceled>(
    ack: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, Canceled>,
) -> Result<(), BrokerError> {
    ack.map_err(|_| unavailable("the producer went away before the broker answered"))?
        .map_err(|(e, _)| unavailable(e))?;
    Ok(())
}

/// A [`Broker`] on Kafka.
pub struct KafkaBroker {
    brokers: String,
    partitions: i32,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    /// Topics known to exist, so each is created (if missing) once per process.
    known: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for KafkaBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBroker")
            .field("brokers", &self.brokers)
            .finish_non_exhaustive()
    }
}

impl KafkaBroker {
    /// Clients for `brokers` (`host:port,...`); topics it creates get `partitions`.
    pub fn connect(brokers: &str, partitions: i32) -> Result<Self, BrokerError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "30000")
            // A broker that stops answering is given up on (and retried) within seconds.
            .set("socket.timeout.ms", "10000")
            .create()
            .map_err(unavailable)?;
        let admin = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("socket.timeout.ms", "10000")
            .create()
            .map_err(unavailable)?;
        Ok(Self {
            brokers: brokers.to_owned(),
            partitions,
            producer,
            admin,
            known: Mutex::new(HashSet::new()),
        })
    }

    /// Creates `topic` unless it exists (compose creates the log topic; tests make their own).
    async fn ensure_topic(&self, topic: &str) -> Result<(), BrokerError> {
        if self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(topic)
        {
            return Ok(());
        }
        let new = NewTopic::new(topic, self.partitions, TopicReplication::Fixed(1));
        let options = AdminOptions::new()
            .operation_timeout(Some(Timeout::After(SEND_TIMEOUT)))
            .request_timeout(Some(Timeout::After(SEND_TIMEOUT)));
        for result in self
            .admin
            .create_topics([&new], &options)
            .await
            .map_err(unavailable)?
        {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(unavailable(format!("create topic {name}: {code}")));
                }
            }
        }
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.to_owned());
        Ok(())
    }
}

#[async_trait]
impl Broker for KafkaBroker {
    fn system(&self) -> &'static str {
        "kafka"
    }

    async fn publish(&self, topic: &str, message: Message) -> Result<(), BrokerError> {
        self.ensure_topic(topic).await?;
        self.producer
            .send(record(topic, &message), Timeout::After(SEND_TIMEOUT))
            .await
            .map_err(|(e, _)| unavailable(e))?;
        Ok(())
    }

    /// Hands every message to the producer before waiting for any acknowledgement, so they
    /// go out together; the idempotent producer keeps their order per partition.
    async fn publish_all(&self, messages: Vec<(String, Message)>) -> Result<(), BrokerError> {
        let mut acks = Vec::with_capacity(messages.len());
        for (topic, message) in &messages {
            self.ensure_topic(topic).await?;
            match self.producer.send_result(record(topic, message)) {
                Ok(ack) => acks.push(ack),
                // The producer's queue is full: wait for what is queued, then this one.
                Err((_, record)) => {
                    for ack in acks.drain(..) {
                        delivered(ack.await)?;
                    }
                    self.producer
                        .send(record, Timeout::After(SEND_TIMEOUT))
                        .await
                        .map_err(|(e, _)| unavailable(e))?;
                }
            }
        }
        for ack in acks {
            delivered(ack.await)?;
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BrokerError> {
        self.ensure_topic(topic).await?;
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // A consumer that died is noticed within 30 s and its partitions move on; a broker
            // that stalls for less than that keeps the group as it was.
            .set("session.timeout.ms", "30000")
            .set("heartbeat.interval.ms", "3000")
            .set("socket.timeout.ms", "10000")
            .create()
            .map_err(unavailable)?;
        consumer.subscribe(&[topic]).map_err(unavailable)?;
        Ok(Box::new(KafkaSubscription {
            consumer: Arc::new(consumer),
            topic: topic.to_owned(),
            group: group.to_owned(),
            handed: HashMap::new(),
        }))
    }
}

struct KafkaSubscription {
    consumer: Arc<StreamConsumer>,
    topic: String,
    group: String,
    /// The offset of the last message handed out, by partition.
    handed: HashMap<i32, i64>,
}

#[async_trait]
impl Subscription for KafkaSubscription {
    fn system(&self) -> &'static str {
        "kafka"
    }

    fn group(&self) -> &str {
        &self.group
    }

    async fn next(&mut self) -> Result<Delivery, BrokerError> {
        let m = self.consumer.recv().await.map_err(unavailable)?;
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let message = Message {
            key: m
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .unwrap_or_default(),
            headers,
            payload: m.payload().unwrap_or_default().to_vec(),
        };
        self.handed.insert(m.partition(), m.offset());
        Ok(Delivery {
            topic: m.topic().to_owned(),
            partition: m.partition(),
            offset: m.offset(),
            message,
        })
    }

    /// Caught up when, in every partition of the topic, the last message handed out is the
    /// last one there (or the partition holds none).
    async fn caught_up(&mut self) -> Result<bool, BrokerError> {
        let (consumer, topic) = (Arc::clone(&self.consumer), self.topic.clone());
        let ends = tokio::task::spawn_blocking(move || {
            let timeout = std::time::Duration::from_secs(5);
            let metadata = consumer.fetch_metadata(Some(&topic), timeout)?;
            let mut ends = Vec::new();
            for t in metadata.topics() {
                for p in t.partitions() {
                    let (low, high) = consumer.fetch_watermarks(&topic, p.id(), timeout)?;
                    ends.push((p.id(), low, high));
                }
            }
            Ok::<_, KafkaError>(ends)
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        Ok(ends.into_iter().all(|(partition, low, high)| {
            high <= low
                || self
                    .handed
                    .get(&partition)
                    .is_some_and(|last| *last + 1 >= high)
        }))
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BrokerError> {
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(
                &delivery.topic,
                delivery.partition,
                Offset::Offset(delivery.offset + 1),
            )
            .map_err(unavailable)?;
        let consumer = Arc::clone(&self.consumer);
        // A synchronous commit waits for the broker; keep it off the async threads.
        tokio::task::spawn_blocking(move || consumer.commit(&offsets, CommitMode::Sync))
            .await
            .map_err(unavailable)?
            .map_err(|e: KafkaError| unavailable(e))
    }
}
