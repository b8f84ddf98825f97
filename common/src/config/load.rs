//! Loading the config: the layers `config/default.toml`, the profile file, `.shippy/config.toml`,
//! `SHIPPY_<SECTION>__<KEY>` environment overrides and flag overrides, later ones winning;
//! then the checks no type can make, each naming its key.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use super::schema::{BrokerKind, Config, RegistryKind, StoreKind};

/// Where to load from, as the caller's flags say (the binaries' flags, in `launch.rs`,
/// also read `SHIPPY_CONFIG_DIR` and `SHIPPY_PROFILE`).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The folder holding `default.toml` and the profile files; `./config` when not given.
    pub config_dir: Option<PathBuf>,
    /// A profile name; none (or empty): the defaults alone.
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
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("config"));
        let default = dir.join("default.toml");
        if !default.is_file() {
            return Err(ConfigError::Missing(format!(
                "{} not found; run from the repository root or set SHIPPY_CONFIG_DIR",
                default.display()
            )));
        }
        let mut figment = Figment::from(Toml::file(default));
        let profile = sources.profile.as_deref().filter(|p| !p.is_empty());
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

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
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
        if self.saga.max_attempts == 0 {
            return invalid("saga.max_attempts", "must be at least 1");
        }
        if self.broker.retention_hours == 0 {
            return invalid("broker.retention_hours", "must be at least 1");
        }
        if self.broker.retention_max_messages == 0 {
            return invalid("broker.retention_max_messages", "must be at least 1");
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
        if self.broker.revocations_topic.trim().is_empty() {
            return invalid("broker.revocations_topic", "must not be empty");
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
}

/// The config's sections: `SHIPPY_<SECTION>__<KEY>` overrides a key in one of them.
pub(super) const SECTIONS: [&str; 11] = [
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
pub(super) const TOP_LEVEL: [&str; 3] = ["data_dir", "shutdown_grace_secs", "request_timeout_secs"];

/// Whether `SHIPPY_<key>` is a config override: a top-level key, or a key inside a section.
/// Any other `SHIPPY_*` variable (a CLI's, a script's, a test's, a bench's) is not config
/// and is left alone, so a new tool's variable never breaks a service's start-up.
pub(super) fn is_config_var(key: &str) -> bool {
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
