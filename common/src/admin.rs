//! The admin port of every process: Prometheus text at `/metrics`, from the `metrics`
//! facade the code records into (each metric with its HELP text: [`crate::meters::describe`]),
//! then the process collector's standard metrics ([`crate::process`]). Its address is registered with the instance (metadata key
//! `metrics`), so a scraper finds every instance the way clients do.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use: [`crate::telemetry::init`] does so at
/// start, before anything takes a metric handle (handles taken earlier record nothing).
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("buckets are not empty")
                .install_recorder()
                .expect("no other metrics recorder in this process");
            crate::meters::describe();
            handle
        })
        .clone()
}

/// Serves `/metrics` on `listen` (port 0 picks one) in the background; answers the address.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    let handle = install();
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                handle.run_upkeep();
                let mut text = handle.render();
                text.push_str(&crate::process::render());
                ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text)
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "metrics endpoint stopped");
        }
    });
    tracing::info!(%address, "serving metrics on http://{address}/metrics");
    Ok(address)
}
