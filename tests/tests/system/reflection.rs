//! gRPC server reflection, v1 and v1alpha, on every service: a client that knows no shippy
//! `.proto` (as `grpcurl`, Evans or Postman) lists the services and reads the descriptor of
//! each method from the server alone, without a token; and Python's stock reflection client
//! (`grpcio-reflection`) lists them and calls one with a message built from those
//! descriptors alone.

use prost::Message;
use serde_json::{Value, json};
use shippy_common::names;
use shippy_system_tests::{System, venv_tool};
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

/// A client that knows no shippy `.proto`: for each service (`{"name": "host:port"}`), it
/// lists what the server offers over reflection (v1alpha, what `grpcio-reflection` asks);
/// then it reads `FindAvailable`'s descriptors from the vessel service, builds the request
/// from them by field name, and calls it with the user's token.
const REFLECTION_CLIENT: &str = r#"
import json, sys
import grpc
from google.protobuf import descriptor_pool
from google.protobuf.json_format import MessageToDict
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase)

targets, token = json.loads(sys.argv[1]), sys.argv[2]
services, found = {}, None
for name, target in targets.items():
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services[name] = sorted(database.get_services())
        if name != "vessel":
            continue
        pool = descriptor_pool.DescriptorPool(database)
        method = pool.FindMethodByName("shippy.vessel.VesselService.FindAvailable")
        request_class = GetMessageClass(method.input_type)
        response_class = GetMessageClass(method.output_type)
        call = channel.unary_unary(
            f"/{method.containing_service.full_name}/{method.name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString)
        answer = call(request_class(capacity=2, max_weight=100),
                      metadata=[("authorization", f"Bearer {token}")], timeout=30)
        found = MessageToDict(answer, preserving_proto_field_name=True)
print(json.dumps({"services": services, "found": found}))
"#;

#[tokio::test]
async fn a_stock_python_reflection_client_lists_every_service_and_finds_a_vessel() {
    let mut system = System::start().await;
    let token = system.rest_user("reflection@example.com").await;
    let mut targets = serde_json::Map::new();
    for (name, service) in [
        ("user", names::USER),
        ("vessel", names::VESSEL),
        ("consignment", names::CONSIGNMENT),
        ("log", names::LOG),
    ] {
        let url = system.grpc_url(service).await;
        let address = url.trim_start_matches("http://").to_owned();
        targets.insert(name.to_owned(), Value::String(address));
    }
    let python = venv_tool("python3");
    assert!(
        python.exists(),
        "{} is missing: run `make test-deps` (scripts/test-deps.sh)",
        python.display()
    );
    let out = tokio::process::Command::new(&python)
        .args([
            "-c",
            REFLECTION_CLIENT,
            &Value::Object(targets).to_string(),
            &token,
        ])
        .output()
        .await
        .unwrap();
    system.stop_all().await;
    assert!(
        out.status.success(),
        "the reflection client failed (grpcio-reflection missing? run `make test-deps`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (name, service) in [
        ("user", "shippy.user.UserService"),
        ("vessel", "shippy.vessel.VesselService"),
        ("consignment", "shippy.consignment.ShippingService"),
        ("log", "shippy.log.LogService"),
    ] {
        let listed = &answer["services"][name];
        for expected in [service, "grpc.health.v1.Health"] {
            assert!(
                listed.as_array().unwrap().contains(&json!(expected)),
                "{name} lists {listed}"
            );
        }
    }
    let vessel = &answer["found"]["vessel"];
    assert_eq!(vessel["id"], "vessel001", "{}", answer["found"]);
}
