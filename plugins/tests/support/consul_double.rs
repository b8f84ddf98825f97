//! A contract double of the Consul agent HTTP API, as Consul documents it, for the parts the
//! adapter uses: register a service with a TTL check, deregister it, pass its check, and
//! `GET /v1/health/service/<name>?passing` with blocking queries (`index`, `wait`,
//! `X-Consul-Index`). A check not passed within its TTL turns critical (out of `passing`);
//! one critical for longer than `DeregisterCriticalServiceAfter` is removed. No Consul can be
//! installed on these machines; compose runs the real one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Registration {
    name: String,
    #[serde(rename = "ID")]
    id: String,
    address: String,
    port: u16,
    #[serde(default)]
    meta: HashMap<String, String>,
    check: Check,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Check {
    #[serde(rename = "TTL")]
    ttl: String,
    deregister_critical_service_after: String,
}

struct Entry {
    registration: Registration,
    ttl: Duration,
    reap_after: Duration,
    last_pass: Instant,
}

impl Entry {
    fn passing(&self, now: Instant) -> bool {
        now.duration_since(self.last_pass) < self.ttl
    }
}

#[derive(Default)]
struct Agent {
    services: BTreeMap<String, Entry>,
    /// What each service's passing set looked like when the index last moved.
    seen: BTreeMap<String, Vec<String>>,
}

#[derive(Clone)]
struct Double {
    agent: Arc<Mutex<Agent>>,
    index: Arc<watch::Sender<u64>>,
}

/// Go's duration syntax, as far as the adapter writes it.
fn duration(text: &str) -> Duration {
    let (n, unit) = text.split_at(text.find(|c: char| c.is_alphabetic()).unwrap_or(text.len()));
    let n: u64 = n.parse().unwrap_or(0);
    match unit {
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        _ => Duration::from_secs(n),
    }
}

impl Double {
    /// Expires checks and reaps long-critical instances; moves the index when any passing
    /// set changed, as Consul does.
    fn tick(&self) {
        let now = Instant::now();
        let mut agent = self.agent.lock().unwrap();
        agent.services.retain(|_, e| {
            e.passing(now) || now.duration_since(e.last_pass) < e.ttl + e.reap_after
        });
        let mut current: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, e) in &agent.services {
            if e.passing(now) {
                current
                    .entry(e.registration.name.clone())
                    .or_default()
                    .push(id.clone());
            }
        }
        if current != agent.seen {
            agent.seen = current;
            self.index.send_modify(|i| *i += 1);
        }
    }
}

/// Consul reads the body as JSON whatever the content type says (rustify sends none).
async fn register(State(d): State<Double>, body: axum::body::Bytes) -> StatusCode {
    let Ok(r) = serde_json::from_slice::<Registration>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let entry = Entry {
        ttl: duration(&r.check.ttl),
        reap_after: duration(&r.check.deregister_critical_service_after),
        last_pass: Instant::now(),
        registration: r,
    };
    d.agent
        .lock()
        .unwrap()
        .services
        .insert(entry.registration.id.clone(), entry);
    d.tick();
    StatusCode::OK
}

async fn deregister(State(d): State<Double>, Path(id): Path<String>) -> StatusCode {
    let removed = d.agent.lock().unwrap().services.remove(&id).is_some();
    d.tick();
    if removed {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn pass(State(d): State<Double>, Path(check): Path<String>) -> StatusCode {
    let id = check.trim_start_matches("service:").to_owned();
    let found = match d.agent.lock().unwrap().services.get_mut(&id) {
        Some(e) => {
            e.last_pass = Instant::now();
            true
        }
        None => false,
    };
    d.tick();
    if found {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn health(
    State(d): State<Double>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> (HeaderMap, Json<Value>) {
    d.tick();
    if let Some(index) = q.get("index").and_then(|i| i.parse::<u64>().ok()) {
        let wait = q
            .get("wait")
            .map_or(Duration::from_secs(300), |w| duration(w));
        let mut rx = d.index.subscribe();
        let _ = tokio::time::timeout(wait, rx.wait_for(|i| *i > index)).await;
    }
    let now = Instant::now();
    let agent = d.agent.lock().unwrap();
    let entries: Vec<Value> = agent
        .services
        .values()
        .filter(|e| e.registration.name == name && (!q.contains_key("passing") || e.passing(now)))
        .map(|e| {
            let r = &e.registration;
            json!({
                "Node": { "Node": "double", "Address": "127.0.0.1" },
                "Service": { "ID": r.id, "Service": r.name, "Address": r.address, "Port": r.port, "Meta": r.meta },
                "Checks": [{ "CheckID": format!("service:{}", r.id), "Status": if e.passing(now) { "passing" } else { "critical" } }],
            })
        })
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert("X-Consul-Index", (*d.index.borrow()).into());
    (headers, Json(Value::Array(entries)))
}

/// Starts the double on a free loopback port; answers its address as `http://host:port`.
pub async fn start() -> String {
    let double = Double {
        agent: Arc::default(),
        index: Arc::new(watch::channel(1).0),
    };
    let ticker = double.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ticker.tick();
        }
    });
    let app = Router::new()
        .route("/v1/agent/service/register", put(register))
        .route("/v1/agent/service/deregister/{id}", put(deregister))
        .route("/v1/agent/check/pass/{check}", put(pass))
        .route("/v1/health/service/{name}", get(health))
        .with_state(double);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}
