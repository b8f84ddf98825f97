//! deploy/observability held against promtool, Grafana's provisioning and a running system:
//! Prometheus's config and alert rules pass promtool (the rules' own unit tests included);
//! the dashboards name only provisioned data sources and link to Jaeger; and a real
//! Prometheus, scraping a running system through the config's own relabelling, answers every
//! query of the dashboards and the alerts over metrics and labels the services export.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use shippy_common::names;
use shippy_system_tests::prometheus::{Sample, metrics_address, parse, prometheus_bin};
use shippy_system_tests::{System, eventually, repo_root, sample};
use tokio::io::AsyncBufReadExt;

fn observability() -> PathBuf {
    repo_root().join("deploy/observability")
}

fn yaml(path: &Path) -> Yaml {
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn promtool(args: &[&str]) {
    let out = std::process::Command::new(prometheus_bin("promtool"))
        .args(args)
        .current_dir(observability().join("prometheus"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_passes_the_config_the_rules_and_the_rules_own_tests() {
    promtool(&["check", "config", "prometheus.yml"]);
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["test", "rules", "alerts.test.yml"]);
}

/// Every dashboard in the provisioned folder, by file name.
fn dashboards() -> BTreeMap<String, Json> {
    let dir = observability().join("grafana/dashboards");
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        all.insert(name, json);
    }
    assert!(!all.is_empty(), "no dashboard in {}", dir.display());
    all
}

/// Every panel of a dashboard, those inside collapsed rows included.
fn panels(dashboard: &Json) -> Vec<&Json> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        all.push(panel);
        if let Some(inner) = panel["panels"].as_array() {
            all.extend(inner);
        }
    }
    all
}

/// Every PromQL expression of the dashboards and the alert rules, with where it is.
fn queries() -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (file, dashboard) in dashboards() {
        for panel in panels(&dashboard) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let title = panel["title"].as_str().unwrap();
                let expr = target["expr"].as_str().unwrap();
                all.push((format!("{file}: {title}"), expr.to_owned()));
            }
        }
    }
    let rules = yaml(&observability().join("prometheus/alerts.yml"));
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let name = rule["alert"].as_str().unwrap();
            let expr = rule["expr"].as_str().unwrap();
            all.push((format!("alert {name}"), expr.trim().to_owned()));
        }
    }
    all
}

#[test]
fn grafana_is_provisioned_with_every_data_source_its_dashboards_name() {
    let provisioned =
        yaml(&observability().join("grafana/provisioning/datasources/datasources.yml"));
    let sources: BTreeMap<&str, &str> = provisioned["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| (d["uid"].as_str().unwrap(), d["url"].as_str().unwrap()))
        .collect();
    // The data sources point at the compose services of those names and their ports.
    assert_eq!(sources["prometheus"], "http://prometheus:9090");
    assert_eq!(sources["jaeger"], "http://jaeger:16686");

    for (file, dashboard) in dashboards() {
        assert!(
            dashboard["uid"].as_str().is_some_and(|u| !u.is_empty()),
            "{file}: uid"
        );
        let mut jaeger_links = 0;
        for panel in panels(&dashboard) {
            let title = panel["title"].as_str().unwrap();
            if panel["type"] == "row" {
                continue;
            }
            let mut uids = vec![&panel["datasource"]["uid"]];
            uids.extend(
                panel["targets"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{file}: {title} has no query"))
                    .iter()
                    .map(|t| &t["datasource"]["uid"]),
            );
            for uid in uids {
                let uid = uid
                    .as_str()
                    .unwrap_or_else(|| panic!("{file}: {title}: no uid"));
                assert!(sources.contains_key(uid), "{file}: {title} names {uid}");
            }
            for link in panel["fieldConfig"]["defaults"]["links"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let url = link["url"].as_str().unwrap();
                // Jaeger's UI as compose publishes it, searching the line's service over
                // the panel's time range (Jaeger counts microseconds, Grafana milliseconds).
                assert!(url.starts_with("http://127.0.0.1:16686/search?"), "{url}");
                assert!(url.contains("service=${__field.labels.job}"), "{url}");
                assert!(url.contains("start=${__from}000&end=${__to}000"), "{url}");
                jaeger_links += 1;
            }
        }
        assert!(jaeger_links > 0, "{file}: no latency panel links to Jaeger");
    }
}

/// The metric names a query reads (`shippy_…`, the process collector's `process_…`, the
/// conventions' `rpc_server_…` and `http_server_…`; `up` is Prometheus's own).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for prefix in ["shippy_", "process_", "rpc_server_", "http_server_"] {
        let mut rest = expr;
        while let Some(at) = rest.find(prefix) {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    names
}

/// The label names a query groups by or matches on.
fn label_names(expr: &str) -> BTreeSet<String> {
    let mut labels = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("by (") {
        let tail = &rest[at + 4..];
        let end = tail.find(')').unwrap();
        labels.extend(tail[..end].split(',').map(|l| l.trim().to_owned()));
        rest = &tail[end..];
    }
    let mut rest = expr;
    while let Some(at) = rest.find('{') {
        let tail = &rest[at + 1..];
        let end = tail.find('}').unwrap();
        for matcher in tail[..end].split(',') {
            let name = matcher.split(['=', '!']).next().unwrap().trim();
            labels.insert(name.to_owned());
        }
        rest = &tail[end..];
    }
    labels
}

/// Labels Prometheus adds to every series: the target's (`job`, `instance`), the histogram
/// bucket's, and the callee renamed by the config's metric relabelling.
const PROMETHEUS_LABELS: [&str; 4] = ["job", "instance", "le", "peer"];

/// The compose (DNS) name prometheus.yml finds a service by.
fn dns_name(service: &str) -> String {
    format!("{}-service", service.trim_start_matches("shippy."))
}

/// A Prometheus running the repository's rules, with prometheus.yml's scrape job (its
/// relabelling as written) pointed at a running system's admin ports instead of compose's
/// DNS; killed on drop.
struct Prometheus {
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
    url: String,
}

impl Prometheus {
    async fn start(system: &System) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = yaml(&observability().join("prometheus/prometheus.yml"));
        config["global"]["scrape_interval"] = "1s".into();
        config["global"]["evaluation_interval"] = "1s".into();
        config["rule_files"] = Yaml::Sequence(vec![
            observability()
                .join("prometheus/alerts.yml")
                .display()
                .to_string()
                .into(),
        ]);
        let job = &mut config["scrape_configs"][0];
        let dns = job
            .as_mapping_mut()
            .unwrap()
            .remove("dns_sd_configs")
            .unwrap();
        let mut targets = Vec::new();
        for entry in dns.as_sequence().unwrap() {
            let name = entry["names"][0].as_str().unwrap();
            let service = names::ALL
                .into_iter()
                .find(|s| dns_name(s) == name)
                .unwrap_or_else(|| panic!("prometheus.yml scrapes {name}, not a service"));
            let address = metrics_address(system, service).await;
            let target: Yaml = serde_yaml::from_str(&format!(
                "{{targets: ['{address}'], labels: {{__meta_dns_name: {name}}}}}"
            ))
            .unwrap();
            targets.push(target);
        }
        assert_eq!(targets.len(), names::ALL.len(), "one DNS name per service");
        job["static_configs"] = Yaml::Sequence(targets);
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, serde_yaml::to_string(&config).unwrap()).unwrap();

        let mut child = tokio::process::Command::new(prometheus_bin("prometheus"))
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = String::new();
        let address = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("prometheus did not listen:\n{seen}"))
                .unwrap()
                .unwrap_or_else(|| panic!("prometheus exited:\n{seen}"));
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("msg=\"Listening on\"") {
                let at = line.find("address=").unwrap() + "address=".len();
                break line[at..].split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep reading its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            _child: child,
            _dir: dir,
            url: format!("http://{address}"),
        }
    }

    /// An instant query's result, or Prometheus's error.
    async fn query(&self, expr: &str) -> Result<Vec<Json>, String> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        // Until its storage is ready it answers 503 in plain text.
        let response: Json = response.json().await.map_err(|e| e.to_string())?;
        match response["status"].as_str() {
            Some("success") => Ok(response["data"]["result"].as_array().unwrap().clone()),
            _ => Err(response["error"].to_string()),
        }
    }
}

fn label_values(result: &[Json], label: &str) -> BTreeSet<String> {
    result
        .iter()
        .filter_map(|r| r["metric"][label].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn prometheus_answers_every_dashboard_and_alert_query_from_a_running_system() {
    let flags = tempfile::tempdir().unwrap();
    let flags_file = flags.path().join("flags.json").display().to_string();
    let system = System::start_with(&[("SHIPPY_FAULTS__FLAGS_FILE", &flags_file)]).await;
    let prometheus = Prometheus::start(&system).await;

    // Its relabelling names each service's job as its traces do, and every target is up.
    let up = eventually(20, || async {
        let up = prometheus.query("up == 1").await.unwrap_or_default();
        (up.len() == names::ALL.len()).then_some(up)
    })
    .await
    .expect("Prometheus scrapes every service");
    let jobs = label_values(&up, "job");
    let expected: BTreeSet<String> = names::ALL.iter().map(|s| s.to_string()).collect();
    assert_eq!(jobs, expected);

    // Traffic to show while it scrapes: bookings (their events consumed), the activity
    // feed read, logins, and a fault in effect.
    let token = system.rest_user("dashboards@example.com").await;
    let login = serde_json::json!({"email": "dashboards@example.com", "password": "Testing123"});
    let consignment: Json =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    let set = system
        .cli("shippy", &["flags", "set", "api.latency_ms=1"], None)
        .await;
    assert!(set.success, "{set:?}");
    let fault = eventually(30, || async {
        let (status, body) = system
            .rest(
                "POST",
                "/api/v1/consignments",
                Some(&token),
                Some(consignment.clone()),
            )
            .await;
        // Booked, or refused once the vessels are full: traffic either way.
        assert!(status == 201 || status == 422, "{status} {body}");
        let (status, _) = system.rest("GET", "/api/v1/logs", Some(&token), None).await;
        assert_eq!(status, 200);
        let (status, _) = system
            .rest("POST", "/api/v1/auth/login", None, Some(login.clone()))
            .await;
        assert_eq!(status, 200);
        let on = prometheus
            .query("shippy_fault_flag != 0")
            .await
            .unwrap_or_default();
        let rated = prometheus
            .query("sum by (job) (rate(shippy_requests_total[1m])) > 0")
            .await
            .unwrap_or_default();
        (!on.is_empty() && label_values(&rated, "job") == expected).then_some(on)
    })
    .await
    .expect("the fault flag in effect and every service's request rate reach Prometheus");
    assert_eq!(
        label_values(&fault, "flag"),
        BTreeSet::from(["api.latency_ms".to_owned()])
    );
    assert_eq!(
        label_values(&fault, "job"),
        BTreeSet::from([names::API.to_owned()])
    );

    // What the services export, scraped as Prometheus scrapes it.
    let mut exported: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for service in names::ALL {
        let address = metrics_address(&system, service).await;
        let text = reqwest::get(format!("http://{address}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let samples: Vec<Sample> = parse(&text);
        for (name, labels, _) in samples {
            exported.entry(name).or_default().extend(labels.into_keys());
        }
    }

    for (place, expr) in queries() {
        for name in metric_names(&expr) {
            let labels = exported
                .get(&name)
                .unwrap_or_else(|| panic!("{place}: no service exports {name}"));
            for label in label_names(&expr) {
                let known = PROMETHEUS_LABELS.contains(&label.as_str())
                    || labels.contains(&label)
                    || metric_names(&expr)
                        .iter()
                        .any(|n| exported.get(n).is_some_and(|l| l.contains(&label)));
                assert!(known, "{place}: {name} has no label {label}");
            }
        }
        let expr = expr.replace("$__rate_interval", "1m");
        let result = prometheus.query(&expr).await;
        assert!(result.is_ok(), "{place}: {expr}: {result:?}");
    }

    // The panels a learner opens first show every service, and the events flowing.
    for expr in [
        "sum by (job) (rate(shippy_requests_total[1m]))",
        "histogram_quantile(0.99, sum by (job, le) (rate(shippy_request_duration_seconds_bucket[1m])))",
    ] {
        let result = prometheus.query(expr).await.unwrap();
        assert_eq!(label_values(&result, "job"), expected, "{expr}");
    }
    let backlog = prometheus
        .query("sum by (job) (shippy_outbox_backlog)")
        .await
        .unwrap();
    assert_eq!(
        label_values(&backlog, "job"),
        BTreeSet::from([names::USER, names::VESSEL, names::CONSIGNMENT].map(str::to_owned))
    );
    let healthy = prometheus
        .query("min by (service) (shippy_registry_instances)")
        .await
        .unwrap();
    assert!(
        label_values(&healthy, "service").contains(names::VESSEL),
        "{healthy:?}"
    );
    // The breaker gauges come through with the callee as `peer`, the caller as job.
    let breakers = prometheus
        .query("max by (job, service, peer) (shippy_breaker_open)")
        .await
        .unwrap();
    assert!(
        breakers
            .iter()
            .any(|b| b["metric"]["job"] == names::CONSIGNMENT
                && b["metric"]["service"] == names::VESSEL
                && b["metric"]["peer"]
                    .as_str()
                    .is_some_and(|p| p.contains(':'))),
        "{breakers:?}"
    );
}
