//! Schemathesis fuzzes the gateway from its own OpenAPI document with every check and every
//! phase (examples, coverage, fuzzing, stateful links): no 5xx, no hung request, every
//! answer documented and matching its schema, everything the document allows accepted and
//! everything it forbids refused. Bounded: a fixed number of examples per operation and a
//! timeout per request. Settings: `tests/schemathesis.toml`.

use std::time::Duration;

use shippy_system_tests::{System, repo_root, venv_tool};

/// Runs schemathesis on the operations `selection` picks, as the holder of `token`, and
/// answers its report once it passed.
async fn schemathesis(spec: &str, token: &str, selection: &[&str]) -> String {
    let program = venv_tool("schemathesis");
    let run = tokio::process::Command::new(&program)
        .arg("--config-file")
        .arg(repo_root().join("tests/schemathesis.toml"))
        // One worker: Hypothesis's source cache is not thread-safe, and two workers once
        // failed a run on a race inside it ("AST constructor recursion depth mismatch").
        .args(["run", spec, "--no-color", "--workers", "1", "--seed", "1"])
        .args(["--max-examples", "25", "--request-timeout", "10"])
        .args(["--checks", "all"])
        .args(selection)
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis finished within 10 minutes")
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): run scripts/test-deps.sh",
                program.display()
            )
        });
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !report.contains("Authentication failed"),
        "the token worked throughout:\n{report}"
    );
    report
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let mut system = System::start().await;
    let spec = format!("{}/api/openapi.json", system.api_url().await);
    // Log-out revokes the token it is sent with, so it is fuzzed on its own, with a token of
    // its own, after everything else. Both log in first: fuzzing log-in locks the address.
    let token = system.rest_user("fuzz@example.com").await;
    let leaving = system.rest_user("fuzz-logout@example.com").await;
    let exclude = [
        "--exclude-path",
        "/api/v1/logs/stream",
        "--exclude-path",
        "/api/v1/auth/logout",
    ];
    let report = schemathesis(&spec, &token, &exclude).await;
    assert!(
        report.contains("Tested: 16"),
        "every operation but the stream and log-out was fuzzed:\n{report}"
    );
    let report = schemathesis(&spec, &leaving, &["--include-path", "/api/v1/auth/logout"]).await;
    assert!(
        report.contains("Tested: 1"),
        "log-out was fuzzed:\n{report}"
    );
    system.stop_all().await;
}
