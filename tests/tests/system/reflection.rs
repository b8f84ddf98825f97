//! gRPC server reflection, v1 and v1alpha, on every service: a client that knows no shippy
//! `.proto` (as `grpcurl`, Evans or Postman) lists the services and reads the descriptor of
//! each method from the server alone, without a token.

use prost::Message;
use shippy_common::names;
use shippy_system_tests::System;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

async fn channel(url: String) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Asks `url`'s reflection service, v1, each of `asked` in one stream; the answers in order.
async fn ask(url: String, asked: Vec<MessageRequest>) -> Vec<MessageResponse> {
    let mut client = ServerReflectionClient::new(channel(url).await);
    let requests = asked
        .into_iter()
        .map(|message_request| ServerReflectionRequest {
            host: String::new(),
            message_request: Some(message_request),
        });
    let mut answers = client
        .server_reflection_info(tokio_stream::iter(requests.collect::<Vec<_>>()))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(answer) = answers.message().await.unwrap() {
        out.push(answer.message_response.unwrap());
    }
    out
}

#[tokio::test]
async fn every_service_lists_itself_and_describes_its_methods_over_reflection() {
    let mut system = System::start().await;
    for (name, service, method) in [
        (names::USER, "shippy.user.UserService", "Auth"),
        (
            names::VESSEL,
            "shippy.vessel.VesselService",
            "FindAvailable",
        ),
        (
            names::CONSIGNMENT,
            "shippy.consignment.ShippingService",
            "CreateConsignment",
        ),
        (names::LOG, "shippy.log.LogService", "List"),
    ] {
        let answers = ask(
            system.grpc_url(name).await,
            vec![
                MessageRequest::ListServices(String::new()),
                MessageRequest::FileContainingSymbol(service.into()),
            ],
        )
        .await;
        let [
            MessageResponse::ListServicesResponse(listed),
            MessageResponse::FileDescriptorResponse(files),
        ] = &answers[..]
        else {
            panic!("{name}: {answers:?}");
        };
        let services: Vec<&str> = listed.service.iter().map(|s| s.name.as_str()).collect();
        for expected in [service, "grpc.health.v1.Health"] {
            assert!(services.contains(&expected), "{name} lists {services:?}");
        }
        let methods: Vec<String> = files
            .file_descriptor_proto
            .iter()
            .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
            .flat_map(|file| file.service)
            .flat_map(|s| s.method)
            .filter_map(|m| m.name)
            .collect();
        assert!(methods.iter().any(|m| m == method), "{name}: {methods:?}");
    }
    // The older v1alpha, which many tools still ask first.
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as Alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaAsk;
    let mut alpha = Alpha::new(channel(system.grpc_url(names::VESSEL).await).await);
    let request = AlphaRequest {
        host: String::new(),
        message_request: Some(AlphaAsk::ListServices(String::new())),
    };
    let mut answers = alpha
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    assert!(
        format!("{answer:?}").contains("shippy.vessel.VesselService"),
        "{answer:?}"
    );
    system.stop_all().await;
}
