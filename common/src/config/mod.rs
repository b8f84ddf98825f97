//! Typed, layered configuration, loaded once at start and passed in, never global.
//!
//! Layers, later ones winning: `config/default.toml`; the profile file
//! `config/<profile>.toml` when a profile is named (`--profile` or `SHIPPY_PROFILE`);
//! `.shippy/config.toml` when present (written by `make init`); `SHIPPY_*` environment
//! variables with `__` between levels (`SHIPPY_AUTH__TOKEN_LIFETIME_SECS=3600`); flags.
//! Errors name the key and the layer it came from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything a shippy process can be told.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the embedded registry, broker and stores keep their SQLite files.
    pub data_dir: PathBuf,
    pub registry: RegistryConfig,
    pub broker: BrokerConfig,
    pub store: StoreConfig,
    pub auth: AuthConfig,
    pub services: ServicesConfig,
    pub api: ApiConfig,
    pub telemetry: TelemetryConfig,
    pub client: ClientConfig,
    pub limits: LimitsConfig,
    pub saga: SagaConfig,
    pub faults: FaultsConfig,
    /// How long in-flight requests may take to finish after a stop signal.
    pub shutdown_grace_secs: u64,
    /// The deadline of every outgoing call between services.
    pub request_timeout_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// `sqlite`: the embedded registry under `data_dir`; `consul`: the agent below.
    pub kind: RegistryKind,
    /// The Consul agent's HTTP address, when `kind = "consul"`.
    pub consul_address: String,
    /// The host others reach this process at, when it is not the bound address (a
    /// container's name, say); empty: the bound address, loopback for a wildcard bind.
    pub advertise_host: String,
    /// How long an instance stays listed without a heartbeat.
    pub ttl_secs: u64,
    /// How often a running instance renews its TTL.
    pub heartbeat_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// `sqlite`: the embedded topic log under `data_dir`; `kafka`: the brokers below.
    pub kind: BrokerKind,
    /// The topic every log event goes to and the log service consumes.
    pub log_topic: String,
    /// The log service's consumer group.
    pub log_group: String,
    /// Kafka bootstrap servers, `host:port[,host:port]`, when `kind = "kafka"`.
    pub kafka_brokers: String,
    /// Partitions of the topics shippy creates on Kafka (events keep their order per user).
    pub kafka_partitions: i32,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    Sqlite,
    Kafka,
}

/// Where the services keep their data.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite`: one file per service under `data_dir`; `mongodb`: one database on a server.
    pub kind: StoreKind,
    /// The MongoDB connection string, when `kind = "mongodb"`.
    pub mongodb_uri: String,
    /// The MongoDB database every service keeps its collections in.
    pub mongodb_database: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Mongodb,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    Sqlite,
    Consul,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The `iss` claim the user service signs and every verifier demands.
    pub issuer: String,
    /// The `aud` claim the user service signs and every verifier demands.
    pub audience: String,
    /// How long a token is valid after it is issued.
    pub token_lifetime_secs: u64,
    /// The Ed25519 private key (PKCS#8 PEM); only the user service reads it.
    pub private_key: PathBuf,
    /// The matching public key (SPKI PEM) every service verifies with.
    pub public_key: PathBuf,
    /// The Ed25519 private key services sign their own calls with (the booking saga's
    /// `Reserve` and `Release`, which must go on without a user's token after a restart);
    /// only the consignment service reads it.
    pub service_private_key: PathBuf,
    /// The matching public key every service accepts service calls with.
    pub service_public_key: PathBuf,
    /// Failed log-ins one account may have per window before log-in is refused.
    pub login_failures_per_account: u32,
    /// Failed log-ins one address may have per window, across accounts.
    pub login_failures_per_address: u32,
    /// The log-in throttling window.
    pub login_window_secs: u64,
}

/// The booking saga the consignment service runs.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SagaConfig {
    /// How often each consignment-service instance looks for bookings left unfinished.
    pub sweep_secs: u64,
    /// How long a booking must have stood still before a sweep drives it on.
    pub stale_secs: u64,
    /// How many vessels one booking tries when races take the room of the one it found.
    pub vessel_tries: u32,
    /// Test hook: `after-reserve` or `after-release` stops every saga there for good, so a
    /// test can kill the process at that point. Empty in production.
    pub pause_at: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesConfig {
    pub user: ServiceConfig,
    pub vessel: ServiceConfig,
    pub consignment: ServiceConfig,
    pub log: ServiceConfig,
    pub api: ServiceConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Where the service listens; port 0 picks a free one (it registers what it got).
    pub listen: SocketAddr,
    /// Its admin port, serving Prometheus metrics at `/metrics`; port 0 picks a free one.
    pub metrics_listen: SocketAddr,
}

/// Per-client rate limits on every service and on the gateway.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests a second each client may make to one process; 0 turns limits off.
    pub requests_per_sec: u32,
    /// How many requests a client may make at once after being quiet.
    pub burst: u32,
    /// Peers (addresses or networks) whose `x-forwarded-for` names the client they forward
    /// for: the gateway, an ingress. Anyone else is limited under its own address.
    pub trusted_proxies: Vec<String>,
}

/// How clients treat the instances they balance across.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Transport failures in a row (refused, reset, timed out) that open an instance's
    /// circuit breaker; a refused connection opens it at once.
    pub breaker_failures: u32,
    /// How long an open breaker keeps its instance out before one probe, in milliseconds.
    pub breaker_open_ms: u64,
    /// Extra attempts an idempotent read makes after UNAVAILABLE, on another instance.
    pub read_retries: u32,
    /// At most this share of reads may be retries (a retry budget), in percent.
    pub retry_budget_percent: u32,
}

impl ClientConfig {
    /// The breaker every instance gets.
    pub fn breaker(&self) -> crate::client::BreakerConfig {
        crate::client::BreakerConfig {
            failures: self.breaker_failures,
            open_for: std::time::Duration::from_millis(self.breaker_open_ms),
        }
    }
}

/// Fault flags a person switches on to watch the system cope.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    /// The flags file (OpenFeature flagd JSON), read at start and again whenever it
    /// changes; empty: no fault can be switched on.
    pub flags_file: PathBuf,
}

/// The REST gateway's own settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// The folder of static files (the web UI) served at `/`.
    pub ui_dir: PathBuf,
    /// Origins other than the gateway's own that browsers may call the API from.
    pub cors_origins: Vec<String>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// A `tracing` filter such as `info` or `shippy=debug,info`; `RUST_LOG` wins over it.
    pub level: String,
    pub format: LogFormat,
    /// The OpenTelemetry collector spans go to (OTLP over HTTP, e.g. `http://127.0.0.1:4318`);
    /// empty: spans are not exported.
    pub otlp_endpoint: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Where to load from, as the flags and the environment say.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The folder holding `default.toml` and the profile files; `SHIPPY_CONFIG_DIR`, else
    /// `./config`.
    pub config_dir: Option<PathBuf>,
    /// A profile name; `SHIPPY_PROFILE` when not given.
    pub profile: Option<String>,
    /// Flag overrides as `(dotted.key, value)`, applied last.
    pub overrides: Vec<(String, String)>,
}

/// A bad or missing setting, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("configuration: {0}")]
    Missing(String),
}

impl Config {
    /// Loads and validates the layers named by `sources`.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let dir = sources
            .config_dir
            .clone()
            .or_else(|| std::env::var_os("SHIPPY_CONFIG_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("config"));
        let default = dir.join("default.toml");
        if !default.is_file() {
            return Err(ConfigError::Missing(format!(
                "{} not found; run from the repository root or set SHIPPY_CONFIG_DIR",
                default.display()
            )));
        }
        let mut figment = Figment::from(Toml::file(default));
        let profile = sources.profile.clone().or_else(|| {
            std::env::var("SHIPPY_PROFILE")
                .ok()
                .filter(|p| !p.is_empty())
        });
        if let Some(profile) = profile {
            let file = dir.join(format!("{profile}.toml"));
            if !file.is_file() {
                return Err(ConfigError::Missing(format!(
                    "profile {profile:?}: {} not found",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(Toml::file(local_file()));
        figment = figment.merge(
            Env::prefixed("SHIPPY_")
                .filter(|key| is_config_var(key.as_str()))
                .split("__"),
        );
        for (key, value) in &sources.overrides {
            figment = figment.merge(Serialized::default(key, value));
        }
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.registry.ttl_secs == 0 {
            return invalid("registry.ttl_secs", "must be at least 1");
        }
        if self.registry.heartbeat_secs == 0
            || self.registry.heartbeat_secs >= self.registry.ttl_secs
        {
            return invalid(
                "registry.heartbeat_secs",
                "must be at least 1 and less than registry.ttl_secs",
            );
        }
        if self.registry.kind == RegistryKind::Consul
            && !self.registry.consul_address.starts_with("http")
        {
            return invalid(
                "registry.consul_address",
                "must be an http:// or https:// address",
            );
        }
        let otlp = &self.telemetry.otlp_endpoint;
        if !otlp.is_empty() && !otlp.starts_with("http://") && !otlp.starts_with("https://") {
            return invalid(
                "telemetry.otlp_endpoint",
                "must be empty or an http:// or https:// address",
            );
        }
        if self.client.breaker_failures == 0 {
            return invalid("client.breaker_failures", "must be at least 1");
        }
        if self.client.breaker_open_ms == 0 {
            return invalid("client.breaker_open_ms", "must be at least 1");
        }
        if self.client.retry_budget_percent > 100 {
            return invalid("client.retry_budget_percent", "must be at most 100");
        }
        if self.broker.log_topic.trim().is_empty() {
            return invalid("broker.log_topic", "must not be empty");
        }
        if self.broker.kind == BrokerKind::Kafka && self.broker.kafka_brokers.trim().is_empty() {
            return invalid("broker.kafka_brokers", "must name at least one host:port");
        }
        if self.broker.kafka_partitions < 1 {
            return invalid("broker.kafka_partitions", "must be at least 1");
        }
        if self.broker.log_group.trim().is_empty() {
            return invalid("broker.log_group", "must not be empty");
        }
        if self.auth.token_lifetime_secs < 60 {
            return invalid("auth.token_lifetime_secs", "must be at least 60");
        }
        if self.auth.login_failures_per_account == 0 {
            return invalid("auth.login_failures_per_account", "must be at least 1");
        }
        if self.auth.login_failures_per_address == 0 {
            return invalid("auth.login_failures_per_address", "must be at least 1");
        }
        if self.auth.login_window_secs == 0 {
            return invalid("auth.login_window_secs", "must be at least 1");
        }
        if self.auth.issuer.trim().is_empty() {
            return invalid("auth.issuer", "must not be empty");
        }
        if self.auth.audience.trim().is_empty() {
            return invalid("auth.audience", "must not be empty");
        }
        if self.api.max_body_bytes < 1024 {
            return invalid("api.max_body_bytes", "must be at least 1024");
        }
        for origin in &self.api.cors_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return invalid(
                    "api.cors_origins",
                    "each origin must start with http:// or https://",
                );
            }
        }
        if self.store.kind == StoreKind::Mongodb && !self.store.mongodb_uri.starts_with("mongodb") {
            return invalid(
                "store.mongodb_uri",
                "must be a mongodb:// or mongodb+srv:// URI",
            );
        }
        if self.store.kind == StoreKind::Mongodb && self.store.mongodb_database.trim().is_empty() {
            return invalid("store.mongodb_database", "must not be empty");
        }
        if let Err(reason) = crate::forwarded::parse_networks(&self.limits.trusted_proxies) {
            return invalid("limits.trusted_proxies", &reason);
        }
        if self.request_timeout_secs == 0 {
            return invalid("request_timeout_secs", "must be at least 1");
        }
        Ok(())
    }

    /// The SQLite file of a port or store, e.g. `data_file("registry")`.
    pub fn data_file(&self, name: &str) -> PathBuf {
        self.data_dir.join(format!("{name}.db"))
    }

    /// The listen setting of the service registered as `name` (see [`crate::names`]).
    pub fn listen_of(&self, name: &str) -> Option<SocketAddr> {
        self.service(name).map(|s| s.listen)
    }

    /// The settings of the service registered as `name` (see [`crate::names`]).
    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        let s = &self.services;
        match name {
            crate::names::USER => Some(&s.user),
            crate::names::VESSEL => Some(&s.vessel),
            crate::names::CONSIGNMENT => Some(&s.consignment),
            crate::names::LOG => Some(&s.log),
            crate::names::API => Some(&s.api),
            _ => None,
        }
    }
}

/// The config's sections: `SHIPPY_<SECTION>__<KEY>` overrides a key in one of them.
const SECTIONS: [&str; 11] = [
    "registry",
    "broker",
    "store",
    "auth",
    "services",
    "api",
    "telemetry",
    "client",
    "limits",
    "saga",
    "faults",
];
/// The config's keys outside any section: `SHIPPY_<KEY>` overrides one.
const TOP_LEVEL: [&str; 3] = ["data_dir", "shutdown_grace_secs", "request_timeout_secs"];

/// Whether `SHIPPY_<key>` is a config override: a top-level key, or a key inside a section.
/// Any other `SHIPPY_*` variable (a CLI's, a script's, a test's, a bench's) is not config
/// and is left alone, so a new tool's variable never breaks a service's start-up.
fn is_config_var(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    TOP_LEVEL.contains(&key.as_str())
        || SECTIONS.iter().any(|s| {
            key.strip_prefix(s)
                .is_some_and(|rest| rest.starts_with("__"))
        })
}

/// The per-checkout override file `make init` writes.
pub fn local_file() -> PathBuf {
    Path::new(".shippy").join("config.toml")
}

/// The `services.<x>.listen` key of the service registered as `name`.
pub fn listen_key(name: &str) -> String {
    format!("services.{}.listen", name.trim_start_matches("shippy."))
}

#[cfg(test)]
mod tests;
