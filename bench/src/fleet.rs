//! The fleet case: the store lookups a booking makes, timed with ten vessels and ten
//! consignments and again with 10,000 of each, on the embedded store and on MongoDB, and
//! with 1,000,000 of each on the embedded store, through the services' own repositories;
//! and a user's page of the activity log with 10, 10,000 and 10,000,000 events stored. The
//! ratios say whether a lookup's cost grows with the fleet (it should not: each walks an
//! index from where its answer starts). The stores' size on disk is printed.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use shippy_common::paging::PageRequest;
use shippy_consignment::domain::{
    Consignment, ConsignmentFilter, Container, IdempotencyKey, NewConsignment, Now,
};
use shippy_consignment::repo::{ConsignmentRepository, MongoConsignments, SqliteConsignments};
use shippy_plugins::outbox::contract::outgoing;
use shippy_vessel::domain::{Holder, Specification, Vessel, VesselFilter};
use shippy_vessel::repo::{MongoVessels, SqliteVessels, VesselRepository};

/// The small fleet and the large one, in vessels (and as many consignments).
pub const SMALL: usize = 10;
pub const LARGE: usize = 10_000;
/// The largest fleet, on the embedded store only (a MongoDB-wire test server fills 10,000
/// in minutes already).
pub const HUGE: usize = 1_000_000;
/// Events in the largest activity log.
pub const HUGE_LOG: usize = 10_000_000;
/// Consignments a shipper owns, in either fleet: a listing answers as many rows in both.
const PER_OWNER: usize = 10;

/// One lookup on one store at both sizes.
#[derive(Clone, Debug, Serialize)]
pub struct FleetResult {
    pub store: String,
    pub lookup: String,
    /// Median microseconds of one call with [`SMALL`] and with [`LARGE`] rows.
    pub small_us: f64,
    pub large_us: f64,
    /// The same with [`HUGE`] rows ([`HUGE_LOG`] for the log), where measured.
    pub huge_us: Option<f64>,
    /// The store's files on disk at each size, bytes (embedded store only).
    pub bytes: Vec<u64>,
}

impl FleetResult {
    /// How many times dearer the lookup is in the large fleet.
    pub fn ratio(&self) -> f64 {
        self.large_us / self.small_us.max(0.001)
    }

    /// How many times dearer the lookup is in the largest fleet, where measured.
    pub fn huge_ratio(&self) -> Option<f64> {
        self.huge_us.map(|us| us / self.small_us.max(0.001))
    }
}

/// Where the two repositories of one store live.
#[derive(Clone, Copy, Debug)]
pub enum Store<'a> {
    Sqlite(&'a std::path::Path),
    /// A MongoDB-wire server's URI, and what the server is.
    Mongo(&'a str, &'a str),
}

impl Store<'_> {
    fn name(&self) -> String {
        match self {
            Store::Sqlite(_) => "sqlite".into(),
            Store::Mongo(_, server) => format!("mongodb ({server})"),
        }
    }

    /// The bytes the fleet of `size` takes on disk (0 on MongoDB, which does not say).
    fn bytes(&self, size: usize) -> u64 {
        match self {
            Store::Sqlite(dir) => folder_bytes(&dir.join(format!("fleet-{size}"))),
            Store::Mongo(..) => 0,
        }
    }

    /// Fresh repositories for a fleet of `size`, with their indexes as the services make
    /// them, and the MongoDB database they live in (dropped by [`Store::close`]).
    async fn open(&self, size: usize) -> anyhow::Result<Repositories> {
        Ok(match self {
            Store::Sqlite(dir) => {
                let dir = dir.join(format!("fleet-{size}"));
                std::fs::create_dir_all(&dir)?;
                (
                    Arc::new(SqliteVessels::open(&dir.join("vessels.db"))?),
                    Arc::new(SqliteConsignments::open(&dir.join("consignments.db"))?),
                    None,
                )
            }
            Store::Mongo(uri, _) => {
                let name = format!("shippy_bench_fleet_{size}_{}", std::process::id());
                let db = shippy_plugins::store::mongo::connect(uri, &name).await?;
                db.drop().await?;
                (
                    Arc::new(MongoVessels::open(&db).await?),
                    Arc::new(MongoConsignments::open(&db).await?),
                    Some(db),
                )
            }
        })
    }

    /// Drops the MongoDB database a fleet was written to, so a server the bench was given
    /// (`SHIPPY_BENCH_MONGO_URI`) keeps nothing of it; the SQLite files go with the
    /// bench's temporary folder.
    async fn close(db: Option<mongodb::Database>) -> anyhow::Result<()> {
        if let Some(db) = db {
            db.drop().await?;
        }
        Ok(())
    }
}

/// The repositories of one fleet, and its MongoDB database when it has one.
type Repositories = (
    Arc<dyn VesselRepository>,
    Arc<dyn ConsignmentRepository>,
    Option<mongodb::Database>,
);

/// A small deterministic generator, so every run books against the same fleet.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Vessel `i` of a fleet: sizes spread from 1 to 500 containers and 10 t to 200,000 t; one
/// in ten laid up (not available) and every other one with no room left, so the lookup
/// must pass over full vessels as it would in a busy fleet.
fn vessel(i: usize, random: &mut Xorshift) -> Vessel {
    let capacity = 1 + random.below(500) as i32;
    let max_weight = 10_000 + random.below(200_000_000) as i32;
    let full = i % 2 == 1;
    Vessel {
        id: format!("fleet-{i:05}"),
        capacity,
        max_weight,
        name: format!("Fleet {i}"),
        available: i % 10 != 9,
        owner_id: "fleet-owner".into(),
        remaining_capacity: if full { 0 } else { capacity },
        remaining_weight: if full { 0 } else { max_weight },
    }
}

fn owner(i: usize) -> String {
    format!("shipper-{}", i / PER_OWNER)
}

fn consignment(i: usize) -> anyhow::Result<Consignment> {
    let container = Container {
        id: format!("box-{i}"),
        customer_id: owner(i),
        origin: "Manchester".into(),
        user_id: owner(i),
    };
    let new = NewConsignment::parse(&format!("cargo {i}"), 1_000 + i as i32, vec![container])?;
    let now = Now {
        rfc3339: "2026-11-23T00:00:00Z".into(),
        unix_ms: 1_795_000_000_000 + i as i64,
    };
    // Stored as `key-{i}`, which the lookup asks for.
    let key = IdempotencyKey::parse(Some(&i.to_string()))?;
    Ok(Consignment::pending(
        format!("c-{i:05}"),
        new,
        &owner(i),
        key,
        &now,
    ))
}

/// Stores `size` vessels and `size` consignments, each with its event, 32 writes at a time.
async fn fill(
    vessels: &Arc<dyn VesselRepository>,
    consignments: &Arc<dyn ConsignmentRepository>,
    size: usize,
) -> anyhow::Result<()> {
    let mut random = Xorshift(0x5eed_f1ee7);
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..size {
        if writes.len() >= 32 {
            writes.join_next().await.expect("a write in flight")??;
        }
        let (vessels, consignments) = (Arc::clone(vessels), Arc::clone(consignments));
        let (v, c) = (vessel(i, &mut random), consignment(i)?);
        writes.spawn(async move {
            let event = outgoing("shippy.log", &v.id, "created");
            vessels.create(&v, &event).await?;
            let event = outgoing("shippy.log", &c.id, "booked");
            consignments.create(&c, &event).await?;
            anyhow::Ok(())
        });
    }
    while let Some(write) = writes.join_next().await {
        write??;
    }
    Ok(())
}

/// Stores the same `size` vessels and consignments as [`fill`], as the same rows the
/// repositories write (their columns, their JSON), in one transaction per table straight
/// into the files under `dir` (the repositories made them): a million writes one at a time,
/// each with its outbox event, take the better part of an hour. No events are stored: the
/// lookups do not read the outbox.
fn bulk_fill(dir: &std::path::Path, size: usize) -> anyhow::Result<()> {
    let mut random = Xorshift(0x5eed_f1ee7);
    let mut vessels = rusqlite::Connection::open(dir.join("vessels.db"))?;
    let tx = vessels.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO vessels (id, capacity, max_weight, name, available, owner_id,
                                  remaining_capacity, remaining_weight)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for i in 0..size {
            let v = vessel(i, &mut random);
            insert.execute(rusqlite::params![
                v.id,
                v.capacity,
                v.max_weight,
                v.name,
                v.available,
                v.owner_id,
                v.remaining_capacity,
                v.remaining_weight
            ])?;
        }
    }
    tx.commit()?;
    let mut consignments = rusqlite::Connection::open(dir.join("consignments.db"))?;
    let tx = consignments.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO consignments (id, user_id, description, weight, vessel_id, status,
                 created_at, containers, reason, steps, idempotency_key, updated_ms, attempts,
                 retry_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for i in 0..size {
            let c = consignment(i)?;
            insert.execute(rusqlite::params![
                c.id,
                c.user_id,
                c.description,
                c.weight,
                c.vessel_id,
                c.status.as_str(),
                c.created_at,
                serde_json::to_string(&c.containers)?,
                c.reason,
                serde_json::to_string(&c.steps)?,
                c.idempotency_key,
                c.updated_ms,
                c.attempts,
                c.retry_at_ms
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The median of up to `calls` sequential calls (after a few to warm up), in microseconds;
/// fewer, but at least five, where they take longer than [`BUDGET`] together.
async fn median_us<F, Fut>(calls: usize, mut call: F) -> anyhow::Result<f64>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for i in 0..3 {
        call(i).await?;
    }
    let (mut took, started) = (Vec::with_capacity(calls), Instant::now());
    for i in 0..calls {
        if i >= 5 && started.elapsed() > BUDGET {
            break;
        }
        let start = Instant::now();
        call(i).await?;
        took.push(start.elapsed());
    }
    took.sort_unstable();
    Ok(took[took.len() / 2].as_secs_f64() * 1e6)
}

/// How long one lookup is timed for at most, past its fifth call.
const BUDGET: Duration = Duration::from_secs(2);

/// The lookups, in the order a booking makes them, then a shipper's listing.
const LOOKUPS: [&str; 7] = [
    "booking key (by_key)",
    "vessel for 3 containers, 55 t",
    "vessel for 450 containers, 190,000 t",
    "consignment by id (get)",
    "shipper's consignments (a page)",
    "fleet list: first page (5 vessels)",
    "fleet list: a page deep in the cursor (5)",
];

/// Times every lookup on a fresh fleet of `size`; `calls` each.
async fn time_lookups(store: Store<'_>, size: usize, calls: usize) -> anyhow::Result<Vec<f64>> {
    let (vessels, consignments, db) = store.open(size).await?;
    match store {
        Store::Sqlite(dir) if size > LARGE => bulk_fill(&dir.join(format!("fleet-{size}")), size)?,
        _ => fill(&vessels, &consignments, size).await?,
    }
    let medians = time_each(&vessels, &consignments, calls).await;
    Store::close(db).await?;
    medians
}

/// Times every lookup on a filled fleet.
async fn time_each(
    vessels: &Arc<dyn VesselRepository>,
    consignments: &Arc<dyn ConsignmentRepository>,
    calls: usize,
) -> anyhow::Result<Vec<f64>> {
    // Every lookup asks for rows that exist in both fleets: shipper 0's, the first ids.
    let ids: Vec<usize> = (0..calls).map(|i| i % SMALL).collect();
    let (v, c, ids) = (vessels, consignments, &ids);
    let small = Specification {
        capacity: 3,
        max_weight: 55_000,
    };
    let big = Specification {
        capacity: 450,
        max_weight: 190_000_000,
    };
    let mut medians = Vec::new();
    medians.push(
        median_us(calls, |i| async move {
            let found = c.by_key(&owner(0), &format!("key-{}", ids[i])).await?;
            anyhow::ensure!(found.is_some(), "booking key-{} not found", ids[i]);
            Ok(())
        })
        .await?,
    );
    for spec in [small, big] {
        medians.push(
            median_us(calls, |_| async move {
                v.find_available(spec, &Holder::default()).await?;
                Ok(())
            })
            .await?,
        );
    }
    medians.push(
        median_us(calls, |i| async move {
            let found = c.get(&format!("c-{:05}", ids[i])).await?;
            anyhow::ensure!(found.is_some(), "consignment c-{:05} not found", ids[i]);
            Ok(())
        })
        .await?,
    );
    medians.push(
        median_us(calls, |_| async move {
            let filter = ConsignmentFilter::parse(&owner(0), "")?;
            let listed = c.list(&filter, &PageRequest::first(PER_OWNER)).await?;
            anyhow::ensure!(listed.len() == PER_OWNER, "{} listed", listed.len());
            Ok(())
        })
        .await?,
    );
    // The fleet page as everyone sees it, first and deep in the cursor (past every vessel
    // of 100 containers or fewer: a fifth of the large fleet), five rows in either fleet.
    for after in [None, Some((100, 0, String::new()))] {
        medians.push(
            median_us(calls, |_| {
                let page = PageRequest {
                    size: 5,
                    after: after.clone(),
                };
                async move {
                    let listed = v.list(&VesselFilter::default(), &page).await?;
                    anyhow::ensure!(listed.len() == 6, "{} listed, not a page", listed.len());
                    Ok(())
                }
            })
            .await?,
        );
    }
    Ok(medians)
}

/// Every lookup on `store` at each size ([`HUGE`] on the embedded store only).
pub async fn measure(store: Store<'_>, calls: usize) -> anyhow::Result<Vec<FleetResult>> {
    let started = Instant::now();
    let small = time_lookups(store, SMALL, calls).await?;
    let large = time_lookups(store, LARGE, calls).await?;
    let huge = match store {
        Store::Sqlite(_) => Some(time_lookups(store, HUGE, calls).await?),
        Store::Mongo(..) => None,
    };
    let sizes: Vec<usize> = if huge.is_some() {
        vec![SMALL, LARGE, HUGE]
    } else {
        vec![SMALL, LARGE]
    };
    let bytes: Vec<u64> = sizes.iter().map(|s| store.bytes(*s)).collect();
    eprintln!(
        "bench: fleet on {}: filled and timed in {:.1} s",
        store.name(),
        started.elapsed().as_secs_f64()
    );
    Ok(LOOKUPS
        .iter()
        .enumerate()
        .map(|(i, lookup)| FleetResult {
            store: store.name(),
            lookup: (*lookup).to_owned(),
            small_us: small[i],
            large_us: large[i],
            huge_us: huge.as_ref().map(|h| h[i]),
            bytes: bytes.clone(),
        })
        .collect())
}

/// The bytes of every file in `dir` (its SQLite files, their WAL and shared memory).
fn folder_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// How many users the events of a log of `size` belong to: one per 10,000 events (at least
/// one), so each has a page and more.
fn log_users(size: usize) -> usize {
    (size / 10_000).max(1)
}

/// Stores `size` events in a fresh log under `dir`, 10,000 a transaction, as the log
/// service's consumer stores a batch; answers the repository.
async fn fill_log(
    dir: &std::path::Path,
    size: usize,
) -> anyhow::Result<Arc<dyn shippy_log::repo::LogRepository>> {
    use shippy_log::repo::{Event, LogRepository, SqliteLogs};
    let dir = dir.join(format!("log-{size}"));
    std::fs::create_dir_all(&dir)?;
    let repo = Arc::new(SqliteLogs::open(&dir.join("logs.db"))?);
    let start_ms = 1_795_000_000_000_i64;
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..size {
        batch.push(Event {
            id: format!("event-{i:08}"),
            origin: "shippy.consignment".into(),
            method: "ConsignmentBooked".into(),
            message: format!("consignment c-{i} booked on vessel fleet-{}", i % 500),
            user_id: format!("logger-{}", i % log_users(size)),
            time_unix_ms: start_ms + i as i64,
            subject: format!("c-{i}"),
            sequence: 3,
            detail: None,
        });
        if batch.len() == 10_000 {
            repo.insert_all(&batch).await?;
            batch.clear();
        }
    }
    repo.insert_all(&batch).await?;
    Ok(repo)
}

/// A user's page of their activity, first and deep (past half the user's events), timed on
/// logs of [`SMALL`], [`LARGE`] and [`HUGE_LOG`] events on the embedded store.
pub async fn measure_log(dir: &std::path::Path, calls: usize) -> anyhow::Result<Vec<FleetResult>> {
    use shippy_log::domain::Filter;
    let started = Instant::now();
    let mut medians: Vec<[f64; 2]> = Vec::new();
    let mut bytes = Vec::new();
    for size in [SMALL, LARGE, HUGE_LOG] {
        let repo = fill_log(dir, size).await?;
        bytes.push(folder_bytes(&dir.join(format!("log-{size}"))));
        let filter = Filter {
            user_id: "logger-0".into(),
            ..Filter::default()
        };
        // Deep: past the newer half of user 0's events (every `users`-th event is theirs).
        let users = log_users(size);
        let per_user = size / users;
        let middle = (per_user / 2) * users;
        let deep = (
            1_795_000_000_000_i64 + middle as i64,
            3,
            format!("event-{middle:08}"),
        );
        let page_size = SMALL.min(per_user / 2).max(1);
        let mut timed = [0.0; 2];
        for (slot, after) in [None, Some(deep)].into_iter().enumerate() {
            let (repo, filter) = (&repo, &filter);
            timed[slot] = median_us(calls, |_| {
                let page = PageRequest {
                    size: page_size,
                    after: after.clone(),
                };
                async move {
                    let listed = repo.list(filter, &page).await?;
                    anyhow::ensure!(!listed.is_empty(), "an empty page");
                    Ok(())
                }
            })
            .await?;
        }
        medians.push(timed);
    }
    eprintln!(
        "bench: activity log on sqlite: filled and timed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let lookups = [
        "a user's activity: first page",
        "a user's activity: a page deep in the cursor",
    ];
    Ok(lookups
        .iter()
        .enumerate()
        .map(|(i, lookup)| FleetResult {
            store: "sqlite (log)".into(),
            lookup: (*lookup).to_owned(),
            small_us: medians[0][i],
            large_us: medians[1][i],
            huge_us: Some(medians[2][i]),
            bytes: bytes.clone(),
        })
        .collect())
}

/// How long a MongoDB-wire server may take to answer once started.
pub const MONGO_START: Duration = Duration::from_secs(60);

/// A MongoDB-wire server for the fleet case: `SHIPPY_BENCH_MONGO_URI` (a real MongoDB), else
/// SecantusDB from the cache folder (scripts/bench-deps.sh installs it) on a free port, gone
/// with this value.
pub struct MongoServer {
    pub uri: String,
    /// What answers: MongoDB (by the variable) or SecantusDB.
    pub server: &'static str,
    _child: Option<tokio::process::Child>,
    _dir: Option<tempfile::TempDir>,
}

impl MongoServer {
    /// The server, or why there is none.
    pub async fn find() -> Result<Self, String> {
        if let Ok(uri) = std::env::var("SHIPPY_BENCH_MONGO_URI") {
            return Ok(Self {
                uri,
                server: "SHIPPY_BENCH_MONGO_URI",
                _child: None,
                _dir: None,
            });
        }
        let server = crate::cache_dir().join("venv/bin/secantusd-py");
        if !server.exists() {
            return Err(format!(
                "no MongoDB-wire server ({} is missing: scripts/bench-deps.sh installs it; or set SHIPPY_BENCH_MONGO_URI)",
                server.display()
            ));
        }
        let failed = |e: &dyn std::fmt::Display| format!("SecantusDB did not start: {e}");
        let dir = tempfile::tempdir().map_err(|e| failed(&e))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| failed(&e))?
            .port();
        let child = tokio::process::Command::new(&server)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--storage-path")
            .arg(dir.path().join("mongo"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(&e))?;
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if started.elapsed() > MONGO_START {
                return Err(failed(&"nothing answered within a minute"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            uri: format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            server: "SecantusDB",
            _child: Some(child),
            _dir: Some(dir),
        })
    }
}
