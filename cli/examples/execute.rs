//! Runs one command task on a cluster, like Mesos's `mesos-execute`, through
//! the v1 scheduler HTTP API (the client of `mesos_agent::executor::http_client`):
//! subscribe, take the first offer that fits, launch, print every status
//! update (acknowledging it), tear down once the task is done.
//!
//! ```sh
//! cargo run -p mesos-cli --example execute -- --master=127.0.0.1:5050 --command='echo hello'
//! ```

use std::net::SocketAddr;

use bytes::Bytes;
use mesos_agent::executor::http_client::{EventStream, HttpConnection};
use mesos_common::http::ContentType;
use mesos_common::proto::v1;
use mesos_common::proto::v1::scheduler::{call, event};

const PROTOBUF: &str = "application/x-protobuf";

struct Args {
    master: SocketAddr,
    command: String,
    name: String,
    cpus: f64,
    mem: f64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        master: "127.0.0.1:5050".parse().map_err(|e| format!("{e}"))?,
        command: "echo hello from mesos-rs".into(),
        name: "mesos-execute".into(),
        cpus: 0.1,
        mem: 32.0,
    };
    for arg in std::env::args().skip(1) {
        let (k, v) = arg
            .split_once('=')
            .ok_or_else(|| format!("expected --name=value, got '{arg}'"))?;
        match k {
            "--master" => a.master = v.parse().map_err(|e| format!("--master: {e}"))?,
            "--command" => a.command = v.into(),
            "--name" => a.name = v.into(),
            "--cpus" => a.cpus = v.parse().map_err(|e| format!("--cpus: {e}"))?,
            "--mem" => a.mem = v.parse().map_err(|e| format!("--mem: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn scalar(name: &str, value: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value }),
        ..Default::default()
    }
}

fn fits(offer: &v1::Offer, name: &str, want: f64) -> bool {
    let have: f64 = offer
        .resources
        .iter()
        .filter(|r| r.name == name && r.reservations.is_empty())
        .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
        .sum();
    have >= want
}

async fn post(
    conn: &mut HttpConnection,
    stream_id: &str,
    call: &v1::scheduler::Call,
) -> Result<(), String> {
    let body = Bytes::from(prost::Message::encode_to_vec(call));
    conn.call(
        "/api/v1/scheduler",
        &[("Content-Type", PROTOBUF), ("Mesos-Stream-Id", stream_id)],
        body,
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

async fn run(a: Args) -> Result<i32, String> {
    let framework = v1::FrameworkInfo {
        user: String::new(),
        name: a.name.clone(),
        ..Default::default()
    };
    let subscribe = v1::scheduler::Call {
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe {
            framework_info: framework,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut events_conn = HttpConnection::connect(a.master)
        .await
        .map_err(|e| e.to_string())?;
    let response = events_conn
        .post(
            "/api/v1/scheduler",
            &[("Content-Type", PROTOBUF), ("Accept", PROTOBUF)],
            Bytes::from(prost::Message::encode_to_vec(&subscribe)),
        )
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("SUBSCRIBE answered {}", response.status()));
    }
    let stream_id = response
        .headers()
        .get("Mesos-Stream-Id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut events: EventStream<v1::scheduler::Event> =
        EventStream::new(response.into_body(), ContentType::Protobuf);
    let mut calls = HttpConnection::connect(a.master)
        .await
        .map_err(|e| e.to_string())?;
    let mut framework_id = None;
    let mut launched = false;
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| e.to_string())?;
        match event.r#type.and_then(|t| event::Type::try_from(t).ok()) {
            Some(event::Type::Subscribed) => {
                let id = event.subscribed.map(|s| s.framework_id).unwrap_or_default();
                println!("subscribed as framework {}", id.value);
                framework_id = Some(id);
            }
            Some(event::Type::Offers) => {
                let Some(fid) = framework_id.clone() else {
                    continue;
                };
                for offer in event.offers.map(|o| o.offers).unwrap_or_default() {
                    let take =
                        !launched && fits(&offer, "cpus", a.cpus) && fits(&offer, "mem", a.mem);
                    let mut c = v1::scheduler::Call {
                        framework_id: Some(fid.clone()),
                        ..Default::default()
                    };
                    if take {
                        launched = true;
                        let task = v1::TaskInfo {
                            name: a.name.clone(),
                            task_id: v1::TaskId {
                                value: format!("{}-1", a.name),
                            },
                            agent_id: offer.agent_id.clone(),
                            resources: vec![scalar("cpus", a.cpus), scalar("mem", a.mem)],
                            command: Some(v1::CommandInfo {
                                value: Some(a.command.clone()),
                                ..Default::default()
                            }),
                            ..Default::default()
                        };
                        println!(
                            "launching '{}' on agent {}",
                            a.command, offer.agent_id.value
                        );
                        c.r#type = Some(call::Type::Accept as i32);
                        c.accept = Some(call::Accept {
                            offer_ids: vec![offer.id.clone()],
                            operations: vec![v1::offer::Operation {
                                r#type: Some(v1::offer::operation::Type::Launch as i32),
                                launch: Some(v1::offer::operation::Launch {
                                    task_infos: vec![task],
                                }),
                                ..Default::default()
                            }],
                            filters: None,
                        });
                    } else {
                        c.r#type = Some(call::Type::Decline as i32);
                        c.decline = Some(call::Decline {
                            offer_ids: vec![offer.id.clone()],
                            filters: None,
                        });
                    }
                    post(&mut calls, &stream_id, &c).await?;
                }
            }
            Some(event::Type::Update) => {
                let Some(status) = event.update.map(|u| u.status) else {
                    continue;
                };
                let state = v1::TaskState::try_from(status.state).map_or("?", |s| s.as_str_name());
                println!(
                    "task {} is {state}{}",
                    status.task_id.value,
                    status
                        .message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                );
                let Some(fid) = framework_id.clone() else {
                    continue;
                };
                if let Some(uuid) = status.uuid.clone() {
                    let ack = v1::scheduler::Call {
                        framework_id: Some(fid.clone()),
                        r#type: Some(call::Type::Acknowledge as i32),
                        acknowledge: Some(call::Acknowledge {
                            agent_id: status.agent_id.clone().unwrap_or_default(),
                            task_id: status.task_id.clone(),
                            uuid,
                        }),
                        ..Default::default()
                    };
                    post(&mut calls, &stream_id, &ack).await?;
                }
                let terminal = matches!(
                    v1::TaskState::try_from(status.state),
                    Ok(v1::TaskState::TaskFinished
                        | v1::TaskState::TaskFailed
                        | v1::TaskState::TaskKilled
                        | v1::TaskState::TaskLost
                        | v1::TaskState::TaskError
                        | v1::TaskState::TaskDropped
                        | v1::TaskState::TaskGone)
                );
                if terminal {
                    let teardown = v1::scheduler::Call {
                        framework_id: Some(fid),
                        r#type: Some(call::Type::Teardown as i32),
                        ..Default::default()
                    };
                    post(&mut calls, &stream_id, &teardown).await?;
                    return Ok(if status.state == v1::TaskState::TaskFinished as i32 {
                        0
                    } else {
                        1
                    });
                }
            }
            Some(event::Type::Error) => {
                return Err(format!(
                    "error from the master: {:?}",
                    event.error.map(|e| e.message)
                ));
            }
            _ => {}
        }
    }
    Err("the master closed the subscription".into())
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("execute: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match rt.block_on(run(a)) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("execute: {e}");
            std::process::exit(1);
        }
    }
}
