//! The contracts held to the linters API users reach for, with no error and no warning:
//!
//! - the OpenAPI document the gateway serves (`/api/openapi.json`, from a running system):
//!   openapi-spec-validator, Redocly CLI's `recommended` rules (`.redocly.yaml`) and
//!   Spectral's `spectral:oas` rules (`.spectral.yaml`), where anything Spectral reports,
//!   down to a hint, fails;
//! - the protos (`proto/proto/`, rules in `buf.yaml`): `buf lint`, and `buf breaking` against
//!   the reference system's protos (`proto/reference/`, a copy kept equal to
//!   `../shared/reference/protos/` where that is there) and against the last release's
//!   (`proto/released/`).
//!
//! `scripts/test-deps.sh` installs the tools, pinned, into the cache folder; a missing tool
//! fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use shippy_system_tests::{System, cache_dir, repo_root, venv_tool};

/// A tool `scripts/test-deps.sh` installed with npm into the cache folder.
fn npm_tool(name: &str) -> PathBuf {
    cache_dir().join("npm/node_modules/.bin").join(name)
}

/// Runs `program` with `args` in the repository's root, with the Node `scripts/test-deps.sh`
/// installed first on the PATH where it installed one (the PATH's was too old for Redocly).
fn run(program: &Path, args: &[&str]) -> Output {
    assert!(
        program.exists(),
        "{} is missing: run `make test-deps` (scripts/test-deps.sh)",
        program.display()
    );
    let mut command = Command::new(program);
    command.args(args).current_dir(repo_root());
    let node = cache_dir().join("node/bin");
    if node.join("node").exists() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(node).chain(std::env::split_paths(&path));
        command.env("PATH", std::env::join_paths(paths).unwrap());
    }
    command
        // Redocly CLI: no usage report and no check for a newer version (no network needed).
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): run `make test-deps`",
                program.display()
            )
        })
}

/// What a run printed, both streams, to show with a failure.
fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The gateway's OpenAPI document, from a running system, written to a file in `dir`.
async fn openapi_document(dir: &Path) -> PathBuf {
    let mut system = System::start().await;
    let url = format!("{}/api/openapi.json", system.api_url().await);
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let document = response.bytes().await.unwrap();
    system.stop_all().await;
    let path = dir.join("openapi.json");
    std::fs::write(&path, &document).unwrap();
    path
}

#[tokio::test]
async fn the_openapi_document_lints_clean() {
    // Kept where the build keeps test files, to lint again by hand after a failure.
    let document = openapi_document(Path::new(env!("CARGO_TARGET_TMPDIR"))).await;
    let document = document.to_str().unwrap();
    let mut failures = Vec::new();

    let validator = run(&venv_tool("openapi-spec-validator"), &[document]);
    if !validator.status.success() || !printed(&validator).trim_end().ends_with(": OK") {
        failures.push(format!("openapi-spec-validator:\n{}", printed(&validator)));
    }

    // Redocly answers 0 on warnings: its totals say whether there were any.
    let redocly = run(
        &npm_tool("redocly"),
        &[
            "lint",
            "--config",
            ".redocly.yaml",
            "--format",
            "json",
            document,
        ],
    );
    let report: Value = serde_json::from_slice(&redocly.stdout).unwrap_or_default();
    let totals = &report["totals"];
    if !redocly.status.success() || totals["errors"] != 0 || totals["warnings"] != 0 {
        let problems = report["problems"].as_array().cloned().unwrap_or_default();
        let problems: Vec<String> = problems
            .iter()
            .map(|p| {
                format!(
                    "  {} {}: {} (at {})",
                    p["severity"], p["ruleId"], p["message"], p["location"][0]["pointer"]
                )
            })
            .collect();
        failures.push(format!(
            "redocly lint: totals {totals}\n{}\n{}",
            problems.join("\n"),
            if report.is_null() {
                printed(&redocly)
            } else {
                String::from_utf8_lossy(&redocly.stderr).into_owned()
            }
        ));
    }

    let spectral = run(
        &npm_tool("spectral"),
        &[
            "lint",
            "--ruleset",
            ".spectral.yaml",
            "--fail-severity",
            "hint",
            "--format",
            "text",
            document,
        ],
    );
    if !spectral.status.success() {
        failures.push(format!("spectral lint:\n{}", printed(&spectral)));
    }

    assert!(
        failures.is_empty(),
        "the OpenAPI document ({document}) has findings:\n\n{}",
        failures.join("\n\n")
    );
}

/// Runs buf with `args` and fails, showing what it printed, unless it found nothing.
fn buf(args: &[&str]) {
    let output = run(&npm_tool("buf"), args);
    assert!(
        output.status.success() && printed(&output).trim().is_empty(),
        "buf {}:\n{}",
        args.join(" "),
        printed(&output)
    );
}

#[test]
fn the_protos_lint_clean() {
    buf(&["lint"]);
}

#[test]
fn the_protos_stay_compatible_with_the_reference() {
    // The committed copy is the reference itself, wherever that is beside the checkout.
    let original = repo_root().join("../shared/reference/protos");
    if original.is_dir() {
        for entry in std::fs::read_dir(&original).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "proto") {
                let name = path.file_name().unwrap();
                let copy = repo_root().join("proto/reference").join(name);
                assert_eq!(
                    std::fs::read_to_string(&copy).ok(),
                    Some(std::fs::read_to_string(&path).unwrap()),
                    "{} is a copy of {}: copy it again",
                    copy.display(),
                    path.display()
                );
            }
        }
    }
    buf(&["breaking", "--against", "proto/reference"]);
}

#[test]
fn the_protos_stay_compatible_with_the_last_release() {
    buf(&["breaking", "--against", "proto/released"]);
}
