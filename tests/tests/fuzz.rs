//! Schemathesis fuzzes the gateway from its own OpenAPI document: no 5xx, no hung request,
//! and every answer, errors included, is documented and matches its JSON schema. Bounded:
//! a fixed number of examples per operation and a timeout per request.

use std::time::Duration;

use shippy_system_tests::{System, venv_tool};

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let mut system = System::start().await;
    let token = system.rest_user("fuzz@example.com").await;
    let spec = format!("{}/api/openapi.json", system.api_url().await);
    let program = venv_tool("schemathesis");
    let run = tokio::process::Command::new(&program)
        .args(["run", &spec, "--no-color", "--workers", "2", "--seed", "1"])
        .args(["--max-examples", "25", "--request-timeout", "10"])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"])
        .args(["--exclude-path", "/api/v1/logs/stream"])
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
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains("Tested: 14"),
        "every operation but the stream was fuzzed:\n{report}"
    );
    system.stop_all().await;
}
