//! Binary compatibility against an encoder we did not write: `protoc
//! --encode` turns text-format messages into wire bytes which prost must
//! decode to the expected values, and `protoc --decode` must read prost's
//! bytes back to the same text. Together with `proto_facts.rs` (our
//! declarations equal Mesos's) this shows the generated types speak the
//! Mesos wire format. protoc comes from `ci/setup`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mesos_common::proto::{internal, v0, v1};
use prost::Message;

fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proto")
}

fn protoc(mode: &str, type_name: &str, file: &str, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(std::env::var("PROTOC").unwrap_or_else(|_| "protoc".into()))
        .arg(format!("-I{}", proto_dir().display()))
        .arg(format!("--{mode}={type_name}"))
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("protoc is installed (ci/setup)");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn protoc_encoded_scheduler_subscribe_decodes() {
    let text = r#"
        type: SUBSCRIBE
        subscribe {
          framework_info {
            user: "root" name: "fw" roles: "web" failover_timeout: 604800
            capabilities { type: MULTI_ROLE } checkpoint: true
          }
          suppressed_roles: "web"
        }"#;
    let bytes = protoc(
        "encode",
        "mesos.v1.scheduler.Call",
        "mesos/v1/scheduler/scheduler.proto",
        text.as_bytes(),
    );
    let call = v1::scheduler::Call::decode(bytes.as_slice()).unwrap();
    assert_eq!(call.r#type(), v1::scheduler::call::Type::Subscribe);
    let sub = call.subscribe.as_ref().unwrap();
    assert_eq!(sub.framework_info.user, "root");
    assert_eq!(sub.framework_info.failover_timeout, Some(604800.0));
    assert_eq!(sub.framework_info.checkpoint, Some(true));
    assert_eq!(
        sub.framework_info.capabilities[0].r#type(),
        v1::framework_info::capability::Type::MultiRole
    );
    assert_eq!(sub.suppressed_roles, vec!["web"]);
    // Same field order and encoding as protoc's: byte-identical output.
    assert_eq!(call.encode_to_vec(), bytes);
}

#[test]
fn protoc_encoded_internal_messages_decode() {
    let text = r#"
        slave {
          hostname: "agent-1" port: 5051
          resources { name: "cpus" type: SCALAR scalar { value: 4 } }
          resources { name: "ports" type: RANGES ranges { range { begin: 31000 end: 32000 } } }
          attributes { name: "rack" type: TEXT text { value: "r1" } }
          id { value: "S1" }
        }
        version: "1.11.0"
        agent_capabilities { type: MULTI_ROLE }
    "#;
    let bytes = protoc(
        "encode",
        "mesos.internal.RegisterSlaveMessage",
        "messages/messages.proto",
        text.as_bytes(),
    );
    let msg = internal::RegisterSlaveMessage::decode(bytes.as_slice()).unwrap();
    assert_eq!(msg.slave.hostname, "agent-1");
    assert_eq!(msg.slave.port, Some(5051));
    assert_eq!(
        msg.slave.resources[1].ranges.as_ref().unwrap().range[0].end,
        32000
    );
    assert_eq!(msg.slave.attributes[0].text.as_ref().unwrap().value, "r1");
    assert_eq!(msg.version.as_deref(), Some("1.11.0"));
    assert_eq!(msg.encode_to_vec(), bytes);
}

#[test]
fn protoc_reads_what_prost_writes() {
    let update = internal::StatusUpdateMessage {
        update: internal::StatusUpdate {
            framework_id: v0::FrameworkId { value: "f".into() },
            slave_id: Some(v0::SlaveId { value: "S1".into() }),
            status: v0::TaskStatus {
                task_id: v0::TaskId { value: "t".into() },
                state: v0::TaskState::TaskFinished as i32,
                uuid: Some(vec![0xff, 0x00, 0x10]),
                ..Default::default()
            },
            timestamp: 1.5,
            uuid: Some(vec![1, 2, 3]),
            ..Default::default()
        },
        pid: Some("slave(1)@127.0.0.1:5051".into()),
    };
    let text = protoc(
        "decode",
        "mesos.internal.StatusUpdateMessage",
        "messages/messages.proto",
        &update.encode_to_vec(),
    );
    let text = String::from_utf8(text).unwrap();
    for needle in [
        "framework_id {\n    value: \"f\"\n  }",
        "state: TASK_FINISHED",
        "uuid: \"\\377\\000\\020\"",
        "timestamp: 1.5",
        "pid: \"slave(1)@127.0.0.1:5051\"",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
}
