//! docker-compose.yml and the Dockerfile checked against the code, since no Docker engine runs
//! here: every service's environment is a valid config on the `compose` profile, its
//! addresses name containers and ports that exist, the topic compose creates is the one the
//! services use, images are pinned, and the Dockerfile copies what exists and ships every
//! binary compose runs; Prometheus scrapes each service's metrics port, Grafana is handed
//! the provisioning and dashboards deploy/observability has, the services read the flags
//! file `shippy flags` edits, and `loadgen` runs `shippy load` with flags it has against the
//! gateway.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;
use shippy_common::config::{Config, Sources};
use shippy_common::{Service, names};
use shippy_system_tests::{load_args, repo_root, service_named};

use crate::k8s::{Key, uses};

fn compose() -> Value {
    let text = std::fs::read_to_string(repo_root().join("docker-compose.yml")).unwrap();
    let mut value: Value = serde_yaml::from_str(&text).expect("docker-compose.yml parses");
    value.apply_merge().unwrap();
    // Merge keys nest (depends_on: {<<: *infra, ...}): apply them in every mapping.
    fn merge_all(v: &mut Value) {
        if let Value::Mapping(m) = v {
            for (_, child) in m.iter_mut() {
                child.apply_merge().unwrap();
                merge_all(child);
            }
        }
    }
    merge_all(&mut value);
    value
}

fn services(compose: &Value) -> BTreeMap<String, Value> {
    compose["services"]
        .as_mapping()
        .expect("services")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn env_of(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
                    };
                    (k.as_str().unwrap().to_owned(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The config a compose service gets: the profile it names plus its `SHIPPY_*` keys.
fn config_of(service: &Value) -> Config {
    let env = env_of(service);
    let overrides = env
        .iter()
        .filter(|(k, _)| k.starts_with("SHIPPY_") && *k != "SHIPPY_PROFILE")
        .map(|(k, v)| {
            let key = k["SHIPPY_".len()..].to_lowercase().replace("__", ".");
            (key, v.clone())
        })
        .collect();
    let sources = Sources {
        config_dir: Some(repo_root().join("config")),
        profile: env.get("SHIPPY_PROFILE").cloned(),
        overrides,
    };
    Config::load(&sources).unwrap_or_else(|e| panic!("{e}"))
}

/// `host:port` → (host, port).
fn host_port(address: &str) -> (String, u16) {
    let address = address
        .trim_start_matches("http://")
        .trim_start_matches("mongodb://");
    let authority = address.split(['/', '?']).next().unwrap();
    let (host, port) = authority.rsplit_once(':').unwrap();
    (host.to_owned(), port.parse().unwrap())
}

/// The ports a container listens on, as its own settings say.
fn container_ports(name: &str, service: &Value) -> BTreeSet<u16> {
    match name {
        "mongo" => [27017].into(),
        "consul" => [8500].into(),
        "jaeger" => [4317, 4318, 16686].into(),
        "prometheus" => [9090].into(),
        "grafana" => [3000].into(),
        // Clients may use any listener but the controllers' own.
        "kafka" => env_of(service)["KAFKA_LISTENERS"]
            .split(',')
            .filter(|l| !l.starts_with("CONTROLLER:"))
            .map(|l| l.rsplit(':').next().unwrap().parse().unwrap())
            .collect(),
        _ => BTreeSet::new(),
    }
}

#[test]
fn every_shippy_container_gets_a_valid_config_that_points_at_containers_that_exist() {
    let compose = compose();
    let all = services(&compose);
    let app: Vec<(&String, &Value)> = all
        .iter()
        .filter(|(_, s)| {
            s["image"] == "shippy:local" && strings(&s["command"])[0].ends_with("-service")
        })
        .collect();
    let binaries: BTreeSet<String> = app
        .iter()
        .map(|(_, s)| strings(&s["command"])[0].clone())
        .collect();
    let expected: BTreeSet<String> = names::ALL
        .iter()
        .map(|s| service_named(s).binary().to_owned())
        .collect();
    assert_eq!(binaries, expected, "compose runs each of the five services");

    for (name, service) in app {
        let config = config_of(service);
        let binary = strings(&service["command"])[0].clone();
        let listen = config.service(binary.parse::<Service>().unwrap()).listen;
        assert!(
            listen.ip().is_unspecified(),
            "{name} listens on every interface"
        );
        assert_eq!(
            config.registry.advertise_host, *name,
            "{name} registers its own name"
        );

        let (consul, consul_port) = host_port(&config.registry.consul_address);
        let (kafka, kafka_port) = host_port(&config.broker.kafka_brokers);
        let (mongo, mongo_port) = host_port(&config.store.mongodb_uri);
        let (jaeger, jaeger_port) = host_port(&config.telemetry.otlp_endpoint);
        for (host, port) in [
            (consul, consul_port),
            (kafka, kafka_port),
            (mongo, mongo_port),
            (jaeger, jaeger_port),
        ] {
            let target = all
                .get(&host)
                .unwrap_or_else(|| panic!("{name} points at {host}, not a compose service"));
            assert!(
                container_ports(&host, target).contains(&port),
                "{name} points at {host}:{port}, which {host} does not listen on"
            );
        }
        let health = strings(&service["healthcheck"]["test"]);
        assert_eq!(health[..3], ["CMD", "shippy", "health"], "{name}");
        assert!(
            health[3].contains(&format!(":{}", listen.port())),
            "{name}'s health check probes its listen port: {health:?}"
        );
        for published in strings(&service["ports"]) {
            assert!(
                published.ends_with(&format!(":{}", listen.port())),
                "{published}"
            );
        }
    }
}

#[test]
fn mongodb_runs_as_a_replica_set_so_the_outbox_transactions_work() {
    let compose = compose();
    let mongo = &services(&compose)["mongo"];
    let command = strings(&mongo["command"]);
    assert!(
        command.windows(2).any(|w| w[0] == "--replSet"),
        "{command:?}"
    );
    let health = strings(&mongo["healthcheck"]["test"]).join(" ");
    assert!(health.contains("rs.initiate"), "{health}");
}

#[test]
fn compose_creates_the_log_topic_the_services_use() {
    let compose = compose();
    let all = services(&compose);
    let config = config_of(&all["api-service"]);
    let command = strings(&all["kafka-topics"]["command"]);
    assert!(
        command.contains(&format!("--topic={}", config.broker.log_topic)),
        "{command:?}"
    );
    assert!(
        command.contains(&format!("--partitions={}", config.broker.kafka_partitions)),
        "{command:?}"
    );
    let retention_ms = config.broker.retention_hours * 3_600_000;
    assert!(
        command.contains(&format!("--config=retention.ms={retention_ms}")),
        "the embedded broker's retention: {command:?}"
    );
    assert_eq!(
        env_of(&all["kafka"])["KAFKA_AUTO_CREATE_TOPICS_ENABLE"],
        "false",
        "a misspelt topic fails loudly instead of appearing empty"
    );
}

#[test]
fn the_compose_profile_on_the_host_reaches_the_published_ports() {
    let compose = compose();
    let all = services(&compose);
    let config = Config::load(&Sources {
        config_dir: Some(repo_root().join("config")),
        profile: Some("compose".to_owned()),
        overrides: vec![],
    })
    .unwrap();
    let published: BTreeSet<u16> = all
        .values()
        .flat_map(|s| strings(&s["ports"]))
        .map(|p| p.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    for address in [
        config.registry.consul_address.as_str(),
        config.broker.kafka_brokers.as_str(),
        config.store.mongodb_uri.as_str(),
        config.telemetry.otlp_endpoint.as_str(),
    ] {
        let (host, port) = host_port(address);
        assert_eq!(host, "127.0.0.1");
        assert!(published.contains(&port), "{address} is not published");
    }
    assert!(published.contains(&16686), "the Jaeger UI");
}

#[test]
fn references_resolve_and_images_are_pinned() {
    let compose = compose();
    let all = services(&compose);
    let volumes: BTreeSet<String> = compose["volumes"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    for (name, service) in &all {
        if let Some(deps) = service["depends_on"].as_mapping() {
            for dep in deps.keys() {
                assert!(all.contains_key(dep.as_str().unwrap()), "{name} → {dep:?}");
            }
        }
        for mount in strings(&service["volumes"]) {
            let source = mount.split(':').next().unwrap();
            match source.strip_prefix("./") {
                // A bind mount of the repository's own files.
                Some(path) => assert!(repo_root().join(path).exists(), "{name} mounts {source}"),
                None => assert!(volumes.contains(source), "{name} mounts {source}"),
            }
        }
        let image = service["image"]
            .as_str()
            .expect("every service names its image");
        let (_, tag) = image.rsplit_once(':').expect("a tag");
        assert!(
            tag != "latest" && !tag.is_empty(),
            "{name}: {image} is not pinned"
        );
    }
}

#[test]
fn the_dockerfile_copies_what_exists_and_ships_every_binary_compose_runs() {
    let root = repo_root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    // Join continuation lines into instructions.
    let instructions: Vec<String> = dockerfile
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    for from in instructions.iter().filter(|i| i.starts_with("FROM ")) {
        let image = from.split_whitespace().nth(1).unwrap();
        assert!(image.contains(':') && !image.ends_with(":latest"), "{from}");
    }
    for copy in instructions.iter().filter(|i| i.starts_with("COPY ")) {
        let parts: Vec<&str> = copy.split_whitespace().skip(1).collect();
        if parts[0].starts_with("--from") {
            continue;
        }
        for source in &parts[..parts.len() - 1] {
            assert!(
                root.join(source).exists(),
                "{copy}: {source} does not exist"
            );
        }
    }
    let build = instructions
        .iter()
        .find(|i| i.contains("cargo build"))
        .expect("a cargo build step");
    let compose = compose();
    let mut needed: BTreeSet<String> = services(&compose)
        .values()
        .filter(|s| s["image"] == "shippy:local")
        .map(|s| strings(&s["command"])[0].clone())
        .collect();
    needed.insert("shippy".to_owned());
    for binary in needed {
        assert!(
            build.split_whitespace().any(|w| w == binary),
            "the image lacks {binary}"
        );
        assert!(
            shippy_system_tests::bin_dir().join(&binary).exists(),
            "{binary} is not a binary of this workspace"
        );
    }
}

/// The container path `service` mounts the repository's `source` folder at.
fn mounted_at(service: &Value, source: &str) -> String {
    strings(&service["volumes"])
        .iter()
        .find_map(|m| {
            let mut parts = m.split(':');
            (parts.next() == Some(source)).then(|| parts.next().unwrap().to_owned())
        })
        .unwrap_or_else(|| panic!("{source} is not mounted"))
}

fn yaml_file(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo_root().join(path)).unwrap()).unwrap()
}

#[test]
fn prometheus_scrapes_every_services_metrics_port_and_grafana_gets_its_dashboards() {
    let compose = compose();
    let all = services(&compose);
    let prometheus = &all["prometheus"];
    let etc = mounted_at(prometheus, "./deploy/observability/prometheus");
    assert!(
        strings(&prometheus["command"]).contains(&format!("--config.file={etc}/prometheus.yml")),
        "Prometheus reads the mounted prometheus.yml"
    );
    let config = yaml_file("deploy/observability/prometheus/prometheus.yml");
    let scraped: BTreeMap<String, u16> = config["scrape_configs"][0]["dns_sd_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| {
            let name = d["names"][0].as_str().unwrap().to_owned();
            (name, d["port"].as_u64().unwrap() as u16)
        })
        .collect();
    let mut expected = BTreeMap::new();
    for service in names::ALL {
        let container = service_named(service).binary();
        let metrics = config_of(&all[container])
            .service(service_named(service))
            .metrics_listen;
        expected.insert(container.to_owned(), metrics.port());
    }
    assert_eq!(
        scraped, expected,
        "one DNS name and metrics port per service"
    );

    let grafana = &all["grafana"];
    let provisioning = mounted_at(grafana, "./deploy/observability/grafana/provisioning");
    assert_eq!(provisioning, "/etc/grafana/provisioning");
    let dashboards = mounted_at(grafana, "./deploy/observability/grafana/dashboards");
    let provider = yaml_file("deploy/observability/grafana/provisioning/dashboards/dashboards.yml");
    assert_eq!(
        provider["providers"][0]["options"]["path"]
            .as_str()
            .unwrap(),
        dashboards,
        "Grafana loads the dashboards from where they are mounted"
    );
    let home = env_of(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].clone();
    let file = home.strip_prefix(&format!("{dashboards}/")).unwrap();
    assert!(
        repo_root()
            .join("deploy/observability/grafana/dashboards")
            .join(file)
            .exists(),
        "{home}"
    );
    let sources =
        yaml_file("deploy/observability/grafana/provisioning/datasources/datasources.yml");
    for source in sources["datasources"].as_sequence().unwrap() {
        let url = source["url"].as_str().unwrap();
        let (host, port) = host_port(url);
        let target = all
            .get(&host)
            .unwrap_or_else(|| panic!("data source {url} is not a compose service"));
        assert!(container_ports(&host, target).contains(&port), "{url}");
    }
}

#[test]
fn services_read_the_flags_file_shippy_flags_edits() {
    let compose = compose();
    for (name, service) in services(&compose) {
        if service["image"] != "shippy:local"
            || !strings(&service["command"])[0].ends_with("-service")
        {
            continue;
        }
        // The working directory is /app; the config names the flags file relative to it.
        let config = config_of(&service);
        let mounted = mounted_at(&service, "./config");
        assert_eq!(mounted, "/app/config", "{name}");
        assert_eq!(
            std::path::Path::new("/app").join(&config.faults.flags_file),
            std::path::Path::new(&mounted).join("flags.json"),
            "{name} reads the mounted flags file"
        );
    }
}

#[test]
fn loadgen_runs_shippy_load_against_the_gateway_until_stopped() {
    let compose = compose();
    let all = services(&compose);
    let loadgen = &all["loadgen"];
    let command = strings(&loadgen["command"]);
    let load = load_args(&command).unwrap_or_else(|e| panic!("loadgen's command: {e}"));
    assert_eq!(load.duration, 0, "it runs until stopped");
    let api = load.api.expect("loadgen names the gateway");
    let (host, port) = host_port(&api);
    assert_eq!(host, "api-service");
    let listen = config_of(&all["api-service"]).service(Service::Api).listen;
    assert_eq!(port, listen.port());
    assert_eq!(
        loadgen["depends_on"]["api-service"]["condition"], "service_healthy",
        "it starts once the gateway answers"
    );
}

/// Each compose service mounts the keys its code loads and no more (what the Kubernetes
/// manifests hold each pod to as well): a private key only where it signs, in a volume of
/// its own.
#[test]
fn each_service_mounts_the_keys_it_loads_and_no_more() {
    let compose = compose();
    let all = services(&compose);
    for name in names::ALL {
        let binary = service_named(name).binary();
        let (_, service) = all
            .iter()
            .find(|(_, s)| strings(&s["command"]).first().map(String::as_str) == Some(binary))
            .unwrap_or_else(|| panic!("no compose service runs {binary}"));
        let config = config_of(service);
        let folders: Vec<String> = strings(&service["volumes"])
            .iter()
            .filter_map(|m| m.split(':').nth(1).map(str::to_owned))
            .collect();
        let mounted: BTreeSet<Key> = Key::ALL
            .into_iter()
            .filter(|key| {
                let path = key.path(&config.auth);
                folders
                    .iter()
                    .any(|f| path.parent() == Some(std::path::Path::new(f)))
            })
            .collect();
        assert_eq!(mounted, uses(name).keys, "{binary}");
    }
    // The job that makes them can reach every one.
    let keys = &all["keys"];
    let config = config_of(keys);
    for key in Key::ALL {
        let folder = key
            .path(&config.auth)
            .parent()
            .unwrap()
            .display()
            .to_string();
        assert!(
            strings(&keys["volumes"])
                .iter()
                .any(|m| m.ends_with(&folder)),
            "the keys job cannot write {key:?} to {folder}"
        );
    }
}
