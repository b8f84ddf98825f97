//! The cases: what one request is in each, and which processes pay for it.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use shippy_common::client::{BreakerConfig, Discovered};
use shippy_common::names;
use shippy_proto::tonic::Request;
use shippy_proto::tonic::transport::Channel;
use shippy_proto::user::Token;
use shippy_proto::user::user_service_client::UserServiceClient;
use shippy_proto::vessel::Specification;
use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
use tokio::io::AsyncBufReadExt;

use crate::h2load;
use crate::load::{closed_loop, fixed_rate};
use crate::procs::{cpu_seconds, peak_rss_mib};
use crate::system::Running;

type Send_ = Pin<Box<dyn Future<Output = bool> + Send>>;
type Request_ = Arc<dyn Fn() -> Send_ + Send + Sync>;

/// One case: a name, what a request does, and the processes it runs in; the bare cases and
/// the hop also say how h2load calls them.
pub struct Case {
    pub name: &'static str,
    request: Request_,
    processes: Vec<(String, u32)>,
    h2load: Option<h2load::Target>,
}

/// The highest fixed rate the bench's own client keeps without falling behind on one core
/// (its timers and tonic client), so latencies are the server's, not the generator's queue.
/// Faster cases are timed at this rate, which makes their latencies comparable at one load.
pub const FIXED_RATE_CEILING: f64 = 15_000.0;

/// The saturating generator for the bare cases and the hop, when h2load is installed: its
/// path and the gRPC request body file.
pub struct H2Load {
    pub path: PathBuf,
    pub body: PathBuf,
}

/// What one case measured.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub name: String,
    /// Requests a second at saturation (closed loop).
    pub rps: f64,
    pub errors: u64,
    /// Latency quantiles in microseconds at 50 % and 80 % of saturation (at most
    /// [`FIXED_RATE_CEILING`] a second): p50, p99, p99.9.
    pub at_50: [u64; 3],
    pub at_80: [u64; 3],
    /// CPU microseconds per request at saturation, per process.
    pub cpu_us_per_request: BTreeMap<String, f64>,
    /// Peak resident memory after the case, per process, in MiB.
    pub peak_rss_mib: BTreeMap<String, f64>,
    /// The two fixed rates the latencies were measured at, requests a second.
    pub fixed_rates: [f64; 2],
    /// What drove the saturation run: `h2load`, or `bench` (this process's tonic or
    /// reqwest client).
    pub generator: String,
    /// The generator's CPU per wall second during the saturation run (1.0: a core busy, so
    /// it may have been the limit).
    pub generator_cpu: f64,
}

fn quantiles(run: &crate::load::Run) -> [u64; 3] {
    [0.5, 0.99, 0.999].map(|q| run.quantile_us(q))
}

impl Case {
    /// Saturates the case (with h2load where it can), then runs it at 50 % and 80 % of
    /// that rate with the bench's own client for the latencies.
    pub async fn measure(
        &self,
        concurrency: usize,
        duration: Duration,
        h2: Option<&H2Load>,
    ) -> CaseResult {
        let request = Arc::clone(&self.request);
        let call = move || request();
        // Warm up connections and caches; this also proves a call succeeds, which h2load
        // cannot see (a gRPC error is an HTTP 200 with its status in the trailers).
        let warm = closed_loop(concurrency, Duration::from_millis(500), call.clone()).await;
        let before: Vec<f64> = self
            .processes
            .iter()
            .map(|(_, p)| cpu_seconds(*p))
            .collect();
        let me = std::process::id();
        let (own_before, started) = (cpu_seconds(me), std::time::Instant::now());
        let driven = match (h2, &self.h2load) {
            (Some(h2), Some(target)) if warm.errors == 0 => {
                match h2load::saturate(&h2.path, target, &h2.body, duration).await {
                    Ok(run) => Some(run),
                    Err(error) => {
                        eprintln!(
                            "bench: {}: h2load failed ({error:#}); using the bench's client",
                            self.name
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        let (rps, ok, errors, generator, generator_cpu) = match driven {
            Some(run) => (run.rps, run.ok, run.failed, "h2load", run.generator_cpu),
            None => {
                let saturated = closed_loop(concurrency, duration, call.clone()).await;
                let own = (cpu_seconds(me) - own_before) / started.elapsed().as_secs_f64();
                let rps = saturated.rps();
                (rps, saturated.ok, saturated.errors, "bench", own)
            }
        };
        let after: Vec<f64> = self
            .processes
            .iter()
            .map(|(_, p)| cpu_seconds(*p))
            .collect();
        let requests = ok.max(1) as f64;
        let cpu_us_per_request = self
            .processes
            .iter()
            .zip(before.iter().zip(&after))
            .map(|((name, _), (b, a))| (name.clone(), (a - b) * 1e6 / requests))
            .collect();
        let cap = concurrency * 8;
        let rates = [0.5, 0.8].map(|share| (rps * share).min(FIXED_RATE_CEILING));
        let half = fixed_rate(rates[0], duration, cap, call.clone()).await;
        let most = fixed_rate(rates[1], duration, cap, call).await;
        CaseResult {
            name: self.name.to_owned(),
            rps,
            errors: warm.errors + errors + half.errors + most.errors,
            generator: generator.to_owned(),
            generator_cpu,
            fixed_rates: rates,
            at_50: quantiles(&half),
            at_80: quantiles(&most),
            cpu_us_per_request,
            peak_rss_mib: self
                .processes
                .iter()
                .map(|(name, p)| (name.clone(), peak_rss_mib(*p)))
                .collect(),
        }
    }
}

/// The bare servers, each a child process of the bench; the Go peer where
/// scripts/bench-deps.sh could build it.
pub struct Bare {
    axum: (tokio::process::Child, String),
    tonic: (tokio::process::Child, String),
    go: Option<(tokio::process::Child, String)>,
}

/// Where scripts/bench-deps.sh builds the Go peer (bench/go).
fn go_peer() -> PathBuf {
    crate::cache_dir().join("bench/bin/shippy-go-peer")
}

async fn spawn_bare(command: &str) -> anyhow::Result<(tokio::process::Child, String)> {
    spawn_server(tokio::process::Command::new(std::env::current_exe()?).arg(command)).await
}

/// Starts a server that prints its address as its first line.
async fn spawn_server(
    command: &mut tokio::process::Command,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let address = tokio::io::BufReader::new(stdout)
        .lines()
        .next_line()
        .await?
        .context("no address")?;
    Ok((child, address))
}

impl Bare {
    pub async fn start() -> anyhow::Result<Self> {
        let peer = go_peer();
        let go = if peer.is_file() {
            Some(spawn_server(&mut tokio::process::Command::new(&peer)).await?)
        } else {
            eprintln!(
                "bench: bare-grpc-go skipped: {} is missing (scripts/bench-deps.sh builds it where Go can be installed)",
                peer.display()
            );
            None
        };
        Ok(Self {
            axum: spawn_bare("serve-axum").await?,
            tonic: spawn_bare("serve-tonic").await?,
            go,
        })
    }
}

fn boxed<F, Fut>(f: F) -> Request_
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    Arc::new(move || Box::pin(f()) as Send_)
}

pub const SPEC: Specification = Specification {
    capacity: 3,
    max_weight: 55_000,
    user_id: String::new(),
};

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn pid_of(system: &Running, service: &str) -> (String, u32) {
    system
        .pids()
        .into_iter()
        .find(|(s, _)| s == service)
        .unwrap_or_default()
}

/// Every case, in the order they run (listing before creating, which grows the list).
pub async fn all(system: &Running, bare: &Bare) -> anyhow::Result<Vec<Case>> {
    let http = reqwest::Client::new();
    let timeout = Duration::from_secs(system.config.request_timeout_secs);
    let breaker: BreakerConfig = BreakerConfig::from(&system.config.client);
    let discovered =
        |service| Discovered::new(Arc::clone(&system.registry), service, timeout, breaker);
    let token = system.token.clone();

    let axum_url = format!("http://{}/", bare.axum.1);
    let hello = h2load::Target {
        url: axum_url.clone(),
        headers: vec![],
        protocol: h2load::Protocol::Http1Get,
    };
    let bare_axum = {
        let (http, url) = (http.clone(), axum_url);
        boxed(move || {
            let request = http.get(&url).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
    };

    let bare_grpc = |address: String| async move {
        let channel = Channel::from_shared(format!("http://{address}"))?
            .connect()
            .await?;
        let client = VesselServiceClient::new(channel);
        anyhow::Ok(boxed(move || {
            let mut client = client.clone();
            async move { client.find_available(SPEC).await.is_ok() }
        }))
    };
    let bare_tonic = bare_grpc(bare.tonic.1.clone()).await?;
    let find_available = |address: &str, headers: Vec<String>| {
        Some(h2load::Target {
            url: format!("http://{address}/shippy.vessel.VesselService/FindAvailable"),
            headers,
            protocol: h2load::Protocol::Grpc,
        })
    };

    let vessels = VesselServiceClient::new(discovered(names::VESSEL).channel().await?);
    let hop = {
        let (client, token) = (vessels.clone(), token.clone());
        boxed(move || {
            let (mut client, request) = (client.clone(), authed(SPEC, &token));
            async move { client.find_available(request).await.is_ok() }
        })
    };
    let users = UserServiceClient::new(discovered(names::USER).channel().await?);
    let hop_remote_auth = {
        let (users, vessels, token) = (users.clone(), vessels.clone(), token.clone());
        boxed(move || {
            let (mut users, mut vessels, token) = (users.clone(), vessels.clone(), token.clone());
            async move {
                let check = Token {
                    token: token.clone(),
                    ..Token::default()
                };
                users.validate_token(check).await.is_ok()
                    && vessels.find_available(authed(SPEC, &token)).await.is_ok()
            }
        })
    };

    let mut consignment: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/consignment.json"),
    )?)?;
    // Bookings take room now: a vessel as big as the fields allow, and 1 kg a booking, so
    // the run never fills it (715 million bookings).
    consignment["weight"] = 1.into();
    let ship = serde_json::json!({
        "id": "bench-ship", "name": "Bench", "capacity": i32::MAX, "max_weight": i32::MAX,
    });
    http.post(format!("{}/api/v1/vessels", system.api))
        .bearer_auth(&token)
        .json(&ship)
        .send()
        .await?
        .error_for_status()?;
    let consignments = format!("{}/api/v1/consignments", system.api);
    for _ in 0..5 {
        http.post(&consignments)
            .bearer_auth(&token)
            .json(&consignment)
            .send()
            .await?
            .error_for_status()?;
    }
    let rest_list = {
        let (http, url, token) = (http.clone(), consignments.clone(), token.clone());
        boxed(move || {
            let request = http.get(&url).bearer_auth(&token).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
    };
    let rest_create = {
        let (http, url, token) = (http.clone(), consignments.clone(), token.clone());
        boxed(move || {
            let request = http
                .post(&url)
                .bearer_auth(&token)
                .json(&consignment)
                .send();
            async move { request.await.is_ok_and(|r| r.status().as_u16() == 201) }
        })
    };

    let (api, user, vessel, cons, log) = (
        pid_of(system, names::API),
        pid_of(system, names::USER),
        pid_of(system, names::VESSEL),
        pid_of(system, names::CONSIGNMENT),
        pid_of(system, names::LOG),
    );
    let vessel_address = system
        .registry
        .healthy(names::VESSEL)
        .await?
        .first()
        .map(|i| i.address.clone())
        .context("no vessel instance")?;
    let pid = |child: &tokio::process::Child| child.id().unwrap_or_default();
    let mut cases = vec![Case {
        name: "bare-axum",
        request: bare_axum,
        processes: vec![("bare-axum".into(), pid(&bare.axum.0))],
        h2load: Some(hello),
    }];
    if let Some((child, address)) = &bare.go {
        cases.push(Case {
            name: "bare-grpc-go",
            request: bare_grpc(address.clone()).await?,
            processes: vec![("bare-grpc-go".into(), pid(child))],
            h2load: find_available(address, vec![]),
        });
    }
    cases.extend([
        Case {
            name: "bare-tonic",
            request: bare_tonic,
            processes: vec![("bare-tonic".into(), pid(&bare.tonic.0))],
            h2load: find_available(&bare.tonic.1, vec![]),
        },
        Case {
            name: "hop",
            request: hop,
            processes: vec![vessel.clone()],
            h2load: find_available(
                &vessel_address,
                vec![format!("authorization: Bearer {token}")],
            ),
        },
        Case {
            name: "hop-remote-auth",
            request: hop_remote_auth,
            processes: vec![user, vessel.clone()],
            h2load: None,
        },
        Case {
            name: "rest-list",
            request: rest_list,
            processes: vec![api.clone(), cons.clone()],
            h2load: None,
        },
        Case {
            name: "rest-create",
            request: rest_create,
            processes: vec![api, cons, vessel, log],
            h2load: None,
        },
    ]);
    Ok(cases)
}
