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
    system.tutorial_vessels(&token).await;

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

#[tokio::test]
async fn shippy_run_scales_a_service_and_stops_everything_on_ctrl_c() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let mut envs = shippy_system_tests::environment(dir.path());
    // Free ports, so this runs beside anything else on the machine; but the scaled
    // service's admin port is a fixed one, as in the shipped config, which its second
    // instance must not try to take too.
    for service in ["USER", "VESSEL", "CONSIGNMENT", "LOG", "API"] {
        for key in ["LISTEN", "METRICS_LISTEN"] {
            envs.push((
                format!("SHIPPY_SERVICES__{service}__{key}"),
                "127.0.0.1:0".to_owned(),
            ));
        }
    }
    let fixed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let fixed_port = fixed.local_addr().unwrap().port();
    drop(fixed);
    envs.push((
        "SHIPPY_SERVICES__VESSEL__METRICS_LISTEN".to_owned(),
        format!("127.0.0.1:{fixed_port}"),
    ));
    let config = System::load_config(&envs);
    let registry = shippy_common::wiring::registry(&config).await.unwrap();
    let mut run = tokio::process::Command::new(shippy_system_tests::bin_dir().join("shippy"))
        .args(["run", "--scale", "vessel=2"])
        .current_dir(dir.path())
        .envs(envs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(run.stdout.take().unwrap()).lines();
    let up = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("shippy is up") {
                return line;
            }
        }
        panic!("shippy run ended before it was up");
    })
    .await
    .expect("up within 60 s");
    assert!(up.contains("(6 processes)"), "{up}");
    let vessels = registry.healthy(names::VESSEL).await.unwrap();
    assert_eq!(vessels.len(), 2);
    // Both stay up: neither died on a taken port (a dead one would be started again).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let again = registry.healthy(names::VESSEL).await.unwrap();
    let ids = |v: &[shippy_plugins::registry::Instance]| {
        let mut ids: Vec<_> = v.iter().map(|i| i.id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&again), ids(&vessels), "the same two instances serve");
    let admin: Vec<_> = again
        .iter()
        .map(|i| i.metadata["metrics"].clone())
        .collect();
    assert_ne!(admin[0], admin[1], "each has its own admin port");
    for service in names::ALL {
        assert!(
            !registry.healthy(service).await.unwrap().is_empty(),
            "{service}"
        );
    }

    let pid = nix::unistd::Pid::from_raw(i32::try_from(run.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), run.wait())
        .await
        .expect("stopped within 30 s")
        .unwrap();
    assert!(status.success(), "{status}");
    for service in names::ALL {
        assert!(
            registry.healthy(service).await.unwrap().is_empty(),
            "{service} deregistered on the way out"
        );
    }
}

/// The pid each registered instance of `service` reports.
async fn registered_pids(
    registry: &dyn shippy_plugins::registry::Registry,
    service: &str,
) -> Vec<String> {
    registry
        .healthy(service)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|i| i.metadata.get("pid").cloned())
        .collect()
}

#[tokio::test]
async fn shippy_run_starts_a_killed_service_again_and_leaves_the_others_running() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let mut envs = shippy_system_tests::environment(dir.path());
    for service in ["USER", "VESSEL", "CONSIGNMENT", "LOG", "API"] {
        for key in ["LISTEN", "METRICS_LISTEN"] {
            envs.push((
                format!("SHIPPY_SERVICES__{service}__{key}"),
                "127.0.0.1:0".to_owned(),
            ));
        }
    }
    let config = System::load_config(&envs);
    let registry = shippy_common::wiring::registry(&config).await.unwrap();
    let mut run = tokio::process::Command::new(shippy_system_tests::bin_dir().join("shippy"))
        .arg("run")
        .current_dir(dir.path())
        .envs(envs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(run.stdout.take().unwrap()).lines();
    let mut next_line_with = async |text: &str| {
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains(text) {
                    return line;
                }
            }
            panic!("shippy run ended before saying {text:?}");
        })
        .await
        .unwrap_or_else(|_| panic!("no {text:?} within 60 s"))
    };
    next_line_with("shippy is up").await;
    let mut before = std::collections::BTreeMap::new();
    for service in names::ALL {
        before.insert(service, registered_pids(registry.as_ref(), service).await);
    }
    let victim: i32 = before[names::VESSEL][0].parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();

    let exited = next_line_with("exited unexpectedly").await;
    assert!(
        exited.contains(&format!("vessel-service (pid {victim})")),
        "{exited}"
    );
    let restarted = next_line_with("restarted").await;
    assert!(
        restarted.starts_with("vessel-service restarted"),
        "{restarted}"
    );
    let back = eventually(15, || async {
        let pids = registered_pids(registry.as_ref(), names::VESSEL).await;
        pids.into_iter().find(|p| *p != victim.to_string())
    })
    .await
    .expect("the vessel service registered again");
    assert!(restarted.contains(&format!("pid {back}")), "{restarted}");
    for service in names::ALL.into_iter().filter(|s| *s != names::VESSEL) {
        assert_eq!(
            registered_pids(registry.as_ref(), service).await,
            before[service],
            "{service} kept running, untouched"
        );
    }

    let pid = nix::unistd::Pid::from_raw(i32::try_from(run.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), run.wait())
        .await
        .expect("stopped within 30 s")
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        !registered_pids(registry.as_ref(), names::VESSEL)
            .await
            .contains(&back),
        "the restarted instance deregistered on the way out"
    );
}
