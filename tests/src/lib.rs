//! The system-test sandbox: a temporary folder with its own keys and data, the five real
//! service binaries started on port 0, found through the registry like any client would,
//! and helpers to drive them through the CLIs and REST.

pub mod browser;
pub mod conventions;
pub mod otlp;
pub mod prometheus;
pub mod servers;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use shippy_cli::launcher::{Launch, Logs, Running, wait_registered};
use shippy_common::config::{Config, Sources};
use shippy_common::{Service, auth, names};
use shippy_plugins::registry::Registry;

/// The service registered as `name` (the tests name services by [`names`]).
pub fn service_named(name: &str) -> Service {
    Service::from_name(name).unwrap_or_else(|| panic!("{name} is not a shippy service"))
}

/// The repository root (this crate lives in `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where this build put its binaries.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// A running system in its own temporary folder.
pub struct System {
    pub dir: tempfile::TempDir,
    launch: Launch,
    registry: Arc<dyn Registry>,
    pub config: Config,
    running: BTreeMap<&'static str, Running>,
    http: reqwest::Client,
}

/// What a CLI run printed and how it ended.
#[derive(Debug)]
pub struct CliRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

impl System {
    /// A fresh folder with a key pair, and all five services started and registered.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like [`System::start`], with more environment for the services (later wins).
    pub async fn start_with(extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut envs = environment(dir.path());
        envs.extend(
            extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let config = Self::load_config(&envs);
        let launch = Launch {
            bin_dir: bin_dir(),
            cwd: dir.path().to_path_buf(),
            envs,
            args: ["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]
                .map(String::from)
                .to_vec(),
            logs: Logs::Files(dir.path().join("logs")),
        };
        let registry = shippy_common::wiring::registry(&config).await.unwrap();
        let mut system = Self {
            dir,
            launch,
            registry,
            config,
            running: BTreeMap::new(),
            http: reqwest::Client::new(),
        };
        for service in names::ALL {
            system.start_service(service).await;
        }
        system
    }

    /// The config services started with `envs` load (the keys the tests use).
    pub fn load_config(envs: &[(String, String)]) -> Config {
        let get = |k: &str| {
            envs.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let mut overrides = vec![("data_dir".to_owned(), get("SHIPPY_DATA_DIR"))];
        for (pair, _) in KEY_PAIRS {
            for half in ["PRIVATE", "PUBLIC"] {
                overrides.push((
                    format!("auth.{}{}_key", pair.to_lowercase(), half.to_lowercase()),
                    get(&key_variable(pair, half)),
                ));
            }
        }
        Config::load(&Sources {
            config_dir: Some(repo_root().join("config")),
            profile: None,
            overrides,
        })
        .unwrap()
    }

    /// Sets `key` in the environment of services started from now on (later wins).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.launch.envs.push((key.to_owned(), value.to_owned()));
    }

    /// Starts one service and waits until it has registered.
    pub async fn start_service(&mut self, service: &'static str) {
        let mut one = [self.launch.spawn(service_named(service)).unwrap()];
        if let Err(e) =
            wait_registered(self.registry.as_ref(), &mut one, Duration::from_secs(30)).await
        {
            panic!("{e}\n{}", self.logs());
        }
        let [running] = one;
        self.running.insert(service, running);
    }

    /// Starts another instance of `service` beside the running one; the caller owns it.
    pub async fn start_extra(&self, service: &'static str) -> Running {
        let mut one = [self.launch.spawn(service_named(service)).unwrap()];
        if let Err(e) =
            wait_registered(self.registry.as_ref(), &mut one, Duration::from_secs(30)).await
        {
            panic!("{e}\n{}", self.logs());
        }
        let [running] = one;
        running
    }

    /// The address of one registered instance of `service`, as `http://host:port`.
    pub async fn grpc_url(&self, service: &str) -> String {
        format!(
            "http://{}",
            self.instances(service).await.first().expect("an instance")
        )
    }

    /// The addresses registered for `service`.
    pub async fn instances(&self, service: &str) -> Vec<String> {
        self.registry
            .healthy(service)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.address)
            .collect()
    }

    /// Stops one service the graceful way (SIGTERM) and checks it exited cleanly.
    pub async fn stop_service(&mut self, service: &'static str) {
        let running = self.running.remove(service).expect("service is running");
        let status = running.stop(Duration::from_secs(10)).await.unwrap();
        assert!(
            status.success(),
            "{service} exited with {status}\n{}",
            self.logs()
        );
    }

    /// The process id of the running instance of `service`.
    pub fn pid(&self, service: &str) -> Option<u32> {
        self.running.get(service).map(Running::pid)
    }

    /// Sends SIGKILL to `service` where it stands, leaving it in the harness's books (a test
    /// that kills mid-call reaps it with [`System::kill_service`] afterwards).
    pub fn kill_now(&self, service: &str) {
        let pid = i32::try_from(self.pid(service).expect("service is running")).unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }

    /// Kills one service at once (SIGKILL), as a crash would.
    pub async fn kill_service(&mut self, service: &'static str) {
        self.running
            .remove(service)
            .expect("service is running")
            .kill()
            .await
            .unwrap();
    }

    /// Stops everything, in reverse start order.
    pub async fn stop_all(&mut self) {
        for service in names::ALL.iter().rev() {
            if self.running.contains_key(service) {
                self.stop_service(service).await;
            }
        }
    }

    /// Every service's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for service in names::ALL {
            let file = self
                .dir
                .path()
                .join("logs")
                .join(format!("{}.log", service_named(service).binary()));
            out.push_str(&format!(
                "--- {}\n{}\n",
                file.display(),
                std::fs::read_to_string(&file).unwrap_or_default()
            ));
        }
        out
    }

    /// A command for a binary of this build, in the system's folder with the services'
    /// environment (no token, no fixed address).
    pub fn command(&self, binary: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(bin_dir().join(binary));
        command
            .current_dir(self.dir.path())
            .env_remove("SHIPPY_TOKEN")
            .env_remove("SHIPPY_ADDR")
            .envs(self.launch.envs.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs a CLI from this build in the system's folder, with `token` as `SHIPPY_TOKEN`.
    pub async fn cli(&self, binary: &str, args: &[&str], token: Option<&str>) -> CliRun {
        let mut command = self.command(binary);
        command.args(args);
        if let Some(token) = token {
            command.env("SHIPPY_TOKEN", token);
        }
        let output = tokio::time::timeout(Duration::from_secs(30), command.output())
            .await
            .expect("CLI finished within 30 s")
            .expect("CLI started");
        CliRun {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The gateway's base URL, as registered.
    pub async fn api_url(&self) -> String {
        let api = self.registry.healthy(names::API).await.unwrap();
        format!(
            "http://{}",
            api.first()
                .context("no gateway registered")
                .unwrap()
                .address
        )
    }

    /// Signs a user up and logs in through REST; answers the token.
    pub async fn rest_user(&self, email: &str) -> String {
        let user =
            serde_json::json!({"name": "Rest User", "email": email, "password": "Testing123"});
        let (status, body) = self.rest("POST", "/api/v1/users", None, Some(user)).await;
        assert_eq!(status, 201, "{body}");
        let login = serde_json::json!({"email": email, "password": "Testing123"});
        let (status, body) = self
            .rest("POST", "/api/v1/auth/login", None, Some(login))
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Creates the tutorial's vessels (`samples/vessel.json`) through REST, as `token`: room
    /// for thousands of the sample's bookings on "Ever Given" (vessel001, seeded, takes three).
    pub async fn tutorial_vessels(&self, token: &str) {
        let vessels: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(sample("vessel.json")).unwrap()).unwrap();
        for vessel in vessels {
            let (status, body) = self
                .rest("POST", "/api/v1/vessels", Some(token), Some(vessel))
                .await;
            assert!(status == 201 || status == 409, "{status} {body}");
        }
    }

    /// Every row of a paged REST list, `GET path` as `token`, the rows under `key`: 500 a
    /// page, following `next_page_token` to the end. `None` when a page is not a 200.
    pub async fn rest_all(&self, path: &str, token: &str, key: &str) -> Option<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let (mut rows, mut page_token) = (Vec::new(), String::new());
        loop {
            let page = format!("{path}{sep}page_size=500&page_token={page_token}");
            let (status, body) = self.rest("GET", &page, Some(token), None).await;
            if status != 200 {
                return None;
            }
            rows.extend(body[key].as_array().cloned().unwrap_or_default());
            page_token = body["next_page_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if page_token.is_empty() {
                return Some(rows);
            }
        }
    }

    /// A REST call: method, path, optional bearer token, optional JSON body.
    pub async fn rest(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.rest_with(method, path, token, body, &[]).await
    }

    /// Like [`System::rest`], with more request headers.
    pub async fn rest_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.api_url().await);
        let mut request = self.http.request(method.parse().unwrap(), url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// Runs `futures` at once, on this task, and answers their outputs in order.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Where `scripts/test-deps.sh` puts what it installs: `$SHIPPY_CACHE`, else
/// `$XDG_CACHE_HOME/shippy`, else `~/.cache/shippy`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SHIPPY_CACHE") {
        return dir.into();
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        })
        .join("shippy")
}

/// A program `scripts/test-deps.sh` installed in the test virtualenv, e.g. `schemathesis`.
pub fn venv_tool(name: &str) -> PathBuf {
    cache_dir().join("venv/bin").join(name)
}

/// `shippy load`'s own flags, to parse a command with.
#[derive(clap::Parser)]
struct Load {
    #[command(flatten)]
    args: shippy_cli::load::LoadArgs,
}

/// The flags of a `shippy load ...` command (as compose and Kubernetes run it), parsed by
/// `shippy load`'s own definitions; the error says what they refuse.
pub fn load_args(command: &[String]) -> Result<shippy_cli::load::LoadArgs, String> {
    use clap::Parser;
    if command.get(..2) != Some(&["shippy".to_owned(), "load".to_owned()][..]) {
        return Err(format!("{command:?} is not `shippy load`"));
    }
    Load::try_parse_from(&command[1..])
        .map(|load| load.args)
        .map_err(|e| e.to_string())
}

/// An HTTP client whose connections come from `ip` (any 127.x address is this machine).
pub fn http_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse().unwrap()))
        .build()
        .unwrap()
}

/// The path of a shipped sample file, e.g. `sample("vessel.json")`.
pub fn sample(name: &str) -> String {
    repo_root().join("samples").join(name).display().to_string()
}

/// Polls `check` every 100 ms until it answers `Some`, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The environment for services run in `dir`: the repository's config, data under
/// `dir/data`, a fresh key pair under `dir/keys`, the UI, a short grace period.
pub fn environment(dir: &Path) -> Vec<(String, String)> {
    let keys = dir.join("keys");
    let mut env = vec![
        (
            "SHIPPY_CONFIG_DIR".to_owned(),
            repo_root().join("config").display().to_string(),
        ),
        // The defaults, as the harness loads them, whatever profile the shell names.
        ("SHIPPY_PROFILE".to_owned(), String::new()),
        (
            "SHIPPY_DATA_DIR".to_owned(),
            dir.join("data").display().to_string(),
        ),
    ];
    for (pair, name) in KEY_PAIRS {
        let (private, public) = (
            keys.join(format!("{name}.pem")),
            keys.join(format!("{name}.pub.pem")),
        );
        auth::write_key_pair(&auth::generate_key_pair().unwrap(), &private, &public).unwrap();
        env.push((key_variable(pair, "PRIVATE"), private.display().to_string()));
        env.push((key_variable(pair, "PUBLIC"), public.display().to_string()));
    }
    env.extend([
        ("SHIPPY_SHUTDOWN_GRACE_SECS".to_owned(), "3".to_owned()),
        (
            "SHIPPY_API__UI_DIR".to_owned(),
            repo_root().join("ui").display().to_string(),
        ),
        ("RUST_LOG".to_owned(), "info".to_owned()),
    ]);
    env
}

/// The key pairs services load (the `auth.*_private_key` / `auth.*_public_key` prefix, and
/// the files' name): the users' tokens, the services' own, the gateway's proof.
const KEY_PAIRS: [(&str, &str); 3] = [("", "jwt"), ("SERVICE_", "svc"), ("GATEWAY_", "gateway")];

/// `SHIPPY_AUTH__SERVICE_PRIVATE_KEY` for `("SERVICE_", "PRIVATE")`.
fn key_variable(pair: &str, half: &str) -> String {
    format!("SHIPPY_AUTH__{pair}{half}_KEY")
}
