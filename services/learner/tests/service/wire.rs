//! Issue #15, item 9: requests tonic refuses before a handler runs get
//! the caller's codes: bytes that are not protobuf of the method's type,
//! strings that are not UTF-8 → INVALID_ARGUMENT (not INTERNAL); a message
//! over the size limit → RESOURCE_EXHAUSTED (not OUT_OF_RANGE). Each with
//! the `ErrorInfo` every refusal carries.

use academy_proto::learner::Learner;
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use crate::common::*;

on_both_backends!(bad_wire_input_gets_client_side_codes);

/// GetLearnerRequest's `id` (field 1) as raw bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct RawId {
    #[prost(bytes = "vec", tag = "1")]
    id: Vec<u8>,
}

/// Field 1 as a varint where a string belongs.
#[derive(Clone, PartialEq, prost::Message)]
struct WrongWireType {
    #[prost(uint64, tag = "1")]
    id: u64,
}

async fn call<M: prost::Message + Default + Send + Sync + 'static>(
    channel: Channel,
    message: M,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = PathAndQuery::from_static("/academy.learner.v1.LearnerService/GetLearner");
    grpc.unary(
        tonic::Request::new(message),
        path,
        tonic_prost::ProstCodec::<M, Learner>::default(),
    )
    .await
    .expect_err("refused")
}

fn assert_refused(status: &tonic::Status, code: Code) {
    assert_eq!(status.code(), code, "{status:?}");
    let shown = academy_testkit::hostile::judge_status("GetLearner", status);
    assert!(shown.is_ok(), "{shown:?}");
}

async fn bad_wire_input_gets_client_side_codes(db: TestDb) {
    let stack = Stack::start(db).await;
    let channel = || async {
        Channel::from_shared(format!("http://{}", stack.learner.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    };
    let not_utf8 = call(
        channel().await,
        RawId {
            id: vec![0xff, 0xfe, 0x41],
        },
    )
    .await;
    assert_refused(&not_utf8, Code::InvalidArgument);
    let wrong_type = call(channel().await, WrongWireType { id: 7 }).await;
    assert_refused(&wrong_type, Code::InvalidArgument);
    let huge = call(
        channel().await,
        RawId {
            id: vec![b'a'; 5 * 1024 * 1024],
        },
    )
    .await;
    assert_refused(&huge, Code::ResourceExhausted);
    // The service still answers properly.
    registered(&stack, "after.wire@example.az").await;
}
