//! Several instances of one service: both are registered, and when one stops the other
//! carries on without the client doing anything. And the health probe containers use
//! (`shippy health`) tells a serving instance from a stopped one.

use shippy_common::names;
use shippy_system_tests::{CliRun, System, eventually, sample};

#[tokio::test]
async fn a_second_vessel_instance_carries_on_when_the_first_stops() {
    let mut system = System::start().await;
    let run = system
        .cli(
            "user-cli",
            &[
                "create",
                "--name",
                "Pat",
                "--email",
                "pat@example.com",
                "--password",
                "Testing123",
            ],
            None,
        )
        .await;
    assert!(run.success, "{run:?}");
    let auth = system
        .cli(
            "user-cli",
            &[
                "auth",
                "--email",
                "pat@example.com",
                "--password",
                "Testing123",
                "--json",
            ],
            None,
        )
        .await;
    let token = auth.json()["token"].as_str().unwrap().to_owned();

    let second = system.start_extra(names::VESSEL).await;
    assert_eq!(system.instances(names::VESSEL).await.len(), 2);
    system.stop_service(names::VESSEL).await;
    assert_eq!(
        system.instances(names::VESSEL).await.len(),
        1,
        "the stopped instance deregistered"
    );

    let file = sample("consignment.json");
    let args = ["create", file.as_str()];
    let book = || system.cli("consignment-cli", &args, Some(&token));
    let first = eventually(10, || async { book().await.success.then_some(()) }).await;
    assert!(
        first.is_some(),
        "no booking through the second instance\n{}",
        system.logs()
    );
    for _ in 0..5 {
        let run = book().await;
        assert!(
            run.success,
            "every booking after the switch succeeds: {run:?}"
        );
    }
    assert!(
        second
            .stop(std::time::Duration::from_secs(10))
            .await
            .unwrap()
            .success()
    );
    system.stop_all().await;
}

async fn probe(system: &System, target: &str) -> CliRun {
    system.cli("shippy", &["health", target], None).await
}

#[tokio::test]
async fn the_health_probe_passes_a_serving_service_and_fails_a_stopped_one() {
    let mut system = System::start().await;
    let vessel = system.instances(names::VESSEL).await.remove(0);
    let ready = format!("{}/readyz", system.api_url().await);

    let run = probe(&system, &vessel).await;
    assert!(run.success, "{run:?}");
    let run = probe(&system, &ready).await;
    assert!(run.success, "{run:?}");

    system.stop_service(names::VESSEL).await;
    let run = probe(&system, &vessel).await;
    assert!(!run.success, "a stopped service fails its probe");
    assert!(
        run.stderr.contains(&vessel),
        "the reason names the target: {run:?}"
    );
    let refused = eventually(10, || async {
        let run = probe(&system, &ready).await;
        (!run.success).then_some(run)
    })
    .await
    .expect("the gateway is not ready without vessels");
    assert!(refused.stderr.contains("503"), "{refused:?}");
    system.stop_all().await;
}
