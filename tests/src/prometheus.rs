//! Prometheus text from the services' admin ports: a parser strict enough to catch a broken
//! line, scrapes of a service (its first instance) or of one instance by address, and
//! Prometheus' own checker of the text (`promtool check metrics`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{System, cache_dir};

/// Where scripts/test-deps.sh unpacks Debian's Prometheus and promtool.
pub fn prometheus_bin(name: &str) -> PathBuf {
    let path = cache_dir().join("prometheus/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test-deps.sh (make test does)",
        path.display()
    );
    path
}

/// What `promtool check metrics` finds wrong with the exposition `text` (missing HELP,
/// names against Prometheus' conventions, ...): empty when nothing.
pub fn promtool_findings(text: &str) -> String {
    let mut child = Command::new(prometheus_bin("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.trim().is_empty() {
        String::new()
    } else {
        format!("{}: {said}", out.status)
    }
}

/// The Prometheus text the first instance of `service` serves.
pub async fn scrape_text(system: &System, service: &str) -> String {
    let address = metrics_address(system, service).await;
    reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// One sample: name, labels, value.
pub type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text exposition format strictly enough to catch a broken line: `# HELP` and
/// `# TYPE` comments, and `name{label="value",...} number` samples.
pub fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split_whitespace().next().unwrap_or_default();
            assert!(kind == "HELP" || kind == "TYPE", "bad comment: {line}");
            if kind == "TYPE" {
                let t = comment.split_whitespace().nth(2).unwrap_or_default();
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                    "bad type: {line}"
                );
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let labels = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad name: {line}"
        );
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

/// The admin (metrics) address of the first instance of `service`, from its registration.
pub async fn metrics_address(system: &System, service: &str) -> String {
    let registry = shippy_common::wiring::registry(&system.config)
        .await
        .unwrap();
    let instance = registry.healthy(service).await.unwrap().remove(0);
    instance.metadata["metrics"].clone()
}

pub async fn scrape(system: &System, service: &str) -> Vec<Sample> {
    let address = metrics_address(system, service).await;
    let response = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{service}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{service}"
    );
    parse(&response.text().await.unwrap())
}

/// The metrics of the instance of `service` registered at `address`.
pub async fn scrape_instance(system: &System, service: &str, address: &str) -> Vec<Sample> {
    let registry = shippy_common::wiring::registry(&system.config)
        .await
        .unwrap();
    let instances = registry.healthy(service).await.unwrap();
    let instance = instances
        .iter()
        .find(|i| i.address == address)
        .unwrap_or_else(|| panic!("no {service} at {address}"));
    let text = reqwest::get(format!("http://{}/metrics", instance.metadata["metrics"]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    parse(&text)
}

/// The value of the sample `name` with every label in `labels`, if there is one.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).is_some_and(|x| x == v))
        })
        .map(|(_, _, v)| *v)
}
