//! What a service's thin `main` needs: its flags, its config, its bound listener.

use std::path::PathBuf;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::Service;
use crate::config::{Config, Sources};

/// The flags every service binary takes.
#[derive(Clone, Debug, clap::Parser)]
pub struct ServiceArgs {
    /// Folder with default.toml and the profile files [default: ./config]
    #[arg(long, env = "SHIPPY_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// Config profile to layer over the defaults, e.g. `compose`
    #[arg(long, env = "SHIPPY_PROFILE")]
    pub profile: Option<String>,
    /// Address to listen on, overriding `services.<name>.listen` (port 0 picks a free port)
    #[arg(long)]
    pub listen: Option<String>,
    /// Address of the admin port with /metrics, overriding `services.<name>.metrics_listen`
    #[arg(long)]
    pub metrics_listen: Option<String>,
}

impl ServiceArgs {
    /// Loads the config for `service`.
    pub fn load(&self, service: Service) -> anyhow::Result<Config> {
        let mut overrides = Vec::new();
        if let Some(listen) = &self.listen {
            overrides.push((service.listen_key(), listen.clone()));
        }
        if let Some(listen) = &self.metrics_listen {
            overrides.push((service.metrics_listen_key(), listen.clone()));
        }
        let sources = Sources {
            config_dir: self.config_dir.clone(),
            profile: self.profile.clone(),
            overrides,
        };
        Ok(Config::load(&sources)?)
    }
}

/// Binds the listen address the config gives `service`.
pub async fn bind(config: &Config, service: Service) -> anyhow::Result<TcpListener> {
    let address = config.service(service).listen;
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} ({})", service.listen_key()))
}
