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

/// Issue #15, item 8: grpcurl and grpcio send every message of a client
/// stream as its own small HTTP/2 DATA frame. With hyper's default windows
/// (1 MiB each) the frames a busy import had not read yet used up h2's
/// budget for small frames (half the connection window) and the server
/// closed the connection with GOAWAY ENHANCE_YOUR_CALM
/// "too_many_data_frames" part-way through a large import. A raw HTTP/2
/// client sends 60,000 rows that way here; all must be created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_sent_one_small_frame_per_row_completes() {
    use bytes::{BufMut, Bytes, BytesMut};
    use prost::Message;

    const ROWS: usize = 60_000;
    let stack = Stack::start_with(TestDb::sqlite(), |settings| {
        settings.import_batch_size = 500;
    })
    .await;
    let tcp = tokio::net::TcpStream::connect(stack.learner.addr)
        .await
        .unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://{}/academy.learner.v1.LearnerService/ImportLearners",
            stack.learner.addr
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    for i in 0..ROWS {
        let row = register(&format!("frame{i}@example.az")).encode_to_vec();
        let mut frame = BytesMut::with_capacity(row.len() + 5);
        frame.put_u8(0);
        frame.put_u32(u32::try_from(row.len()).unwrap());
        frame.put_slice(&row);
        let frame = frame.freeze();
        send.reserve_capacity(frame.len());
        while send.capacity() < frame.len() {
            match futures::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(_)) => {}
                other => panic!("the server stopped the import after {i} rows: {other:?}"),
            }
        }
        send.send_data(frame, false)
            .unwrap_or_else(|err| panic!("the server stopped the import after {i} rows: {err}"));
    }
    send.send_data(Bytes::new(), true).unwrap();
    let response = response.await.expect("an answer");
    let mut body = response.into_body();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body");
        body.flow_control().release_capacity(chunk.len()).unwrap();
        bytes.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await.unwrap().expect("trailers");
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.to_str().unwrap()),
        Some("0"),
        "{trailers:?}"
    );
    let reply = academy_proto::learner::ImportLearnersResponse::decode(&bytes[5..]).unwrap();
    assert_eq!(reply.created, i64::try_from(ROWS).unwrap(), "{reply:?}");
    connection.abort();
}
