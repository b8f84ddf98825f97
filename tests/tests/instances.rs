//! Several instances of one service: both are registered, and when one stops the other
//! carries on without the client doing anything.

use shippy_common::names;
use shippy_system_tests::{System, eventually, sample};

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
