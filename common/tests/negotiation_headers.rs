//! Content negotiation as libprocess `Request::_acceptsMediaType` and the
//! Mesos API handlers do it, and the per-type message codec.

use mesos_common::http::negotiation::{
    AgentApiHeaders, AgentApiMediaTypes, NegotiationError, accepts_media_type,
    agent_api_media_types, request_content_type, response_content_type,
};
use mesos_common::http::{
    APPLICATION_JSON, APPLICATION_PROTOBUF, APPLICATION_RECORDIO, CodecError, ContentType,
};
use mesos_common::proto::v1;
use mesos_common::recordio;

#[test]
fn content_type_is_compared_exactly() {
    assert_eq!(
        request_content_type(Some("application/json")),
        Ok(ContentType::Json)
    );
    assert_eq!(
        request_content_type(Some("application/x-protobuf")),
        Ok(ContentType::Protobuf)
    );
    assert_eq!(
        request_content_type(None),
        Err(NegotiationError::MissingContentType)
    );
    for refused in [
        "application/json; charset=utf-8",
        "Application/JSON",
        " application/json",
        "application/recordio",
        "text/plain",
        "",
    ] {
        let e = request_content_type(Some(refused)).unwrap_err();
        assert_eq!(e.status(), 415, "{refused:?}");
    }
    assert_eq!(NegotiationError::MissingContentType.status(), 400);
    assert_eq!(
        request_content_type(Some("text/plain"))
            .unwrap_err()
            .to_string(),
        "Expecting 'Content-Type' of application/json or application/x-protobuf"
    );
}

#[test]
fn accept_matching_follows_libprocess() {
    let json = APPLICATION_JSON;
    // No header: anything goes. Empty header: nothing does.
    assert!(accepts_media_type(None, json));
    assert!(!accepts_media_type(Some(""), json));
    assert!(accepts_media_type(Some("application/json"), json));
    assert!(accepts_media_type(Some("APPLICATION/JSON"), json));
    assert!(accepts_media_type(Some("application/*"), json));
    assert!(accepts_media_type(Some("*/*"), json));
    assert!(accepts_media_type(
        Some("text/html, application/json;q=0.1"),
        json
    ));
    assert!(!accepts_media_type(Some("text/html"), json));
    assert!(!accepts_media_type(Some("application/x-protobuf"), json));
    // q=0 excludes; the exact match is looked at before wildcards.
    assert!(!accepts_media_type(Some("application/json;q=0"), json));
    assert!(!accepts_media_type(
        Some("application/json; q=0.0, */*"),
        json
    ));
    assert!(accepts_media_type(Some("application/json;q=0.001"), json));
    assert!(!accepts_media_type(Some("*/*;q=0"), json));
    assert!(!accepts_media_type(Some("application/*;q=0, */*"), json));
    // Malformed or repeated q values count as "no q value" (accept).
    assert!(accepts_media_type(Some("application/json;q"), json));
    assert!(accepts_media_type(Some("application/json;q=0;q=0"), json));
    assert!(!accepts_media_type(Some("application/json;q=abc"), json));
    // Whitespace anywhere is ignored.
    assert!(accepts_media_type(
        Some(" application / json ; q = 1 "),
        json
    ));
    // The media type asked about must be type/subtype.
    assert!(!accepts_media_type(None, "json"));
}

#[test]
fn responses_prefer_json_then_protobuf() {
    assert_eq!(response_content_type(None), Ok(ContentType::Json));
    assert_eq!(response_content_type(Some("*/*")), Ok(ContentType::Json));
    assert_eq!(
        response_content_type(Some("application/x-protobuf")),
        Ok(ContentType::Protobuf)
    );
    assert_eq!(
        response_content_type(Some("application/json;q=0,application/x-protobuf")),
        Ok(ContentType::Protobuf)
    );
    let e = response_content_type(Some("text/html")).unwrap_err();
    assert_eq!(e.status(), 406);
    assert!(matches!(e, NegotiationError::NotAcceptable { .. }));
}

fn agent(h: AgentApiHeaders<'_>) -> Result<AgentApiMediaTypes, NegotiationError> {
    agent_api_media_types(h)
}

#[test]
fn agent_api_streaming_headers() {
    // Plain request, no Accept: JSON both ways.
    let t = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_PROTOBUF),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        (t.content, t.accept, t.message_content, t.message_accept),
        (ContentType::Protobuf, ContentType::Json, None, None)
    );

    // Streaming request: Message-Content-Type is required and checked.
    let t = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_RECORDIO),
        message_content_type: Some(APPLICATION_JSON),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        (t.content, t.message_content),
        (ContentType::RecordIo, Some(ContentType::Json))
    );
    let missing = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_RECORDIO),
        ..Default::default()
    });
    assert_eq!(missing, Err(NegotiationError::MissingMessageContentType));
    assert_eq!(NegotiationError::MissingMessageContentType.status(), 400);
    let bad = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_RECORDIO),
        message_content_type: Some(APPLICATION_RECORDIO),
        ..Default::default()
    });
    assert_eq!(bad.map_err(|e| e.status()), Err(415));
    // ... and refused on a non-streaming request.
    let unexpected = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_JSON),
        message_content_type: Some(APPLICATION_JSON),
        ..Default::default()
    });
    assert_eq!(
        unexpected,
        Err(NegotiationError::UnexpectedMessageContentType)
    );

    // Streaming response: Message-Accept decides the record type.
    let t = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_JSON),
        accept: Some(APPLICATION_RECORDIO),
        message_accept: Some(APPLICATION_PROTOBUF),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        (t.accept, t.message_accept),
        (ContentType::RecordIo, Some(ContentType::Protobuf))
    );
    let t = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_JSON),
        accept: Some(APPLICATION_RECORDIO),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        t.message_accept,
        Some(ContentType::Json),
        "no Message-Accept means JSON"
    );
    let refused = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_JSON),
        accept: Some(APPLICATION_RECORDIO),
        message_accept: Some("text/plain"),
        ..Default::default()
    });
    assert_eq!(refused, Err(NegotiationError::MessageNotAcceptable));
    let unexpected = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_JSON),
        message_accept: Some(APPLICATION_JSON),
        ..Default::default()
    });
    assert_eq!(unexpected.map_err(|e| e.status()), Err(406));
    let nothing = agent(AgentApiHeaders {
        content_type: Some(APPLICATION_JSON),
        accept: Some("text/html"),
        ..Default::default()
    });
    assert_eq!(nothing.map_err(|e| e.status()), Err(406));
}

#[test]
fn codec_encodes_and_decodes_each_type() {
    let event = v1::scheduler::Event {
        r#type: Some(v1::scheduler::event::Type::Heartbeat as i32),
        ..Default::default()
    };
    let json = ContentType::Json.encode(&event).unwrap();
    assert_eq!(json, br#"{"type":"HEARTBEAT"}"#);
    assert_eq!(
        ContentType::Json
            .decode::<v1::scheduler::Event>(&json)
            .unwrap(),
        event
    );
    let proto = ContentType::Protobuf.encode(&event).unwrap();
    assert_eq!(proto, [0x08, 0x08]);
    assert_eq!(
        ContentType::Protobuf
            .decode::<v1::scheduler::Event>(&proto)
            .unwrap(),
        event
    );

    // Event streams frame each message as a RecordIO record.
    let record = ContentType::Json.encode_record(&event).unwrap();
    assert_eq!(record, b"20\n{\"type\":\"HEARTBEAT\"}");
    let mut decoder = recordio::Decoder::new(1024);
    let records = decoder.decode(&record).unwrap();
    assert_eq!(
        ContentType::Json
            .decode::<v1::scheduler::Event>(&records[0])
            .unwrap(),
        event
    );

    assert!(matches!(
        ContentType::RecordIo.encode(&event),
        Err(CodecError::Streaming)
    ));
    assert!(matches!(
        ContentType::RecordIo.decode::<v1::scheduler::Event>(b""),
        Err(CodecError::Streaming)
    ));
    assert!(matches!(
        ContentType::Json.decode::<v1::scheduler::Event>(b"{"),
        Err(CodecError::Json(_))
    ));
    assert_eq!(
        ContentType::from_exact("application/recordio"),
        Some(ContentType::RecordIo)
    );
    assert_eq!(ContentType::Protobuf.to_string(), "application/x-protobuf");
}
