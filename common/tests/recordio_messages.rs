//! Event streams: RecordIO-framed messages in either media type, decoded
//! from arbitrary chunks.

use mesos_common::http::{ContentType, MessageStreamDecoder, StreamError};
use mesos_common::proto::v1;
use mesos_common::recordio::RecordIoError;

fn events() -> Vec<v1::scheduler::Event> {
    let subscribed = v1::scheduler::Event {
        r#type: Some(v1::scheduler::event::Type::Subscribed as i32),
        subscribed: Some(v1::scheduler::event::Subscribed {
            framework_id: v1::FrameworkId {
                value: "f-1".into(),
            },
            heartbeat_interval_seconds: Some(15.0),
            master_info: None,
        }),
        ..Default::default()
    };
    let heartbeat = v1::scheduler::Event {
        r#type: Some(v1::scheduler::event::Type::Heartbeat as i32),
        ..Default::default()
    };
    vec![subscribed, heartbeat.clone(), heartbeat]
}

#[test]
fn streams_decode_from_any_chunking_in_both_types() {
    for content in [ContentType::Json, ContentType::Protobuf] {
        let stream: Vec<u8> = events()
            .iter()
            .flat_map(|e| content.encode_record(e).unwrap())
            .collect();
        for chunk_size in [1, 2, 7, stream.len()] {
            let mut decoder = MessageStreamDecoder::<v1::scheduler::Event>::new(content, 1024);
            let mut got = Vec::new();
            for chunk in stream.chunks(chunk_size) {
                got.extend(decoder.decode(chunk).unwrap());
            }
            decoder.finish().unwrap();
            assert_eq!(got, events(), "{content} in chunks of {chunk_size}");
        }
    }
    // The master's SUBSCRIBED record, byte for byte.
    let first = ContentType::Json.encode_record(&events()[0]).unwrap();
    assert_eq!(
        String::from_utf8(first).unwrap(),
        "101\n{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"f-1\"},\"heartbeat_interval_seconds\":15.0}}"
    );
}

#[test]
fn bad_records_and_framing_are_typed_errors() {
    let mut decoder = MessageStreamDecoder::<v1::scheduler::Event>::new(ContentType::Json, 1024);
    let good = ContentType::Json.encode_record(&events()[1]).unwrap();
    assert_eq!(decoder.decode(&good).unwrap().len(), 1);
    match decoder.decode(b"5\n{\"ty\"") {
        Err(StreamError::Message { index, .. }) => assert_eq!(index, 1),
        other => panic!("{other:?}"),
    }

    let mut decoder = MessageStreamDecoder::<v1::scheduler::Event>::new(ContentType::Protobuf, 8);
    assert!(matches!(
        decoder.decode(b"9\n"),
        Err(StreamError::Framing(RecordIoError::RecordTooLarge {
            length: 9,
            max: 8
        }))
    ));
    let mut decoder = MessageStreamDecoder::<v1::scheduler::Event>::new(ContentType::Protobuf, 8);
    decoder.decode(b"4\n\x08").unwrap();
    assert!(matches!(
        decoder.finish(),
        Err(StreamError::Framing(RecordIoError::TruncatedRecord {
            received: 1,
            length: 4
        }))
    ));
}
