//! Connection flags shared by every CLI, and the channel they lead to.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use shippy_common::client::Discovered;
use shippy_common::client::{GrpcChannel, fixed};
use shippy_common::config::{Config, Sources};
use shippy_proto::tonic::metadata::MetadataValue;
use shippy_proto::tonic::transport::Endpoint;
use shippy_proto::tonic::{Request, Status};

/// How to reach the service and who to call it as.
#[derive(Clone, Debug, clap::Args)]
pub struct ConnArgs {
    /// Call this address instead of looking the service up in the registry
    #[arg(long, global = true, env = "SHIPPY_ADDR")]
    pub addr: Option<String>,
    /// Folder with default.toml (finds the registry)
    #[arg(long, global = true, env = "SHIPPY_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// Config profile
    #[arg(long, global = true, env = "SHIPPY_PROFILE")]
    pub profile: Option<String>,
    /// The token from `user-cli auth`
    #[arg(long, global = true, env = "SHIPPY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of a table
    #[arg(long, global = true)]
    pub json: bool,
}

impl ConnArgs {
    /// A channel to `service`: the fixed address, or a healthy instance from the registry.
    pub async fn channel(&self, service: &'static str) -> anyhow::Result<GrpcChannel> {
        if let Some(addr) = &self.addr {
            let uri = if addr.contains("://") {
                addr.clone()
            } else {
                format!("http://{addr}")
            };
            return Ok(fixed(
                Endpoint::from_shared(uri)?
                    .connect_timeout(Duration::from_secs(3))
                    .connect_lazy(),
            ));
        }
        let config = Config::load(&Sources {
            config_dir: self.config_dir.clone(),
            profile: self.profile.clone(),
            overrides: vec![],
        })?;
        let registry = shippy_common::wiring::registry(&config).await?;
        let timeout = Duration::from_secs(config.request_timeout_secs);
        let discovered = Discovered::new(
            registry,
            service,
            timeout,
            shippy_common::client::BreakerConfig::from(&config.client),
        );
        discovered
            .channel()
            .await
            .map_err(|s| anyhow::anyhow!("{} (is `make run` running?)", s.message()))
    }

    /// `message` as a request carrying the token; a clear error when there is none.
    pub fn authed<T>(&self, message: T) -> anyhow::Result<Request<T>> {
        let token = self
            .token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .context(
                "no token: run `user-cli auth`, then `export SHIPPY_TOKEN=...` or pass --token",
            )?;
        let mut request = Request::new(message);
        let value: MetadataValue<_> = format!("Bearer {}", token.trim())
            .parse()
            .context("the token has characters a header cannot carry")?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// A gRPC failure as one line for a person.
pub fn describe(status: &Status) -> anyhow::Error {
    anyhow::anyhow!("{} ({:?})", status.message(), status.code())
}
