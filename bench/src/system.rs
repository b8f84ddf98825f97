//! The real system for the bench: the five release binaries in a temporary folder on free
//! ports, timed from spawn until all are registered, with one signed-up user.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shippy_cli::launcher::{Launch, Logs, Running as Child, wait_registered};
use shippy_common::config::{Config, Sources};
use shippy_common::{Service, auth, names};
use shippy_plugins::registry::Registry;

pub struct Running {
    _dir: tempfile::TempDir,
    children: Vec<Child>,
    pub config: Config,
    pub registry: Arc<dyn Registry>,
    pub api: String,
    pub token: String,
    /// Resident memory of each service once idle after start, in MiB.
    pub idle_rss: BTreeMap<String, f64>,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl Running {
    /// Starts everything; answers the system and the cold start (spawn → all registered).
    pub async fn start() -> anyhow::Result<(Self, Duration)> {
        let dir = tempfile::tempdir()?;
        let keys = dir.path().join("keys");
        let (private, public) = (keys.join("jwt.pem"), keys.join("jwt.pub.pem"));
        auth::write_key_pair(&auth::generate_key_pair()?, &private, &public)?;
        let (service_private, service_public) = (keys.join("svc.pem"), keys.join("svc.pub.pem"));
        auth::write_key_pair(
            &auth::generate_key_pair()?,
            &service_private,
            &service_public,
        )?;
        let (gateway_private, gateway_public) =
            (keys.join("gateway.pem"), keys.join("gateway.pub.pem"));
        auth::write_key_pair(
            &auth::generate_key_pair()?,
            &gateway_private,
            &gateway_public,
        )?;
        let path = |p: &std::path::Path| p.display().to_string();
        let mut overrides = vec![
            ("data_dir", path(&dir.path().join("data"))),
            ("auth.private_key", path(&private)),
            ("auth.public_key", path(&public)),
            ("auth.service_private_key", path(&service_private)),
            ("auth.service_public_key", path(&service_public)),
            ("auth.gateway_private_key", path(&gateway_private)),
            ("auth.gateway_public_key", path(&gateway_public)),
            // The bench is one client sending as fast as it can: no per-client limit, and no
            // quota on what one user holds.
            ("limits.requests_per_sec", "0".to_owned()),
            ("limits.vessels_per_user", "0".to_owned()),
            ("limits.bookings_in_flight_per_user", "0".to_owned()),
            ("api.ui_dir", path(&repo_root().join("ui"))),
        ];
        for service in ["user", "vessel", "consignment", "log", "api"] {
            for key in ["listen", "metrics_listen"] {
                overrides.push((
                    Box::leak(format!("services.{service}.{key}").into_boxed_str()),
                    "127.0.0.1:0".to_owned(),
                ));
            }
        }
        let envs: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| {
                (
                    format!("SHIPPY_{}", k.to_uppercase().replace('.', "__")),
                    v.clone(),
                )
            })
            // Logging as shipped: `info`, a line per request (into files here).
            .chain([
                (
                    "SHIPPY_CONFIG_DIR".to_owned(),
                    path(&repo_root().join("config")),
                ),
                // The defaults, as the bench loads them, whatever profile the shell names.
                ("SHIPPY_PROFILE".to_owned(), String::new()),
            ])
            .collect();
        let config = Config::load(&Sources {
            config_dir: Some(repo_root().join("config")),
            profile: None,
            // Flag overrides are strings; the numeric one only goes to the children.
            overrides: overrides
                .iter()
                .filter(|(k, _)| !k.starts_with("limits."))
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        })?;
        let registry = shippy_common::wiring::registry(&config).await?;
        let launch = Launch {
            bin_dir: std::env::current_exe()?
                .parent()
                .context("binary folder")?
                .to_path_buf(),
            cwd: dir.path().to_path_buf(),
            envs,
            args: vec![],
            logs: Logs::Files(dir.path().join("logs")),
        };
        let started = tokio::time::Instant::now();
        let mut children = Service::ALL
            .into_iter()
            .map(|s| launch.spawn(s))
            .collect::<anyhow::Result<Vec<_>>>()?;
        wait_registered(registry.as_ref(), &mut children, Duration::from_secs(30)).await?;
        let startup = started.elapsed();

        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle_rss = children
            .iter()
            .map(|c| (c.service.name().to_owned(), crate::procs::rss_mib(c.pid())))
            .collect();
        let api = format!(
            "http://{}",
            registry
                .healthy(names::API)
                .await?
                .first()
                .context("no gateway")?
                .address
        );
        let token = sign_up(&api).await?;
        Ok((
            Self {
                _dir: dir,
                children,
                config,
                registry,
                api,
                token,
                idle_rss,
            },
            startup,
        ))
    }

    /// The process ids of the services, by registered name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.children
            .iter()
            .map(|c| (c.service.name().to_owned(), c.pid()))
            .collect()
    }

    pub async fn stop(self) {
        for child in self.children {
            let _ = child.stop(Duration::from_secs(5)).await;
        }
    }
}

async fn sign_up(api: &str) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let user = serde_json::json!({"name": "Bench", "email": "bench@example.com", "password": "Testing123"});
    http.post(format!("{api}/api/v1/users"))
        .json(&user)
        .send()
        .await?
        .error_for_status()?;
    let answer: serde_json::Value = http
        .post(format!("{api}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "bench@example.com", "password": "Testing123"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(answer["token"].as_str().context("no token")?.to_owned())
}
