//! h2load (Debian's `nghttp2-client`) as the saturating load for the bare cases and the hop:
//! a C generator that keeps up where the bench's own clients would be the limit. For gRPC it
//! sends `FindAvailable` as a framed gRPC body over 4 connections of 32 streams each; for
//! the bare axum hello, `GET` over HTTP/1.1 on 32 connections, one request in flight on each
//! (as the bench's own client keeps 32). Its own CPU time is read from the kernel's account
//! of reaped children, so the table can say whether the generator or the server was the
//! limit.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use prost::Message;

/// Connections and streams per connection, as the Go comparison used.
const CONNECTIONS: u32 = 4;
const STREAMS: u32 = 32;

/// HTTP/1.1 connections, each with one request in flight: the in-flight count of the
/// bench's own client.
const HTTP1_CONNECTIONS: u32 = 32;

/// What h2load sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// A gRPC call over HTTP/2: the body file as its message.
    Grpc,
    /// A plain `GET` over HTTP/1.1.
    Http1Get,
}

/// What h2load can call: its URL, how, and extra headers (a token, say).
#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    pub headers: Vec<String>,
    pub protocol: Protocol,
}

/// What one h2load run measured.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub rps: f64,
    pub ok: u64,
    pub failed: u64,
    /// The generator's CPU seconds (user + system) per wall second: 1.0 is one core busy.
    pub generator_cpu: f64,
}

/// h2load on the PATH, if there is one.
pub fn find() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("h2load"))
            .find(|p| p.is_file())
    })
}

/// Writes a request body file: `message` framed as one uncompressed gRPC message.
pub fn write_body(dir: &Path, name: &str, message: &impl Message) -> anyhow::Result<PathBuf> {
    let payload = message.encode_to_vec();
    let mut framed = Vec::with_capacity(5 + payload.len());
    framed.push(0);
    framed.extend_from_slice(&u32::try_from(payload.len())?.to_be_bytes());
    framed.extend_from_slice(&payload);
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, framed)?;
    Ok(path)
}

/// Children's CPU seconds so far (those reaped: h2load once it has been waited for).
fn children_cpu() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let (user, system) = (u.user_time(), u.system_time());
        user.tv_sec() as f64
            + user.tv_usec() as f64 / 1e6
            + system.tv_sec() as f64
            + system.tv_usec() as f64 / 1e6
    })
}

/// Drives `target` for `duration` after a second of warm-up; answers what it measured.
pub async fn saturate(
    h2load: &Path,
    target: &Target,
    body: &Path,
    duration: Duration,
) -> anyhow::Result<Run> {
    let mut command = tokio::process::Command::new(h2load);
    command
        .arg(format!("--duration={}", duration.as_secs().max(1)))
        .arg("--warm-up-time=1");
    match target.protocol {
        Protocol::Grpc => command
            .arg(format!("--clients={CONNECTIONS}"))
            .arg(format!("--max-concurrent-streams={STREAMS}"))
            .arg(format!("--data={}", body.display()))
            .args(["--header", "content-type: application/grpc"])
            .args(["--header", "te: trailers"]),
        Protocol::Http1Get => command
            .arg("--h1")
            .arg(format!("--clients={HTTP1_CONNECTIONS}"))
            .arg("--max-concurrent-streams=1"),
    };
    for header in &target.headers {
        command.args(["--header", header]);
    }
    command.arg(&target.url).kill_on_drop(true);
    let before = children_cpu();
    let started = Instant::now();
    let output = command.output().await.context("h2load")?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = children_cpu() - before;
    let text = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(output.status.success(), "h2load failed: {text}");
    parse(&text, cpu / wall).with_context(|| format!("h2load said: {text}"))
}

/// Reads `finished in 5.00s, 51234.40 req/s, ...` and the `requests:` line.
fn parse(text: &str, generator_cpu: f64) -> Option<Run> {
    let finished = text.lines().find(|l| l.starts_with("finished in"))?;
    let rps = finished
        .split(", ")
        .find(|part| part.ends_with(" req/s"))?
        .trim_end_matches(" req/s")
        .parse()
        .ok()?;
    let requests = text.lines().find(|l| l.starts_with("requests:"))?;
    let count = |what: &str| -> Option<u64> {
        requests
            .split(", ")
            .find(|part| part.ends_with(what))?
            .split_whitespace()
            .rev()
            .nth(1)?
            .parse()
            .ok()
    };
    let ok = count(" succeeded")?;
    let failed = count(" failed")? + count(" errored")? + count(" timeout")?;
    Some(Run {
        rps,
        ok,
        failed,
        generator_cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_rate_and_the_outcomes_from_h2loads_summary() {
        let text = "starting benchmark...\n\
            finished in 5.00s, 51234.40 req/s, 3.05MB/s\n\
            requests: 256172 total, 256204 started, 256172 done, 256170 succeeded, 2 failed, 1 errored, 0 timeout\n\
            status codes: 256172 2xx, 0 3xx, 0 4xx, 0 5xx\n";
        let run = parse(text, 0.5).unwrap();
        assert_eq!(run.rps, 51234.4);
        assert_eq!(run.ok, 256_170);
        assert_eq!(run.failed, 3);
        assert!(parse("no summary", 0.0).is_none());
    }
}
