//! The registry contract: what every [`Registry`] adapter must do. An adapter's test file
//! runs all of it with `registry_contract!(async { make_registry() })`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Instance, Registry};

/// An instance of `service` with id `id`, as the contract uses them.
pub fn instance(service: &str, id: &str) -> Instance {
    Instance {
        service: service.into(),
        id: id.into(),
        address: format!("127.0.0.1:{}", 40000 + id.len()),
        version: "1.0.0".into(),
        metadata: BTreeMap::from([("zone".to_owned(), "local".to_owned())]),
    }
}

const TTL: Duration = Duration::from_secs(30);

pub async fn registered_instance_is_listed_with_all_its_fields(r: Arc<dyn Registry>) {
    let a = instance("shippy.vessel", "a");
    r.register(&a, TTL).await.unwrap();
    assert_eq!(r.healthy("shippy.vessel").await.unwrap(), vec![a]);
}

pub async fn several_instances_of_one_service_are_all_listed(r: Arc<dyn Registry>) {
    let (a, b) = (
        instance("shippy.vessel", "a"),
        instance("shippy.vessel", "b"),
    );
    r.register(&b, TTL).await.unwrap();
    r.register(&a, TTL).await.unwrap();
    assert_eq!(r.healthy("shippy.vessel").await.unwrap(), vec![a, b]);
}

pub async fn services_do_not_see_each_others_instances(r: Arc<dyn Registry>) {
    r.register(&instance("shippy.user", "u"), TTL)
        .await
        .unwrap();
    assert!(r.healthy("shippy.vessel").await.unwrap().is_empty());
}

pub async fn deregistered_instance_disappears_at_once(r: Arc<dyn Registry>) {
    let (a, b) = (
        instance("shippy.vessel", "a"),
        instance("shippy.vessel", "b"),
    );
    r.register(&a, TTL).await.unwrap();
    r.register(&b, TTL).await.unwrap();
    r.deregister("shippy.vessel", "a").await.unwrap();
    assert_eq!(r.healthy("shippy.vessel").await.unwrap(), vec![b]);
    r.deregister("shippy.vessel", "never-registered")
        .await
        .unwrap();
}

pub async fn instance_without_heartbeat_expires_after_its_ttl(r: Arc<dyn Registry>) {
    let a = instance("shippy.vessel", "a");
    r.register(&a, Duration::from_millis(1500)).await.unwrap();
    assert_eq!(r.healthy("shippy.vessel").await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(r.healthy("shippy.vessel").await.unwrap().is_empty());
}

pub async fn heartbeats_keep_an_instance_alive_past_its_ttl(r: Arc<dyn Registry>) {
    let a = instance("shippy.vessel", "a");
    let ttl = Duration::from_millis(1500);
    r.register(&a, ttl).await.unwrap();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        r.heartbeat(&a, ttl).await.unwrap();
    }
    assert_eq!(r.healthy("shippy.vessel").await.unwrap(), vec![a]);
}

pub async fn heartbeat_brings_back_an_expired_instance(r: Arc<dyn Registry>) {
    let a = instance("shippy.vessel", "a");
    r.register(&a, Duration::from_millis(1000)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        r.healthy("shippy.vessel").await.unwrap().is_empty(),
        "expired first, or the heartbeat brings back nothing"
    );
    r.heartbeat(&a, TTL).await.unwrap();
    assert_eq!(r.healthy("shippy.vessel").await.unwrap(), vec![a]);
}

pub async fn watch_sees_instances_come_and_go(r: Arc<dyn Registry>) {
    let mut rx = super::watch(Arc::clone(&r), "shippy.vessel");
    let a = instance("shippy.vessel", "a");
    r.register(&a, TTL).await.unwrap();
    let seen = wait_for(&mut rx, |set| set.len() == 1).await;
    assert_eq!(seen, vec![a]);
    r.deregister("shippy.vessel", "a").await.unwrap();
    wait_for(&mut rx, Vec::is_empty).await;
}

async fn wait_for(
    rx: &mut tokio::sync::watch::Receiver<Vec<Instance>>,
    done: impl Fn(&Vec<Instance>) -> bool,
) -> Vec<Instance> {
    let seen = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| done(s)))
        .await
        .expect("the watch did not report the change within 10 s")
        .expect("the watch task ended");
    seen.clone()
}

/// Generates one `#[tokio::test]` per contract case for the adapter built by `$make`, an
/// expression evaluating to a future of `Arc<dyn Registry>` (a fresh, empty registry).
#[macro_export]
macro_rules! registry_contract {
    ($make:expr) => {
        $crate::registry_contract!(@cases $make;
            registered_instance_is_listed_with_all_its_fields,
            several_instances_of_one_service_are_all_listed,
            services_do_not_see_each_others_instances,
            deregistered_instance_disappears_at_once,
            instance_without_heartbeat_expires_after_its_ttl,
            heartbeats_keep_an_instance_alive_past_its_ttl,
            heartbeat_brings_back_an_expired_instance,
            watch_sees_instances_come_and_go,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let registry = $make.await;
                $crate::registry::contract::$case(registry).await;
            }
        )+
    };
}
