//! Config loading against the repository's own `config/` folder.

use std::path::{Path, PathBuf};

use super::load::{SECTIONS, TOP_LEVEL, is_config_var};
use super::*;
use crate::Service;

fn repo_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

fn sources(overrides: &[(&str, &str)]) -> Sources {
    Sources {
        config_dir: Some(repo_config_dir()),
        profile: None,
        overrides: overrides
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    }
}

#[test]
fn the_shipped_defaults_load_and_validate() {
    let config = Config::load(&sources(&[])).unwrap();
    assert_eq!(config.broker.log_topic, "shippy.log");
    assert_eq!(config.broker.revocations_topic, "shippy.revocations");
    assert_eq!(config.services.api.listen.port(), 8080);
    assert_eq!(config.auth.token_lifetime_secs, 24 * 3600);
}

#[test]
fn a_flag_override_wins_over_the_files() {
    let key = Service::Vessel.listen_key();
    let config = Config::load(&sources(&[(key.as_str(), "127.0.0.1:0")])).unwrap();
    assert_eq!(config.services.vessel.listen.port(), 0);
}

#[test]
fn a_bad_value_is_reported_with_its_key() {
    let err = Config::load(&sources(&[("registry.heartbeat_secs", "999")])).unwrap_err();
    assert!(err.to_string().contains("registry.heartbeat_secs"), "{err}");
    let err = Config::load(&sources(&[("services.user.listen", "nowhere")])).unwrap_err();
    assert!(err.to_string().contains("listen"), "{err}");
    let err = Config::load(&sources(&[("broker.revocations_topic", " ")])).unwrap_err();
    assert!(
        err.to_string().contains("broker.revocations_topic"),
        "{err}"
    );
    let err = Config::load(&sources(&[("telemetry.otlp_endpoint", "jaeger:4318")])).unwrap_err();
    assert!(err.to_string().contains("telemetry.otlp_endpoint"), "{err}");
    let ok = Config::load(&sources(&[(
        "telemetry.otlp_endpoint",
        "http://jaeger:4318",
    )]));
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn each_auth_setting_is_blamed_by_its_own_key() {
    let good = Config::load(&sources(&[])).unwrap();
    type Spoil = fn(&mut AuthConfig);
    let cases: [(&str, Spoil); 4] = [
        ("auth.login_failures_per_account", |a| {
            a.login_failures_per_account = 0
        }),
        ("auth.login_failures_per_address", |a| {
            a.login_failures_per_address = 0
        }),
        ("auth.issuer", |a| a.issuer = " ".into()),
        ("auth.audience", |a| a.audience = String::new()),
    ];
    for (key, spoil) in cases {
        let mut config = good.clone();
        spoil(&mut config.auth);
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains(&format!("{key}:")), "{key}: {err}");
    }
}

#[test]
fn an_unknown_profile_is_refused_by_name() {
    let mut s = sources(&[]);
    s.profile = Some("nope".into());
    let err = Config::load(&s).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn shippy_variables_meant_for_tools_are_not_mistaken_for_config() {
    for tool in [
        "TEST_MONGO_URI",
        "TOKEN",
        "CACHE",
        "CHROMEDRIVER",
        "PROFILE",
        "ADDR",
        "BENCH_MONGO_URI",
        "SOME_TOOL_NOBODY_LISTED",
        "STORE",
        "STOREKEEPER__X",
    ] {
        assert!(!is_config_var(tool), "{tool}");
    }
    for key in ["DATA_DIR", "AUTH__TOKEN_LIFETIME_SECS", "STORE__KIND"] {
        assert!(is_config_var(key), "{key}");
    }
}

/// The lists of sections and top-level keys that environment overrides may name are the
/// config's own: a section added to `Config` and not to them could not be overridden.
#[test]
fn every_config_key_can_be_overridden_from_the_environment() {
    let config = Config::load(&sources(&[])).unwrap();
    let value = serde_json::to_value(&config).unwrap();
    let mut sections = Vec::new();
    let mut top = Vec::new();
    for (key, v) in value.as_object().unwrap() {
        if v.is_object() {
            sections.push(key.as_str());
        } else {
            top.push(key.as_str());
        }
    }
    sections.sort_unstable();
    top.sort_unstable();
    let (mut want_sections, mut want_top) = (SECTIONS.to_vec(), TOP_LEVEL.to_vec());
    want_sections.sort_unstable();
    want_top.sort_unstable();
    assert_eq!((sections, top), (want_sections, want_top));
}
