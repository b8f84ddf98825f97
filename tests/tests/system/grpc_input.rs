//! Hostile bytes at the gRPC edge: a string field that is not UTF-8 and a message over the
//! size cap are refused with a clear status, and the service keeps serving.

use shippy_common::names;
use shippy_system_tests::System;
use tonic::client::Grpc;
use tonic::transport::Channel;
use tonic::{Code, Request};

/// `shippy.consignment.Consignment` with its text fields as raw bytes, so a test can send
/// what no well-behaved client would.
#[derive(Clone, PartialEq, prost::Message)]
struct RawConsignment {
    #[prost(bytes = "vec", tag = "2")]
    description: Vec<u8>,
    #[prost(int32, tag = "3")]
    weight: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct AnyResponse {}

async fn create(
    system: &System,
    token: &str,
    message: RawConsignment,
) -> Result<(), tonic::Status> {
    let channel = Channel::from_shared(system.grpc_url(names::CONSIGNMENT).await)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = Grpc::new(channel).max_encoding_message_size(64 << 20);
    grpc.ready().await.unwrap();
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let path = "/shippy.consignment.ShippingService/CreateConsignment"
        .parse()
        .unwrap();
    let codec = tonic_prost::ProstCodec::<RawConsignment, AnyResponse>::default();
    grpc.unary(request, path, codec).await.map(|_| ())
}

#[tokio::test]
async fn invalid_utf8_and_oversized_messages_are_refused_clearly() {
    let mut system = System::start().await;
    let token = system.rest_user("raw@example.com").await;

    let not_utf8 = RawConsignment {
        description: vec![0x66, 0xff, 0xfe, 0x6f],
        weight: 10,
    };
    let refused = create(&system, &token, not_utf8).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");

    let huge = RawConsignment {
        description: vec![b'x'; 8 << 20],
        weight: 10,
    };
    let refused = create(&system, &token, huge).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");

    let (status, _) = system
        .rest("GET", "/api/v1/consignments", Some(&token), None)
        .await;
    assert_eq!(status, 200, "the service still serves");
    system.stop_all().await;
}
