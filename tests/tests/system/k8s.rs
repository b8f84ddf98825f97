//! deploy/k8s held against the code, since no cluster can run here. scripts/k8s-check.sh
//! renders every overlay with `kubectl kustomize`, validates it against the Kubernetes schemas
//! and lints it; these tests then read the renderings:
//!
//! - each shippy container's environment loads as a valid config, loaded as its binary loads
//!   it (in a child process with exactly that environment);
//! - every address a container is given names a Service, a port and a pod that exist (or, in
//!   the overlay without in-cluster infrastructure, an address outside the cluster);
//! - the probes ask what the real binaries serve (the five are started and probed as the
//!   kubelet would), and the gateway stays ready while a service it calls is down;
//! - the network policies let through exactly the calls the code makes, read from each
//!   service's source, and nothing else;
//! - the topic and the database are the config's, pods are locked down and sized from the
//!   `make bench` figures in docs/performance.md, the autoscaled overlays keep every service up through
//!   drains, and the Secret `make k8s-keys` makes holds the keys each pod loads, and no more.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_yaml::Value;
use shippy_common::auth::{GatewayProof, ServiceTokens, Subject, TokenIssuer, TokenVerifier};
use shippy_common::config::{AuthConfig, BrokerKind, Config, RegistryKind, StoreKind};
use shippy_common::names;
use shippy_system_tests::{System, bin_dir, cache_dir, load_args, repo_root, service_named};

/// The overlays a README reader is told about; every folder under overlays/ is checked.
const OVERLAYS: [&str; 3] = ["local", "cluster", "external-infrastructure"];

/// The address the downward API gives a pod in these checks.
const POD_IP: &str = "10.244.1.23";

/// Namespaces whose pods may call the gateway: ingress-nginx's own, and kube-system, where
/// k3s and k3d run Traefik.
const INGRESS_NAMESPACES: [&str; 2] = ["ingress-nginx", "kube-system"];

/// Secrets the overlays read that the operator creates, with a value of the shape they hold.
const OPERATOR_SECRETS: [(&str, &str, &str); 1] = [(
    "shippy-mongodb",
    "uri",
    "mongodb://shippy:secret@mongo.example.internal:27017/?replicaSet=rs0&tls=true",
)];

/// Set in the child process that loads one container's config.
const CHILD: &str = "SHIPPY_TEST_K8S_CONFIG_CHILD";

type Labels = BTreeMap<String, String>;

// ---------------------------------------------------------------------------------------
// Rendering

/// kubectl from the PATH, else the one scripts/test-deps.sh installs where none is.
fn kubectl() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("kubectl"))
            .find(|k| k.is_file())
    });
    let kubectl = on_path.unwrap_or_else(|| cache_dir().join("venv/bin/kubectl"));
    assert!(
        kubectl.is_file(),
        "no kubectl: run scripts/test-deps.sh (make test-deps)"
    );
    kubectl
}

/// One overlay as `kubectl kustomize` renders it.
struct Manifest {
    overlay: String,
    objects: Vec<Value>,
}

/// A Deployment, StatefulSet or Job, by its pod template.
struct Workload<'a> {
    kind: String,
    name: String,
    object: &'a Value,
    pod: &'a Value,
    labels: Labels,
}

impl Manifest {
    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |o| o["kind"] == kind)
    }

    fn named(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }

    fn namespace(&self) -> String {
        let namespaces: Vec<&Value> = self.of_kind("Namespace").collect();
        assert_eq!(namespaces.len(), 1, "{}: one Namespace", self.overlay);
        let name = text(&namespaces[0]["metadata"]["name"]).to_owned();
        for object in &self.objects {
            if object["kind"] != "Namespace" {
                assert_eq!(
                    text(&object["metadata"]["namespace"]),
                    name,
                    "{}: {} {} is in the overlay's namespace",
                    self.overlay,
                    text(&object["kind"]),
                    text(&object["metadata"]["name"])
                );
            }
        }
        name
    }

    fn namespace_labels(&self, namespace: &str) -> Labels {
        let mut labels = Labels::new();
        if let Some(ns) = self.named("Namespace", namespace) {
            labels = labels_of(&ns["metadata"]["labels"]);
        }
        labels.insert(
            "kubernetes.io/metadata.name".to_owned(),
            namespace.to_owned(),
        );
        labels
    }

    fn workloads(&self) -> Vec<Workload<'_>> {
        self.objects
            .iter()
            .filter(|o| ["Deployment", "StatefulSet", "Job"].contains(&text(&o["kind"])))
            .map(|o| Workload {
                kind: text(&o["kind"]).to_owned(),
                name: text(&o["metadata"]["name"]).to_owned(),
                object: o,
                pod: &o["spec"]["template"]["spec"],
                labels: labels_of(&o["spec"]["template"]["metadata"]["labels"]),
            })
            .collect()
    }

    fn workload(&self, name: &str) -> Workload<'_> {
        self.workloads()
            .into_iter()
            .find(|w| w.name == name)
            .unwrap_or_else(|| panic!("{}: no workload {name}", self.overlay))
    }

    /// The five services: the registered name and the workload running its binary.
    fn shippy(&self) -> Vec<(&'static str, Workload<'_>)> {
        let found: Vec<(&'static str, Workload<'_>)> = self
            .workloads()
            .into_iter()
            .filter_map(|w| {
                let command = strings(&w.containers()[0]["command"]);
                let service = names::ALL.into_iter().find(|s| {
                    command.first().map(String::as_str) == Some(service_named(s).binary())
                })?;
                Some((service, w))
            })
            .collect();
        let services: Vec<&str> = found.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            services.iter().copied().collect::<BTreeSet<_>>(),
            names::ALL.into_iter().collect::<BTreeSet<_>>(),
            "{}: each of the five services runs",
            self.overlay
        );
        assert_eq!(services.len(), 5, "{}: each service once", self.overlay);
        found
    }
}

impl Workload<'_> {
    fn containers(&self) -> &[Value] {
        self.pod["containers"]
            .as_sequence()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn container(&self) -> &Value {
        assert_eq!(self.containers().len(), 1, "{}: one container", self.name);
        &self.containers()[0]
    }

    /// `(protocol, port)` of every container port, and the names of the named ones.
    fn ports(&self) -> (Vec<(String, u16)>, BTreeMap<String, u16>) {
        let mut ports = Vec::new();
        let mut named = BTreeMap::new();
        for container in self.containers() {
            for port in container["ports"].as_sequence().into_iter().flatten() {
                let number = number(&port["containerPort"]);
                let protocol = port["protocol"].as_str().unwrap_or("TCP").to_owned();
                ports.push((protocol, number));
                if let Some(name) = port["name"].as_str() {
                    named.insert(name.to_owned(), number);
                }
            }
        }
        (ports, named)
    }

    fn port_named(&self, name: &str) -> u16 {
        *self
            .ports()
            .1
            .get(name)
            .unwrap_or_else(|| panic!("{}: no container port named {name}", self.name))
    }
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn number(v: &Value) -> u16 {
    u16::try_from(v.as_u64().unwrap_or_else(|| panic!("not a port: {v:?}"))).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .map(|s| text(s).to_owned())
        .collect()
}

fn labels_of(v: &Value) -> Labels {
    v.as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, v)| (text(k).to_owned(), text(v).to_owned()))
        .collect()
}

fn overlay_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(repo_root().join("deploy/k8s/overlays"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    for overlay in OVERLAYS {
        assert!(dirs.iter().any(|d| d == overlay), "overlays/{overlay}");
    }
    dirs
}

/// The kustomization in `dir`, rendered by `kubectl kustomize`.
fn render(dir: &Path, overlay: String) -> Manifest {
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{overlay} does not render: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = serde_yaml::Deserializer::from_slice(&out.stdout)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect();
    Manifest { overlay, objects }
}

/// Every overlay, rendered once per test run.
fn manifests() -> &'static [Manifest] {
    static RENDERED: OnceLock<Vec<Manifest>> = OnceLock::new();
    RENDERED.get_or_init(|| {
        overlay_dirs()
            .into_iter()
            .map(|overlay| {
                render(
                    &repo_root().join("deploy/k8s/overlays").join(&overlay),
                    overlay,
                )
            })
            .collect()
    })
}

/// `overlay` with its kustomization.yaml changed by `change`, rendered from a temporary
/// folder (its `../../` paths lead to deploy/k8s through a link there).
fn render_changed(overlay: &str, change: impl FnOnce(&mut Value)) -> Manifest {
    let path = repo_root().join("deploy/k8s/overlays").join(overlay);
    let mut kustomization: Value =
        serde_yaml::from_str(&std::fs::read_to_string(path.join("kustomization.yaml")).unwrap())
            .unwrap();
    for list in ["resources", "components"] {
        for entry in kustomization[list].as_sequence_mut().into_iter().flatten() {
            let relative = text(entry)
                .strip_prefix("../../")
                .unwrap_or_else(|| panic!("{overlay}: {entry:?} is not under deploy/k8s"));
            *entry = Value::from(format!("k8s/{relative}"));
        }
    }
    change(&mut kustomization);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo_root().join("deploy/k8s"), dir.path().join("k8s")).unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        serde_yaml::to_string(&kustomization).unwrap(),
    )
    .unwrap();
    render(dir.path(), format!("{overlay} (changed)"))
}

// ---------------------------------------------------------------------------------------
// A container's environment and the config it loads

/// The environment a container starts with: its ConfigMaps, then its own `env` (which wins).
fn container_env(m: &Manifest, container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_sequence().into_iter().flatten() {
        let name = text(&source["configMapRef"]["name"]);
        assert!(
            !name.is_empty(),
            "{}: only ConfigMaps in envFrom: {source:?}",
            m.overlay
        );
        let map = m
            .named("ConfigMap", name)
            .unwrap_or_else(|| panic!("{}: no ConfigMap {name}", m.overlay));
        let prefix = text(&source["prefix"]);
        for (k, v) in map["data"].as_mapping().into_iter().flatten() {
            env.insert(format!("{prefix}{}", text(k)), text(v).to_owned());
        }
    }
    for var in container["env"].as_sequence().into_iter().flatten() {
        let name = text(&var["name"]).to_owned();
        let value = if let Some(value) = var["value"].as_str() {
            value.to_owned()
        } else if let Some(field) = var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            assert_eq!(field, "status.podIP", "{}: {name}", m.overlay);
            POD_IP.to_owned()
        } else if !var["valueFrom"]["secretKeyRef"].is_null() {
            let reference = &var["valueFrom"]["secretKeyRef"];
            let (secret, key) = (text(&reference["name"]), text(&reference["key"]));
            OPERATOR_SECRETS
                .iter()
                .find(|(s, k, _)| *s == secret && *k == key)
                .unwrap_or_else(|| panic!("{}: {name} from unknown {secret}/{key}", m.overlay))
                .2
                .to_owned()
        } else {
            panic!("{}: {name} has no value I can follow: {var:?}", m.overlay)
        };
        env.insert(name, value);
    }
    env
}

/// The config a container loads from `env`, as its binary loads it: in a child process (this
/// test binary again) with exactly that environment, in a folder holding only `config/`, as
/// the image's /app does.
fn load_config(env: &BTreeMap<String, String>) -> Result<Config, String> {
    static LOADED: OnceLock<Mutex<BTreeMap<String, Result<Config, String>>>> = OnceLock::new();
    let key = format!("{env:?}");
    let cache = LOADED.get_or_init(Default::default);
    if let Some(loaded) = cache.lock().unwrap().get(&key) {
        return loaded.clone();
    }
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo_root().join("config"), dir.path().join("config")).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            &child_test_name(),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .envs(env)
        .env(CHILD, "1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let loaded = stdout
        .lines()
        .find_map(|line| {
            // The harness may have begun the line with the test's name.
            if let Some((_, json)) = line.split_once("SHIPPY-CONFIG ") {
                Some(Ok(serde_json::from_str(json).unwrap()))
            } else {
                line.split_once("SHIPPY-CONFIG-ERROR ")
                    .map(|(_, e)| Err(e.to_owned()))
            }
        })
        .unwrap_or_else(|| {
            panic!(
                "the child printed no config: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    cache.lock().unwrap().insert(key, loaded.clone());
    loaded
}

/// The harness's name for the test below: its module path in this binary, then its name.
fn child_test_name() -> String {
    let path = module_path!().split_once("::").map_or("", |(_, p)| p);
    format!("{path}::the_child_half_of_loading_a_containers_config")
}

/// The child's half of [`load_config`]; does nothing in an ordinary run.
#[test]
fn the_child_half_of_loading_a_containers_config() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    // As a service binary loads it: its flags, read from the environment (clap's `env`).
    let args = <shippy_common::launch::ServiceArgs as clap::Parser>::parse_from(["container"]);
    match args.load(shippy_common::Service::User) {
        Ok(config) => println!("SHIPPY-CONFIG {}", serde_json::to_string(&config).unwrap()),
        Err(e) => println!("SHIPPY-CONFIG-ERROR {e}"),
    }
}

fn config_of(m: &Manifest, w: &Workload<'_>) -> Config {
    load_config(&container_env(m, w.container()))
        .unwrap_or_else(|e| panic!("{}: {}'s environment: {e}", m.overlay, w.name))
}

// ---------------------------------------------------------------------------------------
// What the code uses, read from each service's source

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Infra {
    Registry,
    Broker,
    Store,
    Telemetry,
}

impl Infra {
    /// The workload that plays it in deploy/k8s/infrastructure.
    fn workload(self) -> &'static str {
        match self {
            Infra::Registry => "consul",
            Infra::Broker => "kafka",
            Infra::Store => "mongo",
            Infra::Telemetry => "jaeger",
        }
    }

    /// `(host, port)` of each server `config` names for it.
    fn servers(self, config: &Config) -> Vec<(String, u16)> {
        match self {
            Infra::Registry => servers(&config.registry.consul_address),
            Infra::Broker => servers(&config.broker.kafka_brokers),
            Infra::Store => servers(&config.store.mongodb_uri),
            Infra::Telemetry => servers(&config.telemetry.otlp_endpoint),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    TokenPrivate,
    TokenPublic,
    ServicePrivate,
    ServicePublic,
    GatewayPrivate,
    GatewayPublic,
}

impl Key {
    pub(crate) const ALL: [Key; 6] = [
        Key::TokenPrivate,
        Key::TokenPublic,
        Key::ServicePrivate,
        Key::ServicePublic,
        Key::GatewayPrivate,
        Key::GatewayPublic,
    ];

    pub(crate) fn path(self, auth: &AuthConfig) -> &Path {
        match self {
            Key::TokenPrivate => &auth.private_key,
            Key::TokenPublic => &auth.public_key,
            Key::ServicePrivate => &auth.service_private_key,
            Key::ServicePublic => &auth.service_public_key,
            Key::GatewayPrivate => &auth.gateway_private_key,
            Key::GatewayPublic => &auth.gateway_public_key,
        }
    }
}

/// What one service's code calls and reads.
#[derive(Debug, Default)]
pub(crate) struct Uses {
    services: BTreeSet<&'static str>,
    infra: BTreeSet<Infra>,
    pub(crate) keys: BTreeSet<Key>,
}

/// Read from `services/<name>/src`, test code left out: the other services it names (it
/// builds a client for them), the infrastructure it wires up, the keys it loads.
pub(crate) fn uses(service: &str) -> Uses {
    fn sources(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name != "tests" {
                sources(&path, out);
            } else if name.ends_with(".rs") && name != "tests.rs" {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push_str(text.split("#[cfg(test)]").next().unwrap());
            }
        }
    }
    let mut code = String::new();
    let dir = service.trim_start_matches("shippy.");
    sources(
        &repo_root().join("services").join(dir).join("src"),
        &mut code,
    );
    let has = |needle: &str| code.contains(needle);
    let mut uses = Uses::default();
    for (other, constant) in [
        (names::USER, "names::USER"),
        (names::VESSEL, "names::VESSEL"),
        (names::CONSIGNMENT, "names::CONSIGNMENT"),
        (names::LOG, "names::LOG"),
        (names::API, "names::API"),
    ] {
        if other != service && has(constant) {
            uses.services.insert(other);
        }
    }
    let wired = [
        (Infra::Registry, &["wiring::registry("][..]),
        (
            Infra::Broker,
            &[
                "wiring::broker(",
                "wiring::relay(",
                "wiring::follow_revocations(",
            ][..],
        ),
        (Infra::Store, &["wiring::mongo_database("][..]),
        (Infra::Telemetry, &["telemetry::init("][..]),
    ];
    for (infra, needles) in wired {
        if needles.iter().any(|n| has(n)) {
            uses.infra.insert(infra);
        }
    }
    if has("TokenIssuer::load(") {
        uses.keys.insert(Key::TokenPrivate);
    }
    if has("TokenVerifier::load(") {
        uses.keys.extend([Key::TokenPublic, Key::ServicePublic]);
    }
    if has("ServiceTokens::load(") {
        uses.keys.insert(Key::ServicePrivate);
    }
    if has("ServiceTokens::gateway(") {
        uses.keys.insert(Key::GatewayPrivate);
    }
    if has("GatewayProof::load(") {
        uses.keys.insert(Key::GatewayPublic);
    }
    uses
}

#[test]
fn reading_the_source_finds_the_calls_of_the_architecture_diagram() {
    let api = uses(names::API);
    assert_eq!(
        api.services,
        [names::USER, names::VESSEL, names::CONSIGNMENT, names::LOG].into(),
        "api → user, vessel, consignment, log"
    );
    assert_eq!(uses(names::CONSIGNMENT).services, [names::VESSEL].into());
    for service in [names::USER, names::VESSEL, names::LOG] {
        assert!(
            uses(service).services.is_empty(),
            "{service} calls no service"
        );
    }
    for service in names::ALL {
        let u = uses(service);
        assert!(u.infra.contains(&Infra::Registry), "{service} registers");
        assert!(
            u.infra.contains(&Infra::Telemetry),
            "{service} exports spans"
        );
        let stores = service != names::API;
        assert_eq!(u.infra.contains(&Infra::Store), stores, "{service}");
        assert_eq!(u.infra.contains(&Infra::Broker), stores, "{service}");
    }
    assert!(uses(names::USER).keys.contains(&Key::TokenPrivate));
    assert!(uses(names::CONSIGNMENT).keys.contains(&Key::ServicePrivate));
    assert_eq!(
        uses(names::API).keys,
        [
            Key::TokenPublic,
            Key::ServicePublic,
            Key::GatewayPrivate,
            Key::GatewayPublic
        ]
        .into(),
        "the gateway holds public keys, to tell signed-in users apart for their budgets, and \
         its own key pair, to prove itself to the services"
    );
    for service in [names::USER, names::VESSEL, names::CONSIGNMENT, names::LOG] {
        assert!(
            uses(service).keys.contains(&Key::GatewayPublic),
            "{service} checks the gateway's proof"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Addresses, Services and pods

/// `(host, port)` of each server in `http://h:p`, `h:p,h:p` or `mongodb://u:p@h:p,h:p/db?o`.
fn servers(address: &str) -> Vec<(String, u16)> {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap();
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    hosts
        .split(',')
        .map(|server| {
            let (host, port) = server
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("{address}: {server} names no port"));
            (host.to_owned(), port.parse().unwrap())
        })
        .collect()
}

/// Where a connection to `host:port` lands in the cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// A pod of this workload, on this container port.
    Pod(String, u16),
    /// An address outside the cluster, on this port.
    Outside(u16),
}

/// Follows `host:port` to a Service of `m` and on to the pods it selects; `Outside` when the
/// host is no cluster name.
fn target(m: &Manifest, host: &str, port: u16) -> Result<Target, String> {
    let namespace = m.namespace();
    let mut labels = host.split('.');
    let service = labels.next().unwrap();
    let rest: Vec<&str> = labels.collect();
    let in_cluster = rest.is_empty()
        || rest == [namespace.as_str()]
        || rest == [namespace.as_str(), "svc"]
        || rest == [namespace.as_str(), "svc", "cluster", "local"];
    if !in_cluster {
        return Ok(Target::Outside(port));
    }
    let svc = m
        .named("Service", service)
        .ok_or_else(|| format!("{host}: no Service {service}"))?;
    let entry = svc["spec"]["ports"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|p| number(&p["port"]) == port)
        .ok_or_else(|| format!("{host}:{port}: Service {service} has no port {port}"))?;
    let headless = svc["spec"]["clusterIP"] == "None";
    let selector = labels_of(&svc["spec"]["selector"]);
    let selected: Vec<Workload<'_>> = m
        .workloads()
        .into_iter()
        .filter(|w| {
            !selector.is_empty() && selector.iter().all(|(k, v)| w.labels.get(k) == Some(v))
        })
        .collect();
    let [workload] = selected.as_slice() else {
        return Err(format!(
            "{host}:{port}: Service {service} selects {} workloads",
            selected.len()
        ));
    };
    let (ports, named) = workload.ports();
    // A headless Service's name resolves to the pods themselves: the port is the pod's.
    let container_port = match (&entry["targetPort"], headless) {
        (_, true) | (Value::Null, _) => port,
        (Value::String(name), false) => *named
            .get(name)
            .ok_or_else(|| format!("{host}:{port}: {} has no port {name}", workload.name))?,
        (other, false) => number(other),
    };
    if !ports
        .iter()
        .any(|(p, n)| p == "TCP" && *n == container_port)
    {
        return Err(format!(
            "{host}:{port}: {} does not listen on {container_port}",
            workload.name
        ));
    }
    Ok(Target::Pod(workload.name.clone(), container_port))
}

/// Where each piece of infrastructure a service uses is, as its config says.
fn infra_targets(m: &Manifest, service: &str, config: &Config) -> Vec<(Infra, Target)> {
    let mut targets = Vec::new();
    for infra in uses(service).infra {
        for (host, port) in infra.servers(config) {
            let target =
                target(m, &host, port).unwrap_or_else(|e| panic!("{}: {service}: {e}", m.overlay));
            targets.push((infra, target));
        }
    }
    targets
}

#[test]
fn every_shippy_container_loads_a_valid_config_that_points_at_what_exists() {
    for m in manifests() {
        for (service, w) in m.shippy() {
            let env = container_env(m, w.container());
            for name in env.keys() {
                assert!(
                    name.starts_with("SHIPPY_"),
                    "{}: {service}: {name} is not a setting shippy reads",
                    m.overlay
                );
            }
            let config = config_of(m, &w);
            let settings = config.service(service_named(service));
            let listen_port = if service == names::API {
                "http"
            } else {
                "grpc"
            };
            assert!(
                settings.listen.ip().is_unspecified(),
                "{service} listens on the pod's addresses"
            );
            assert_eq!(
                settings.listen.port(),
                w.port_named(listen_port),
                "{}: {service}",
                m.overlay
            );
            assert!(settings.metrics_listen.ip().is_unspecified(), "{service}");
            assert_eq!(
                settings.metrics_listen.port(),
                w.port_named("metrics"),
                "{service}"
            );
            assert_eq!(
                config.registry.advertise_host, POD_IP,
                "{}: {service} registers its pod's address (downward API status.podIP)",
                m.overlay
            );
            // Each pod is its own machine: the embedded SQLite registry, broker and stores
            // would be one per pod, and the services would never meet.
            assert_eq!(config.registry.kind, RegistryKind::Consul, "{service}");
            assert_eq!(config.broker.kind, BrokerKind::Kafka, "{service}");
            assert_eq!(config.store.kind, StoreKind::Mongodb, "{service}");
            assert!(
                !config.telemetry.otlp_endpoint.is_empty(),
                "{service} exports spans"
            );
            assert!(
                w.container()["workingDir"].is_null(),
                "{service} runs in the image's /app, where config/ is"
            );

            for (infra, target) in infra_targets(m, service, &config) {
                let runs_it = m.workloads().iter().any(|w| w.name == infra.workload());
                match target {
                    Target::Pod(workload, _) => assert_eq!(
                        workload,
                        infra.workload(),
                        "{}: {service}'s {infra:?} is {}",
                        m.overlay,
                        infra.workload()
                    ),
                    Target::Outside(_) => assert!(
                        !runs_it,
                        "{}: {service} uses a {infra:?} elsewhere while the overlay runs {}",
                        m.overlay,
                        infra.workload()
                    ),
                }
            }
        }
    }
}

#[test]
fn a_bad_environment_or_a_wrong_address_is_caught() {
    let m = manifests().iter().find(|m| m.overlay == "local").unwrap();
    let (_, user) = m
        .shippy()
        .into_iter()
        .find(|(s, _)| *s == names::USER)
        .unwrap();
    let mut env = container_env(m, user.container());
    env.insert("SHIPPY_REGISTRY__TTL_SECONDS".into(), "10".into());
    let err = load_config(&env).unwrap_err();
    assert!(err.contains("ttl_seconds"), "{err}");
    let mut env = container_env(m, user.container());
    env.insert("SHIPPY_SHUTDOWN_GRACE_SECS".into(), "20".into());
    assert_eq!(
        load_config(&env).unwrap().shutdown_grace_secs,
        20,
        "numbers load as the binaries load them"
    );

    assert!(
        target(m, "kafka", 9093)
            .unwrap_err()
            .contains("no port 9093")
    );
    assert!(target(m, "kafak", 9092).unwrap_err().contains("no Service"));
    assert_eq!(
        target(m, "kafka.shippy.svc", 9092),
        Ok(Target::Pod("kafka".into(), 9092))
    );
    assert_eq!(
        target(m, "kafka.example.internal", 9092),
        Ok(Target::Outside(9092))
    );
}

#[test]
fn the_ingress_sends_everything_to_the_gateway() {
    for m in manifests() {
        let api = m
            .shippy()
            .into_iter()
            .find(|(s, _)| *s == names::API)
            .unwrap()
            .1;
        let config = config_of(m, &api);
        let ingresses: Vec<&Value> = m.of_kind("Ingress").collect();
        assert_eq!(ingresses.len(), 1, "{}: one Ingress", m.overlay);
        for rule in ingresses[0]["spec"]["rules"].as_sequence().unwrap() {
            for path in rule["http"]["paths"].as_sequence().unwrap() {
                assert_eq!(path["path"], "/", "{}", m.overlay);
                assert_eq!(path["pathType"], "Prefix", "{}", m.overlay);
                let backend = &path["backend"]["service"];
                let svc = m
                    .named("Service", text(&backend["name"]))
                    .expect("the backend Service");
                let port = svc["spec"]["ports"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .find(|p| {
                        p["name"] == backend["port"]["name"]
                            || p["port"] == backend["port"]["number"]
                    })
                    .expect("the backend port");
                assert_eq!(
                    target(m, text(&backend["name"]), number(&port["port"])),
                    Ok(Target::Pod(
                        api.name.clone(),
                        config.services.api.listen.port()
                    )),
                    "{}: the ingress reaches the gateway's listen port",
                    m.overlay
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Network policies

/// One end of a connection.
#[derive(Clone, Debug)]
enum End {
    Pod {
        what: String,
        namespace: String,
        labels: Labels,
        ports: Vec<(String, u16)>,
        named: BTreeMap<String, u16>,
    },
    /// An address outside the cluster.
    Outside { ports: Vec<(String, u16)> },
}

impl End {
    fn what(&self) -> String {
        match self {
            End::Pod { what, .. } => what.clone(),
            End::Outside { .. } => "outside the cluster".to_owned(),
        }
    }

    fn namespace(&self) -> Option<&str> {
        match self {
            End::Pod { namespace, .. } => Some(namespace),
            End::Outside { .. } => None,
        }
    }

    fn pseudo(what: &str, namespace: &str, labels: &[(&str, &str)], ports: &[(&str, u16)]) -> End {
        End::Pod {
            what: format!("{namespace}/{what}"),
            namespace: namespace.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ports: ports.iter().map(|(p, n)| ((*p).to_owned(), *n)).collect(),
            named: BTreeMap::new(),
        }
    }
}

fn selects(selector: &Value, labels: &Labels) -> bool {
    let match_labels = labels_of(&selector["matchLabels"]);
    if !match_labels.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return false;
    }
    selector["matchExpressions"]
        .as_sequence()
        .into_iter()
        .flatten()
        .all(|e| {
            let value = labels.get(text(&e["key"]));
            let values = strings(&e["values"]);
            match text(&e["operator"]) {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                other => panic!("operator {other}"),
            }
        })
}

/// Whether `policies` (all in `m`'s namespace) let `from` open `protocol/port` on `to`.
fn allowed(m: &Manifest, from: &End, to: &End, protocol: &str, port: u16) -> bool {
    let namespace = m.namespace();
    let policies: Vec<&Value> = m.of_kind("NetworkPolicy").collect();
    let peer_matches = |peer: &Value, other: &End| -> bool {
        if !peer["ipBlock"].is_null() {
            // The infrastructure's addresses are names, so its IPs are unknown here: an IP
            // block stands for "outside the cluster".
            return matches!(other, End::Outside { .. });
        }
        let End::Pod {
            namespace: ns,
            labels,
            ..
        } = other
        else {
            return false;
        };
        let namespace_ok = match &peer["namespaceSelector"] {
            Value::Null => *ns == namespace,
            selector => selects(selector, &m.namespace_labels(ns)),
        };
        let pod_ok = match &peer["podSelector"] {
            Value::Null => true,
            selector => selects(selector, labels),
        };
        namespace_ok && pod_ok
    };
    let ports_match = |ports: &Value| -> bool {
        let Some(ports) = ports.as_sequence().filter(|p| !p.is_empty()) else {
            return true;
        };
        ports.iter().any(|p| {
            let proto_ok = p["protocol"].as_str().unwrap_or("TCP") == protocol;
            let port_ok = match &p["port"] {
                Value::Null => true,
                Value::String(name) => match to {
                    End::Pod { named, .. } => named.get(name) == Some(&port),
                    End::Outside { .. } => false,
                },
                n => {
                    let first = number(n);
                    let last = p["endPort"]
                        .as_u64()
                        .map_or(first, |e| u16::try_from(e).unwrap());
                    (first..=last).contains(&port)
                }
            };
            proto_ok && port_ok
        })
    };
    let side = |subject: &End, other: &End, direction: &str| -> bool {
        let (rules, peers) = if direction == "Egress" {
            ("egress", "to")
        } else {
            ("ingress", "from")
        };
        let End::Pod {
            namespace: ns,
            labels,
            ..
        } = subject
        else {
            return true;
        };
        if *ns != namespace {
            return true;
        }
        let selecting: Vec<&&Value> = policies
            .iter()
            .filter(|p| selects(&p["spec"]["podSelector"], labels))
            .filter(|p| {
                let types = strings(&p["spec"]["policyTypes"]);
                if types.is_empty() {
                    direction == "Ingress" || !p["spec"]["egress"].is_null()
                } else {
                    types.iter().any(|t| t == direction)
                }
            })
            .collect();
        if selecting.is_empty() {
            return true;
        }
        selecting.iter().any(|p| {
            p["spec"][rules]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|rule| {
                    let peers_ok = match rule[peers].as_sequence() {
                        None => true,
                        Some(list) => {
                            list.is_empty() || list.iter().any(|peer| peer_matches(peer, other))
                        }
                    };
                    peers_ok && ports_match(&rule["ports"])
                })
        })
    };
    side(from, to, "Egress") && side(to, from, "Ingress")
}

/// Every pod the overlay runs, and the pods around it that the policies must reckon with.
fn ends(m: &Manifest, outside_ports: Vec<(String, u16)>) -> Vec<End> {
    let namespace = m.namespace();
    let mut ends: Vec<End> = m
        .workloads()
        .iter()
        .map(|w| {
            let (ports, named) = w.ports();
            End::Pod {
                what: format!("{}/{}", w.kind.to_lowercase(), w.name),
                namespace: namespace.clone(),
                labels: w.labels.clone(),
                ports,
                named,
            }
        })
        .collect();
    ends.extend([
        End::pseudo(
            "ingress-nginx-controller",
            "ingress-nginx",
            &[("app.kubernetes.io/name", "ingress-nginx")],
            &[("TCP", 80), ("TCP", 443)],
        ),
        End::pseudo(
            "traefik",
            "kube-system",
            &[("app.kubernetes.io/name", "traefik")],
            &[("TCP", 80)],
        ),
        End::pseudo(
            "coredns",
            "kube-system",
            &[("k8s-app", "kube-dns")],
            &[("UDP", 53), ("TCP", 53)],
        ),
        End::pseudo(
            "other-app",
            "default",
            &[("app", "other")],
            &[("TCP", 8080)],
        ),
        End::pseudo(
            "debug (kubectl run)",
            &namespace,
            &[("run", "debug")],
            &[("TCP", 8080)],
        ),
        End::Outside {
            ports: outside_ports,
        },
    ]);
    ends
}

/// What each workload of `m` calls, as `(workload, target)`: the services from their code and
/// config, the kafka-topics Job from its arguments.
fn calls(m: &Manifest) -> BTreeSet<(String, Target)> {
    let mut calls = BTreeSet::new();
    let shippy = m.shippy();
    let configs: BTreeMap<&str, Config> =
        shippy.iter().map(|(s, w)| (*s, config_of(m, w))).collect();
    for (service, w) in &shippy {
        for callee in uses(service).services {
            let (_, callee_w) = shippy.iter().find(|(s, _)| *s == callee).unwrap();
            let port = configs[callee].service(service_named(callee)).listen.port();
            calls.insert((w.name.clone(), Target::Pod(callee_w.name.clone(), port)));
        }
        for (_, target) in infra_targets(m, service, &configs[service]) {
            calls.insert((w.name.clone(), target));
        }
    }
    // loadgen calls the gateway its `shippy load --api` names, and nothing else.
    if let Some(load) = m.workloads().iter().find(|w| w.name == "loadgen") {
        let api = loadgen_args(&strings(&load.container()["command"]))
            .api
            .expect("loadgen names the gateway");
        for (host, port) in servers(&api) {
            let target = target(m, &host, port).unwrap_or_else(|e| panic!("loadgen: {e}"));
            calls.insert((load.name.clone(), target));
        }
    }
    if let Some(job) = m.workloads().iter().find(|w| w.name == "kafka-topics") {
        for arg in strings(&job.container()["command"]) {
            if let Some(list) = arg.strip_prefix("--bootstrap-server=") {
                for (host, port) in servers(list) {
                    calls.insert((job.name.clone(), target(m, &host, port).unwrap()));
                }
            }
        }
    }
    calls
}

/// Every connection between the pods of `m` and the pods around them, on every port they
/// listen on and one they do not, where the policies and the calls disagree; and how many
/// connections were looked at.
fn policy_mismatches(
    m: &Manifest,
    calls: &BTreeSet<(String, Target)>,
    api_port: u16,
) -> (usize, Vec<String>) {
    let namespace = m.namespace();
    let mut outside_ports: Vec<(String, u16)> = calls
        .iter()
        .filter_map(|(_, t)| match t {
            Target::Outside(port) => Some(("TCP".to_owned(), *port)),
            Target::Pod(..) => None,
        })
        .collect();
    outside_ports.extend([("TCP".to_owned(), 443), ("TCP".to_owned(), 5432)]);
    outside_ports.sort();
    outside_ports.dedup();
    let ends = ends(m, outside_ports);
    let ours = |e: &End| e.namespace() == Some(namespace.as_str());
    let workload_of = |end: &End| -> Option<String> {
        match end {
            End::Pod { what, .. } if ours(end) => {
                what.split_once('/').map(|(_, name)| name.to_owned())
            }
            _ => None,
        }
    };
    let mut wrong = Vec::new();
    let mut checked = 0;
    for from in ends.iter().filter(|e| !matches!(e, End::Outside { .. })) {
        for to in &ends {
            if !ours(from) && !ours(to) {
                continue;
            }
            let mut ports = match to {
                End::Pod { ports, .. } | End::Outside { ports } => ports.clone(),
            };
            ports.push(("TCP".to_owned(), 1));
            for (protocol, port) in ports {
                let dns = port == 53
                    && matches!(to, End::Pod { labels, namespace: ns, .. }
                        if ns == "kube-system" && labels.get("k8s-app").is_some_and(|a| a == "kube-dns"));
                let to_gateway = workload_of(to).as_deref() == Some("api-service")
                    && protocol == "TCP"
                    && port == api_port
                    && from
                        .namespace()
                        .is_some_and(|ns| INGRESS_NAMESPACES.contains(&ns));
                let called = protocol == "TCP"
                    && workload_of(from).is_some_and(|caller| {
                        let target = match to {
                            End::Outside { .. } => Some(Target::Outside(port)),
                            End::Pod { .. } => {
                                workload_of(to).map(|callee| Target::Pod(callee, port))
                            }
                        };
                        target.is_some_and(|t| calls.contains(&(caller, t)))
                    });
                let expected = dns || to_gateway || called;
                let actual = allowed(m, from, to, &protocol, port);
                checked += 1;
                if expected != actual {
                    wrong.push(format!(
                        "{} → {} {protocol}/{port}: the policies {} it, the code {}",
                        from.what(),
                        to.what(),
                        if actual { "allow" } else { "deny" },
                        if expected {
                            "makes this call"
                        } else {
                            "makes no such call"
                        }
                    ));
                }
            }
        }
    }
    (checked, wrong)
}

fn api_port(m: &Manifest) -> u16 {
    let (_, api) = m
        .shippy()
        .into_iter()
        .find(|(s, _)| *s == names::API)
        .unwrap();
    config_of(m, &api).services.api.listen.port()
}

#[test]
fn the_network_policies_allow_each_call_the_services_make_and_nothing_else() {
    for m in manifests() {
        let (checked, wrong) = policy_mismatches(m, &calls(m), api_port(m));
        assert!(
            checked > 200,
            "{}: only {checked} connections checked",
            m.overlay
        );
        assert!(wrong.is_empty(), "{}:\n{}", m.overlay, wrong.join("\n"));
    }
}

#[test]
fn the_policy_check_catches_a_missing_rule_a_wrong_port_and_an_extra_allowance() {
    let m = manifests().iter().find(|m| m.overlay == "local").unwrap();
    let (calls, api_port) = (calls(m), api_port(m));
    let mutated = |change: &dyn Fn(&mut Vec<Value>)| {
        let mut objects = m.objects.clone();
        change(&mut objects);
        let broken = Manifest {
            overlay: m.overlay.clone(),
            objects,
        };
        policy_mismatches(&broken, &calls, api_port).1.join("\n")
    };
    let policy = |objects: &mut Vec<Value>, name: &str| -> usize {
        objects
            .iter()
            .position(|o| o["kind"] == "NetworkPolicy" && o["metadata"]["name"] == name)
            .unwrap()
    };

    let missing = mutated(&|objects| {
        let i = policy(objects, "consignment-service");
        objects.remove(i);
    });
    assert!(
        missing.contains("deployment/consignment-service → deployment/vessel-service TCP/50052: the policies deny it"),
        "{missing}"
    );
    let wrong_port = mutated(&|objects| {
        let i = policy(objects, "egress-to-mongo");
        objects[i]["spec"]["egress"][0]["ports"][0]["port"] = Value::from(27018);
    });
    assert!(
        wrong_port.contains(
            "deployment/user-service → statefulset/mongo TCP/27017: the policies deny it"
        ),
        "{wrong_port}"
    );
    // An allowance too many shows where the other end does not hold it back: an address
    // outside the cluster, a pod in another namespace.
    let extra_egress = mutated(&|objects| {
        let i = policy(objects, "api-service");
        let rule = &mut objects[i]["spec"]["egress"][0];
        rule["to"] = serde_yaml::from_str("[{ipBlock: {cidr: 0.0.0.0/0}}]").unwrap();
        rule.as_mapping_mut().unwrap().remove("ports");
    });
    assert!(
        extra_egress.contains(
            "deployment/api-service → outside the cluster TCP/443: the policies allow it, the code makes no such call"
        ),
        "{extra_egress}"
    );
    let extra_ingress = mutated(&|objects| {
        let i = policy(objects, "user-service");
        objects[i]["spec"]["ingress"][0]["from"] =
            serde_yaml::from_str("[{namespaceSelector: {}}]").unwrap();
    });
    assert!(
        extra_ingress.contains(
            "default/other-app → deployment/user-service TCP/50051: the policies allow it, the code makes no such call"
        ),
        "{extra_ingress}"
    );
}

// ---------------------------------------------------------------------------------------
// Probes against the real binaries

#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

/// `grpc.health.v1.Health/Check` as the kubelet's gRPC probe asks it; 1 is SERVING.
async fn grpc_health(url: &str, service: &str) -> Result<i32, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
    let request = tonic::Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    let path = "/grpc.health.v1.Health/Check".parse().unwrap();
    grpc.unary(request, path, codec)
        .await
        .map(|r| r.into_inner().status)
}

/// The gRPC service each binary serves, as the generated code names it.
fn grpc_name(service: &str) -> &'static str {
    match service {
        names::USER => shippy_proto::user::user_service_server::SERVICE_NAME,
        names::VESSEL => shippy_proto::vessel::vessel_service_server::SERVICE_NAME,
        names::CONSIGNMENT => shippy_proto::consignment::shipping_service_server::SERVICE_NAME,
        names::LOG => shippy_proto::log::log_service_server::SERVICE_NAME,
        other => panic!("{other} serves no gRPC"),
    }
}

const PROBES: [&str; 3] = ["startupProbe", "readinessProbe", "livenessProbe"];

#[tokio::test(flavor = "multi_thread")]
async fn the_probes_ask_what_the_real_binaries_serve() {
    let mut system = System::start().await;
    let http = reqwest::Client::new();
    let mut gateway_paths = BTreeSet::new();
    for m in manifests() {
        for (service, w) in m.shippy() {
            let config = config_of(m, &w);
            let listen = config.service(service_named(service)).listen.port();
            for kind in PROBES {
                let probe = &w.container()[kind];
                assert!(!probe.is_null(), "{}: {service} has a {kind}", m.overlay);
                if service == names::API {
                    let get = &probe["httpGet"];
                    let port = match &get["port"] {
                        Value::String(name) => w.port_named(name),
                        n => number(n),
                    };
                    assert_eq!(port, listen, "{}: {service} {kind}", m.overlay);
                    gateway_paths.insert(text(&get["path"]).to_owned());
                    continue;
                }
                let grpc = &probe["grpc"];
                assert_eq!(
                    number(&grpc["port"]),
                    listen,
                    "{}: {service} {kind}",
                    m.overlay
                );
                let name = text(&grpc["service"]);
                assert!(
                    name.is_empty() || name == grpc_name(service),
                    "{}: {service} {kind} asks for {name}",
                    m.overlay
                );
                let url = system.grpc_url(service).await;
                assert_eq!(
                    grpc_health(&url, name).await.unwrap(),
                    1,
                    "{service} answers SERVING for {name:?}"
                );
            }
        }
    }
    // The check can fail: a service the binary does not serve is NOT_FOUND.
    let url = system.grpc_url(names::USER).await;
    let unknown = grpc_health(&url, "shippy.user.NoSuchService")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);

    let api = system.api_url().await;
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{api}{path}");
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert!(!gateway_paths.is_empty());
    for path in &gateway_paths {
        assert_eq!(get(path.clone()).await, 200, "the gateway answers {path}");
    }
    assert_eq!(
        get("/health".into()).await,
        404,
        "a wrong path fails the probe"
    );

    // With a service down, the gateway degrades (docs/operations.md's failure modes: log-service
    // down leaves only the activity feed stale), so its probes must stay green: /readyz
    // goes 503 and would take every gateway, and the UI, out of the ingress.
    system.stop_service(names::LOG).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while get("/readyz".into()).await != 503 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz notices log-service is gone"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for path in &gateway_paths {
        assert_eq!(get(path.clone()).await, 200, "{path} with log-service down");
    }
    system.stop_all().await;
}

// ---------------------------------------------------------------------------------------
// Topic, database, replica set

#[test]
fn the_topic_and_database_are_the_ones_the_config_names() {
    for m in manifests() {
        let configs: Vec<(&str, Config)> = m
            .shippy()
            .iter()
            .map(|(s, w)| (*s, config_of(m, w)))
            .collect();
        let first = &configs[0].1;
        for (service, config) in &configs {
            assert_eq!(
                config.broker.log_topic, first.broker.log_topic,
                "{}: {service}",
                m.overlay
            );
            assert_eq!(
                config.broker.log_group, first.broker.log_group,
                "{}: {service}",
                m.overlay
            );
            assert_eq!(
                config.broker.kafka_partitions, first.broker.kafka_partitions,
                "{}: {service}",
                m.overlay
            );
            assert_eq!(
                config.store.mongodb_database, first.store.mongodb_database,
                "{}: {service}: one database for all",
                m.overlay
            );
            // A database in the URI's path would only name where to authenticate.
            let path = config.store.mongodb_uri.split_once("://").unwrap().1;
            if let Some((_, db)) = path.split_once('/') {
                let db = db.split('?').next().unwrap();
                assert!(
                    db.is_empty() || db == config.store.mongodb_database,
                    "{}: {service}",
                    m.overlay
                );
            }
        }
        let Some(job) = m.workloads().into_iter().find(|w| w.name == "kafka-topics") else {
            assert!(
                m.workloads().iter().all(|w| w.name != "kafka"),
                "{}",
                m.overlay
            );
            continue;
        };
        let command = strings(&job.container()["command"]);
        assert!(command[0].ends_with("kafka-topics.sh"), "{command:?}");
        assert!(
            command.contains(&format!("--topic={}", first.broker.log_topic)),
            "{command:?}"
        );
        assert!(
            command.contains(&format!("--partitions={}", first.broker.kafka_partitions)),
            "{command:?}"
        );
        assert!(
            command.contains(&"--if-not-exists".to_owned()),
            "safe to run again"
        );
        let kafka = m.workload("kafka");
        let env = container_env(m, kafka.container());
        assert_eq!(
            env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"], "false",
            "a misspelt topic fails loudly instead of appearing empty"
        );
        let brokers = kafka.object["spec"]["replicas"].as_u64().unwrap_or(1);
        let factor: u64 = command
            .iter()
            .find_map(|a| a.strip_prefix("--replication-factor="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            factor <= brokers,
            "{}: replication {factor} on {brokers} brokers",
            m.overlay
        );

        let mongo = m.workload("mongo");
        let args = strings(&mongo.container()["args"]);
        let set = args
            .windows(2)
            .find(|w| w[0] == "--replSet")
            .map(|w| w[1].clone())
            .expect("mongod runs as a replica set: the outbox needs transactions");
        let init = strings(&mongo.container()["readinessProbe"]["exec"]["command"]).join(" ");
        assert!(
            init.contains(&format!("rs.initiate({{_id: '{set}'")),
            "{init}"
        );
        for (service, config) in &configs {
            if uses(service).infra.contains(&Infra::Store) {
                assert!(
                    config.store.mongodb_uri.contains("directConnection=true")
                        || config
                            .store
                            .mongodb_uri
                            .contains(&format!("replicaSet={set}")),
                    "{}: {service} reaches the one member of {set}",
                    m.overlay
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Production-shaped pods

/// `64Mi` → MiB, `1Gi` → 1024.
fn mebibytes(quantity: &str) -> f64 {
    let (digits, factor) = [
        ("Ki", 1.0 / 1024.0),
        ("Mi", 1.0),
        ("Gi", 1024.0),
        ("M", 0.953_674),
        ("G", 953.674),
    ]
    .iter()
    .find_map(|(unit, f)| quantity.strip_suffix(unit).map(|d| (d, *f)))
    .unwrap_or((quantity, 1.0 / 1024.0 / 1024.0));
    digits.parse::<f64>().unwrap() * factor
}

/// `100m` → 0.1, `1` → 1.
fn cores(quantity: &str) -> f64 {
    quantity.strip_suffix('m').map_or_else(
        || quantity.parse().unwrap(),
        |m| m.parse::<f64>().unwrap() / 1000.0,
    )
}

/// The peak RSS `make bench` measured for each service, in MiB, from the table in
/// docs/performance.md.
fn measured_peak_rss() -> BTreeMap<String, f64> {
    let readme = std::fs::read_to_string(repo_root().join("docs/performance.md")).unwrap();
    let mut peaks = BTreeMap::new();
    let mut table = false;
    for line in readme.lines() {
        if line.starts_with('|') && line.contains("peak RSS") {
            table = true;
            continue;
        }
        if !table {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        for pair in cells.last().unwrap().split(',') {
            let mut words = pair.split_whitespace();
            if let (Some(name), Some(Ok(mib))) = (words.next(), words.next().map(str::parse::<f64>))
            {
                let peak = peaks.entry(format!("shippy.{name}")).or_insert(0.0_f64);
                *peak = peak.max(mib);
            }
        }
    }
    for service in names::ALL {
        assert!(
            peaks.contains_key(service),
            "the bench table in docs/performance.md gives {service}'s peak RSS"
        );
    }
    peaks
}

/// The uid the Dockerfile's runtime stage creates and runs as.
fn image_uid() -> u64 {
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    let words: Vec<&str> = dockerfile.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == "--uid")
        .map(|w| w[1].parse().unwrap())
        .expect("the Dockerfile creates its user with --uid")
}

#[test]
fn every_pod_is_locked_down_pinned_and_sized() {
    let peaks = measured_peak_rss();
    let version = env!("CARGO_PKG_VERSION");
    for m in manifests() {
        let labels = m.namespace_labels(&m.namespace());
        assert_eq!(
            labels
                .get("pod-security.kubernetes.io/enforce")
                .map(String::as_str),
            Some("restricted"),
            "{}",
            m.overlay
        );
        let shippy: BTreeMap<String, &'static str> =
            m.shippy().into_iter().map(|(s, w)| (w.name, s)).collect();
        for w in m.workloads() {
            let at = format!("{}: {}", m.overlay, w.name);
            let pod = w.pod;
            assert_eq!(
                pod["automountServiceAccountToken"], false,
                "{at}: nothing here talks to the API server"
            );
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{at}");
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{at}"
            );
            for c in w.containers() {
                let security = &c["securityContext"];
                assert_eq!(security["allowPrivilegeEscalation"], false, "{at}");
                assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"], "{at}");
                assert!(security["capabilities"]["add"].is_null(), "{at}");
                assert_ne!(security["privileged"], true, "{at}");
                // A numeric user: the kubelet cannot tell a named one from root.
                let uid = security["runAsUser"]
                    .as_u64()
                    .or_else(|| pod["securityContext"]["runAsUser"].as_u64())
                    .unwrap_or_else(|| panic!("{at}: runs as a numeric user"));
                assert_ne!(uid, 0, "{at}");
                let image = text(&c["image"]);
                let (_, tag) = image
                    .rsplit_once(':')
                    .unwrap_or_else(|| panic!("{at}: {image} has a tag"));
                assert!(
                    !tag.is_empty() && tag != "latest",
                    "{at}: {image} is pinned"
                );
                let resources = &c["resources"];
                for what in ["cpu", "memory"] {
                    let request = text(&resources["requests"][what]);
                    let limit = text(&resources["limits"][what]);
                    assert!(
                        !request.is_empty() && !limit.is_empty(),
                        "{at}: {what} request and limit"
                    );
                    let (r, l) = if what == "cpu" {
                        (cores(request), cores(limit))
                    } else {
                        (mebibytes(request), mebibytes(limit))
                    };
                    assert!(
                        r <= l,
                        "{at}: {what} request {request} over the limit {limit}"
                    );
                }
            }
            // The services and whatever else runs the shippy image (loadgen): this version's
            // image, as the image's user, on a read-only root, running one of its binaries.
            let shippy_image = |c: &Value| text(&c["image"]).split(':').next() == Some("shippy");
            if shippy.contains_key(&w.name) || w.containers().iter().any(shippy_image) {
                let c = w.container();
                assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{at}");
                assert_eq!(
                    pod["securityContext"]["runAsUser"].as_u64(),
                    Some(image_uid()),
                    "{at}: the image's user"
                );
                assert_eq!(
                    text(&c["image"]),
                    format!("shippy:{version}"),
                    "{at}: the image of this version"
                );
                let binary = &strings(&c["command"])[0];
                assert!(
                    bin_dir().join(binary).exists(),
                    "{at}: {binary} is a binary of this workspace"
                );
            }
            let Some(&service) = shippy.get(&w.name) else {
                continue;
            };
            let c = w.container();

            let peak = peaks[service];
            let memory = &c["resources"];
            assert!(
                mebibytes(text(&memory["requests"]["memory"])) >= 1.5 * peak,
                "{at}: the memory request leaves room over the measured peak RSS ({peak} MiB)"
            );
            assert!(
                mebibytes(text(&memory["limits"]["memory"])) >= 3.0 * peak,
                "{at}"
            );

            let config = config_of(m, &w);
            let pause: u64 = strings(&c["lifecycle"]["preStop"]["exec"]["command"])
                .windows(2)
                .find(|w| w[0] == "sleep")
                .map_or(0, |w| w[1].parse().unwrap());
            let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
            let needed = Duration::from_secs(pause + config.shutdown_grace_secs)
                + shippy_common::server::DEREGISTER_DELAY;
            assert!(
                Duration::from_secs(grace) > needed + Duration::from_secs(1),
                "{at}: terminationGracePeriodSeconds {grace} leaves time to drain ({needed:?})"
            );
        }
    }
}

#[test]
fn the_infrastructure_runs_the_images_docker_compose_runs() {
    let compose: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join("docker-compose.yml")).unwrap(),
    )
    .unwrap();
    for m in manifests() {
        for w in m.workloads() {
            let image = text(&w.container()["image"]);
            if image.starts_with("shippy:") {
                continue;
            }
            assert_eq!(
                text(&compose["services"][w.name.as_str()]["image"]),
                image,
                "{}: {} runs what docker-compose.yml runs",
                m.overlay,
                w.name
            );
        }
    }
}

#[test]
fn the_autoscaled_overlays_keep_every_service_up_through_drains() {
    for m in manifests().iter().filter(|m| m.overlay != "local") {
        for (service, w) in m.shippy() {
            let at = format!("{}: {}", m.overlay, w.name);
            let hpa = m
                .of_kind("HorizontalPodAutoscaler")
                .find(|h| h["spec"]["scaleTargetRef"]["name"] == w.name.as_str())
                .unwrap_or_else(|| panic!("{at}: an autoscaler"));
            assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment", "{at}");
            let min = hpa["spec"]["minReplicas"].as_u64().unwrap();
            let max = hpa["spec"]["maxReplicas"].as_u64().unwrap();
            assert!(min >= 2 && max >= min, "{at}: {min}..{max} replicas");
            assert!(
                w.object["spec"]["replicas"].is_null(),
                "{at}: the autoscaler owns the count"
            );
            for metric in hpa["spec"]["metrics"].as_sequence().unwrap() {
                let resource = text(&metric["resource"]["name"]);
                assert!(
                    !w.container()["resources"]["requests"][resource].is_null(),
                    "{at}: scaled on {resource}, which it requests"
                );
            }
            if service == names::LOG {
                let partitions = config_of(m, &w).broker.kafka_partitions;
                assert!(
                    max <= u64::try_from(partitions).unwrap(),
                    "{at}: more members of the consumer group than partitions would sit idle"
                );
            }
            let budgets: Vec<&Value> = m
                .of_kind("PodDisruptionBudget")
                .filter(|p| selects(&p["spec"]["selector"], &w.labels))
                .collect();
            assert_eq!(budgets.len(), 1, "{at}: one disruption budget");
            let budget = &budgets[0]["spec"];
            let up = match (
                budget["maxUnavailable"].as_u64(),
                budget["minAvailable"].as_u64(),
            ) {
                (Some(unavailable), None) => min.saturating_sub(unavailable),
                (None, Some(available)) => available,
                other => panic!("{at}: {other:?}"),
            };
            assert!(
                up >= 1 && up < min,
                "{at}: drains keep {up} of {min} up, and can proceed"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// The keys

#[test]
fn make_k8s_keys_makes_the_keys_each_pod_loads_and_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret.yaml");
    let namespace = manifests()[0].namespace();
    let out = Command::new(repo_root().join("deploy/k8s/keys.sh"))
        .env("K8S_KEYS_FILE", &file)
        .env("K8S_NAMESPACE", &namespace)
        .env("SHIPPY_BIN", bin_dir().join("shippy"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the Secret's manifest is the owner's alone"
        );
    }
    let secret: Value = serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(text(&secret["metadata"]["namespace"]), namespace);
    let name = text(&secret["metadata"]["name"]).to_owned();
    let data: BTreeMap<String, Vec<u8>> = secret["data"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text(v))
                .unwrap();
            (text(k).to_owned(), bytes)
        })
        .collect();

    let mut mounted_anywhere = BTreeSet::new();
    for m in manifests() {
        for (service, w) in m.shippy() {
            let at = format!("{}: {}", m.overlay, w.name);
            let config = config_of(m, &w);
            // The pod's key folder, as the kubelet would project the Secret into it.
            let root = tempfile::tempdir().unwrap();
            let mut mounted = BTreeSet::new();
            for mount in w.container()["volumeMounts"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let volume = w.pod["volumes"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .find(|v| v["name"] == mount["name"])
                    .unwrap();
                if volume["secret"].is_null() {
                    continue;
                }
                assert_eq!(text(&volume["secret"]["secretName"]), name, "{at}");
                assert_eq!(mount["readOnly"], true, "{at}");
                let at_path = root
                    .path()
                    .join(text(&mount["mountPath"]).trim_start_matches('/'));
                std::fs::create_dir_all(&at_path).unwrap();
                for item in volume["secret"]["items"]
                    .as_sequence()
                    .expect("items: only what it needs")
                {
                    let key = text(&item["key"]);
                    let bytes = data
                        .get(key)
                        .unwrap_or_else(|| panic!("{at}: {key} is not in the Secret"));
                    std::fs::write(at_path.join(text(&item["path"])), bytes).unwrap();
                    mounted.insert(at_path.join(text(&item["path"])));
                    mounted_anywhere.insert(key.to_owned());
                }
            }
            // Where the binary looks: relative paths from the image's WORKDIR, /app.
            let in_pod = |p: &Path| match p.strip_prefix("/") {
                Ok(absolute) => root.path().join(absolute),
                Err(_) => root.path().join("app").join(p),
            };
            let mut auth = config.auth.clone();
            auth.private_key = in_pod(&config.auth.private_key);
            auth.public_key = in_pod(&config.auth.public_key);
            auth.service_private_key = in_pod(&config.auth.service_private_key);
            auth.service_public_key = in_pod(&config.auth.service_public_key);
            auth.gateway_private_key = in_pod(&config.auth.gateway_private_key);
            auth.gateway_public_key = in_pod(&config.auth.gateway_public_key);
            let loads = uses(service).keys;
            let wanted: BTreeSet<PathBuf> =
                loads.iter().map(|k| k.path(&auth).to_owned()).collect();
            assert_eq!(mounted, wanted, "{at}: the keys it loads, and no others");
            for private in [Key::TokenPrivate, Key::ServicePrivate, Key::GatewayPrivate] {
                assert_eq!(
                    private.path(&auth).exists(),
                    loads.contains(&private),
                    "{at}: a private key only where it signs"
                );
            }
            // Load them as the service does, and see them work with the Secret's other half.
            if loads.contains(&Key::TokenPublic) {
                let verifier = TokenVerifier::load(&auth).unwrap_or_else(|e| panic!("{at}: {e}"));
                let user = TokenIssuer::from_pem(&data["jwt-ed25519.pem"], &auth)
                    .unwrap()
                    .issue(&Subject {
                        user_id: "u1",
                        email: "k8s@example.com",
                        name: "K8s",
                    })
                    .unwrap()
                    .0;
                verifier
                    .verify(&user)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                let saga = ServiceTokens::from_pem(
                    &data["service-ed25519.pem"],
                    names::CONSIGNMENT,
                    &["/shippy.vessel.VesselService/Reserve"],
                    &auth,
                )
                .unwrap()
                .token()
                .unwrap();
                verifier
                    .verify(&saga)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            if loads.contains(&Key::TokenPrivate) {
                TokenIssuer::load(&auth).unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            if loads.contains(&Key::ServicePrivate) {
                ServiceTokens::load(names::CONSIGNMENT, &[], &auth)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            if loads.contains(&Key::GatewayPrivate) {
                ServiceTokens::gateway(&auth).unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            if loads.contains(&Key::GatewayPublic) {
                let proof = GatewayProof::load(&auth).unwrap_or_else(|e| panic!("{at}: {e}"));
                let signed = ServiceTokens::gateway_from_pem(&data["gateway-ed25519.pem"], &auth)
                    .unwrap()
                    .token()
                    .unwrap();
                assert!(proof.proves(&signed), "{at}: the gateway's proof verifies");
            }
        }
    }
    assert_eq!(
        mounted_anywhere,
        data.keys().cloned().collect(),
        "every key in the Secret is mounted somewhere"
    );
}

// ---------------------------------------------------------------------------------------
// The offline check itself

#[test]
fn every_overlay_renders_validates_against_the_schemas_and_lints() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(repo_root().join("scripts/k8s-check.sh"))
        .env("K8S_OUT", out_dir.path())
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "scripts/k8s-check.sh failed:\n{report}"
    );
    for overlay in overlay_dirs() {
        assert!(
            out_dir.path().join(format!("{overlay}.yaml")).is_file(),
            "{report}"
        );
        assert!(
            report.contains(&format!("overlays/{overlay}/ renders")),
            "{report}"
        );
    }
}

/// The flags of loadgen's `shippy load ...` command.
fn loadgen_args(command: &[String]) -> shippy_cli::load::LoadArgs {
    load_args(command).unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// Whether this workspace's binary takes `command` as it is: `--help` put last, it parses
/// every argument before it and prints its usage (answered), or refuses one (the error).
fn binary_takes(command: &[String]) -> Result<String, String> {
    let out = Command::new(bin_dir().join(&command[0]))
        .args(&command[1..])
        .arg("--help")
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(stderr)
    }
}

#[test]
fn loadgen_runs_shippy_load_against_the_gateway_service_until_stopped() {
    let local = manifests().iter().find(|m| m.overlay == "local").unwrap();
    assert!(
        local.workloads().iter().any(|w| w.name == "loadgen"),
        "the local overlay runs loadgen"
    );
    for m in manifests() {
        let Some(load) = m.workloads().into_iter().find(|w| w.name == "loadgen") else {
            continue;
        };
        let at = format!("{}: loadgen", m.overlay);
        let command = strings(&load.container()["command"]);
        // The real binary takes the command as it stands, and it is `shippy load`.
        let usage = binary_takes(&command).unwrap_or_else(|e| panic!("{at}: {command:?}: {e}"));
        assert!(usage.contains("Usage: shippy load"), "{at}: {usage}");
        let args = loadgen_args(&command);
        assert_eq!(args.duration, 0, "{at}: it runs until stopped");
        assert!(args.count.is_none(), "{at}: no journey count ends it");
        assert!(
            args.report.is_none(),
            "{at}: it writes nothing (read-only root)"
        );
        // Where it calls: the gateway's Service, on to the gateway's pods on its listen port.
        let api = args
            .api
            .unwrap_or_else(|| panic!("{at}: --api names the gateway"));
        let (_, gateway) = m
            .shippy()
            .into_iter()
            .find(|(s, _)| *s == names::API)
            .unwrap();
        let servers = servers(&api);
        assert_eq!(servers.len(), 1, "{at}: {api}");
        assert_eq!(
            target(m, &servers[0].0, servers[0].1),
            Ok(Target::Pod(gateway.name.clone(), api_port(m))),
            "{at}: --api {api} reaches the gateway's pods"
        );
        // `shippy load` loads a config before it starts: the image's, with its environment.
        load_config(&container_env(m, load.container()))
            .unwrap_or_else(|e| panic!("{at}: its environment: {e}"));
        assert!(
            load.container()["ports"].is_null() && m.named("Service", "loadgen").is_none(),
            "{at}: a client, which nothing calls"
        );
    }

    // The check can fail: a flag `shippy load` does not have, a value it refuses.
    let command = strings(&local.workload("loadgen").container()["command"]);
    for (wrong, named) in [("--rps=2", "--rps"), ("--users=0", "--users")] {
        let mut broken = command.clone();
        broken.push(wrong.to_owned());
        let error = binary_takes(&broken).unwrap_err();
        assert!(error.contains(named), "{wrong}: {error}");
        assert!(
            load_args(&broken).is_err(),
            "{wrong}: shippy load's own flags refuse it too"
        );
    }
}

#[test]
fn loadgen_listed_before_the_network_policies_is_caught() {
    // Listed first, its patch finds no gateway policy yet, and the gateway refuses it.
    let misordered = render_changed("local", |kustomization| {
        let components = kustomization["components"].as_sequence_mut().unwrap();
        let i = components
            .iter()
            .position(|c| text(c).ends_with("/loadgen"))
            .unwrap();
        let loadgen = components.remove(i);
        components.insert(0, loadgen);
    });
    let calls = calls(&misordered);
    assert!(calls.iter().any(|(caller, _)| caller == "loadgen"));
    let wrong = policy_mismatches(&misordered, &calls, api_port(&misordered))
        .1
        .join("\n");
    assert!(
        wrong.contains(
            "deployment/loadgen → deployment/api-service TCP/8080: the policies deny it, the code makes this call"
        ),
        "{wrong}"
    );
}

#[test]
fn every_service_follows_the_fault_flags_configmap_without_a_restart() {
    let shipped = std::fs::read_to_string(repo_root().join("config/flags.json")).unwrap();
    let copy = repo_root().join("deploy/k8s/components/fault-flags/flags.json");
    assert!(
        std::fs::read(&copy).unwrap() == shipped.as_bytes(),
        "{} is a copy of config/flags.json, byte for byte (cp config/flags.json {0})",
        copy.display()
    );
    let local = manifests().iter().find(|m| m.overlay == "local").unwrap();
    assert!(
        local.named("ConfigMap", "shippy-flags").is_some(),
        "the local overlay has the fault flags, under a name without a hash (an edit in place \
         reaches the pods)"
    );
    for m in manifests() {
        let Some(map) = m.named("ConfigMap", "shippy-flags") else {
            continue;
        };
        assert_eq!(text(&map["data"]["flags.json"]), shipped, "{}", m.overlay);
        for (service, w) in m.shippy() {
            let at = format!("{}: {}", m.overlay, w.name);
            // Where the service reads the flags: its config, from its environment.
            let config = config_of(m, &w);
            let file = &config.faults.flags_file;
            assert!(file.is_absolute(), "{at}: {}", file.display());
            let dir = file.parent().unwrap().to_str().unwrap();
            let container = w.container();
            let mount = container["volumeMounts"]
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|v| text(&v["mountPath"]) == dir)
                .unwrap_or_else(|| panic!("{at}: nothing mounted at {dir}"));
            // A subPath mount never sees the ConfigMap change.
            assert!(mount["subPath"].is_null(), "{at}: {dir} is mounted whole");
            assert_eq!(mount["readOnly"], true, "{at}");
            let volume = w.pod["volumes"]
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == mount["name"])
                .unwrap_or_else(|| panic!("{at}: no volume for {dir}"));
            assert_eq!(text(&volume["configMap"]["name"]), "shippy-flags", "{at}");
            assert!(
                volume["configMap"]["items"].is_null(),
                "{at}: every key of the ConfigMap"
            );
            let name = file.file_name().unwrap().to_str().unwrap();
            assert!(
                !map["data"][name].is_null(),
                "{at} ({service}): the ConfigMap has {name}"
            );
        }
    }
}

/// Lays `files` out in `dir` as the kubelet lays out a ConfigMap volume, and as it updates
/// one (its atomic writer): the files in a new timestamped folder, `..data` switched to it
/// in one rename, each file a link through `..data`, the old folder removed.
fn project_configmap(dir: &Path, files: &[(&str, &str)], generation: u32) {
    use std::os::unix::fs::symlink;
    std::fs::create_dir_all(dir).unwrap();
    let folder = format!("..2026_01_01_00_00_{generation:02}.{generation}");
    std::fs::create_dir(dir.join(&folder)).unwrap();
    for (name, content) in files {
        std::fs::write(dir.join(&folder).join(name), content).unwrap();
    }
    let old = std::fs::read_link(dir.join("..data")).ok();
    symlink(&folder, dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    for (name, _) in files {
        if dir.join(name).symlink_metadata().is_err() {
            symlink(Path::new("..data").join(name), dir.join(name)).unwrap();
        }
    }
    if let Some(old) = old {
        std::fs::remove_dir_all(dir.join(old)).unwrap();
    }
}

/// A ConfigMap edit reaches a service as the kubelet brings it: the service's own code
/// follows its flags file through the volume's link switch, no restart, and a flag aimed
/// at the pod's registered address (`shippy flags set --instance`) reaches that pod.
#[tokio::test]
async fn a_configmap_edit_reaches_the_service_as_the_kubelet_brings_it() {
    use shippy_plugins::flags::{self, Kind, flagd};
    let m = manifests()
        .iter()
        .find(|m| m.named("ConfigMap", "shippy-flags").is_some())
        .expect("an overlay with the fault flags");
    let map = m.named("ConfigMap", "shippy-flags").unwrap();
    let (service, w) = m
        .shippy()
        .into_iter()
        .find(|(s, _)| *s == names::VESSEL)
        .unwrap();
    let mut config = config_of(m, &w);
    let file = config.faults.flags_file.clone();
    let name = file.file_name().unwrap().to_str().unwrap();
    // The pod's mount, as the kubelet projects the ConfigMap into it.
    let root = tempfile::tempdir().unwrap();
    let dir = root
        .path()
        .join(file.parent().unwrap().strip_prefix("/").unwrap());
    let shipped = text(&map["data"][name]).to_owned();
    project_configmap(&dir, &[(name, &shipped)], 1);
    config.faults.flags_file = dir.join(name);
    let listen = config.service(service_named(service)).listen;
    let _following = shippy_common::faults::follow(&config, service_named(service), listen)
        .await
        .expect("the service follows a flags file");
    let becomes = |expected: f64| async move {
        let deadline = tokio::time::Instant::now() + flags::POLL * 10;
        while flags::value("vessel.fail_rate") != expected {
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(flags::POLL / 5).await;
        }
        true
    };
    assert!(becomes(0.0).await, "{}: all off as shipped", m.overlay);

    // kubectl edit configmap shippy-flags: on for this pod, then for another, then off.
    let mut doc: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    let pod = format!("{POD_IP}:{}", listen.port());
    flagd::set(&mut doc, "vessel.fail_rate", Kind::Share, 0.5, Some(&pod));
    project_configmap(&dir, &[(name, &doc.to_string())], 2);
    assert!(becomes(0.5).await, "{}: the edit reached {pod}", m.overlay);
    flagd::set(
        &mut doc,
        "vessel.fail_rate",
        Kind::Share,
        0.25,
        Some("10.244.9.9:50052"),
    );
    project_configmap(&dir, &[(name, &doc.to_string())], 3);
    assert!(becomes(0.0).await, "aimed at another pod, not this one");
    flagd::set(&mut doc, "vessel.fail_rate", Kind::Share, 0.25, None);
    project_configmap(&dir, &[(name, &doc.to_string())], 4);
    assert!(becomes(0.25).await, "on everywhere");
    flagd::off(&mut doc, "vessel.fail_rate");
    project_configmap(&dir, &[(name, &doc.to_string())], 5);
    assert!(becomes(0.0).await, "off again, no restart");
}
