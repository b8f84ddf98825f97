//! The bare limits: a hello handler on axum, and `VesselService.FindAvailable` on tonic
//! answering a fixed vessel (the same messages as the real hop) with no auth, discovery,
//! store or telemetry, served as the services serve: connections spread over a runtime per
//! core (`shippy_common::server::spread_servers`) with `TCP_NODELAY`. Each runs as its own
//! process and prints its address on stdout.

use std::future::IntoFuture;

use axum::Router;
use axum::routing::get;
use shippy_common::server::spread_servers;
use shippy_proto::tonic::{self, Request, Response, Status};
use shippy_proto::vessel::vessel_service_server::{VesselService, VesselServiceServer};
use shippy_proto::vessel::{self as pb};
use tokio::net::TcpListener;

async fn listen() -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    Ok(listener)
}

pub async fn serve_axum() -> anyhow::Result<()> {
    let app = Router::new().route("/", get(|| async { "hello" }));
    let (_stop, stop) = tokio::sync::oneshot::channel::<()>();
    let server = spread_servers(listen().await?, stop, move |handed, stopped| {
        axum::serve(handed, app.clone())
            .with_graceful_shutdown(stopped)
            .into_future()
    });
    server.await??;
    Ok(())
}

struct Fixed;

fn vessel() -> pb::Vessel {
    pb::Vessel {
        id: "vessel001".into(),
        capacity: 500,
        max_weight: 200_000,
        name: "Kane's Salty Secret".into(),
        available: true,
        owner_id: String::new(),
        remaining_capacity: 500,
        remaining_weight: 200_000,
    }
}

#[tonic::async_trait]
impl VesselService for Fixed {
    async fn create(&self, _: Request<pb::Vessel>) -> Result<Response<pb::Response>, Status> {
        Err(Status::unimplemented("bare"))
    }

    async fn find_available(
        &self,
        _: Request<pb::Specification>,
    ) -> Result<Response<pb::Response>, Status> {
        Ok(Response::new(pb::Response {
            vessel: Some(vessel()),
            ..Default::default()
        }))
    }

    async fn list(&self, _: Request<pb::ListRequest>) -> Result<Response<pb::Response>, Status> {
        Err(Status::unimplemented("bare"))
    }

    async fn reserve(
        &self,
        _: Request<pb::ReserveRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        Err(Status::unimplemented("bare"))
    }

    async fn release(
        &self,
        _: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        Err(Status::unimplemented("bare"))
    }

    async fn get_reservation(
        &self,
        _: Request<pb::ReservationQuery>,
    ) -> Result<Response<pb::Reservation>, Status> {
        Err(Status::unimplemented("bare"))
    }
}

pub async fn serve_tonic() -> anyhow::Result<()> {
    let (_stop, stop) = tokio::sync::oneshot::channel::<()>();
    let server = spread_servers(listen().await?, stop, |handed, stopped| {
        tonic::transport::Server::builder()
            .add_service(VesselServiceServer::new(Fixed))
            .serve_with_incoming_shutdown(handed, stopped)
    });
    server.await??;
    Ok(())
}
