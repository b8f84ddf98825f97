//! `shippy health TARGET`: a readiness probe for container health checks. `host:port` asks a
//! gRPC service's `grpc.health.v1` (overall status); an `http://` URL wants a 2xx.

use std::time::Duration;

use anyhow::{Context, bail};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long a probe waits for its answer.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Succeeds when `target` answers that it serves.
pub async fn probe(target: &str) -> anyhow::Result<()> {
    if target.starts_with("http://") {
        let response = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()?
            .get(target)
            .send()
            .await
            .with_context(|| format!("{target} did not answer"))?;
        if !response.status().is_success() {
            bail!("{target} answered {}", response.status());
        }
        return Ok(());
    }
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{target}"))?
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("{target} did not answer"))?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .with_context(|| format!("{target} refused the health check"))?
        .into_inner()
        .status();
    if status != ServingStatus::Serving {
        bail!("{target} is {}", status.as_str_name());
    }
    Ok(())
}
