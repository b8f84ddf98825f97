//! Starts the five service binaries as child processes, waits until each has registered,
//! and stops them with SIGTERM (their graceful path). Behind `make run` and the system test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use shippy_common::Service;
use shippy_plugins::registry::Registry;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Where a service's log lines go.
#[derive(Clone, Debug)]
pub enum Logs {
    /// To this process's stderr, each line prefixed with the service's short name.
    Prefixed,
    /// Appended to `<dir>/<binary>.log`.
    Files(PathBuf),
}

/// How to start services: which binaries, from where, with what environment.
#[derive(Clone, Debug)]
pub struct Launch {
    pub bin_dir: PathBuf,
    pub cwd: PathBuf,
    pub envs: Vec<(String, String)>,
    pub args: Vec<String>,
    pub logs: Logs,
}

/// A started service.
#[derive(Debug)]
pub struct Running {
    pub service: Service,
    pub child: Child,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    /// Asks the service to stop (SIGTERM) and waits for it, killing it after `grace`.
    pub async fn stop(mut self, grace: Duration) -> anyhow::Result<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                self.child.kill().await?;
                Ok(self.child.wait().await?)
            }
        }
    }

    /// Kills the service at once (SIGKILL), as a crash would.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        self.child.wait().await?;
        Ok(())
    }
}

impl Launch {
    /// Starts `service`'s binary.
    pub fn spawn(&self, service: Service) -> anyhow::Result<Running> {
        let path = self.bin_dir.join(service.binary());
        let mut command = Command::new(&path);
        command
            .args(&self.args)
            .current_dir(&self.cwd)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().with_context(|| {
            format!(
                "cannot start {} (run `make init` to build it)",
                path.display()
            )
        })?;
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward(stderr, service, self.logs.clone()));
        }
        Ok(Running { service, child })
    }
}

async fn forward(stderr: tokio::process::ChildStderr, service: Service, logs: Logs) {
    let mut lines = BufReader::new(stderr).lines();
    let mut file = match &logs {
        Logs::Files(dir) => open_log(dir, service.binary()).await,
        Logs::Prefixed => None,
    };
    let short = service.key();
    while let Ok(Some(line)) = lines.next_line().await {
        match file.as_mut() {
            Some(f) => {
                let _ = f.write_all(format!("{line}\n").as_bytes()).await;
            }
            None => eprintln!("{short:>11} | {line}"),
        }
    }
}

async fn open_log(dir: &Path, binary: &str) -> Option<tokio::fs::File> {
    tokio::fs::create_dir_all(dir).await.ok()?;
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{binary}.log")))
        .await
        .ok()
}

/// Waits until every one of `running` has an instance in `registry` carrying its pid.
pub async fn wait_registered(
    registry: &dyn Registry,
    running: &mut [Running],
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    for r in running.iter_mut() {
        let pid = r.pid().to_string();
        loop {
            let up = registry.healthy(r.service.name()).await?;
            if up.iter().any(|i| i.metadata.get("pid") == Some(&pid)) {
                break;
            }
            if let Some(status) = r.child.try_wait()? {
                anyhow::bail!(
                    "{} exited ({status}) before it registered; see its log above",
                    r.service.binary()
                );
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("{} did not register within {timeout:?}", r.service.binary());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}
