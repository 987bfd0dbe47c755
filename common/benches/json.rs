//! JSON figures for a `/master/state`-sized cluster (a program, not a timed
//! test; run in release):
//!
//! ```text
//! cargo bench -p mesos-common --bench json            # 20,000 agents
//! cargo bench -p mesos-common --bench json -- --agents 2000 --runs 3
//! ```
//!
//! The cluster: N agents (cpus, mem, disk, 16 port ranges, 3 attributes),
//! 10 running and 10 completed tasks per agent spread over 100 frameworks,
//! each task with its resources and status history. Measured, median of
//! `--runs`:
//! - `state_writer`: the hand-built `/master/state` document Mesos makes with
//!   jsonify writers, through `JsonWriter`;
//! - `get_state_encode`: the same cluster as a v1 `master.Response`
//!   GET_STATE, through the descriptor-driven protobuf -> JSON encoder;
//! - `get_state_decode`: that JSON back into the typed message;
//! - `get_state_protobuf_encode`: plain prost encoding, for scale.
//!
//! Each figure prints as text and as one JSON line.

use std::time::Instant;

use mesos_common::json::{self, JsonWriter};
use mesos_common::proto::v1;
use prost::Message;

const FRAMEWORKS: usize = 100;
const RUNNING_PER_AGENT: usize = 10;
const COMPLETED_PER_AGENT: usize = 10;
const PORT_RANGES_PER_AGENT: u64 = 16;

struct Args {
    agents: usize,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        agents: 20_000,
        runs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse().ok());
        match flag.as_str() {
            "--agents" => a.agents = value().unwrap_or(a.agents),
            "--runs" => a.runs = value().unwrap_or(a.runs).max(1),
            // `cargo bench` passes --bench; ignore anything else.
            _ => {}
        }
    }
    a
}

fn scalar(name: &str, value: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value }),
        ..Default::default()
    }
}

fn ports(first: u64, count: u64) -> v1::Resource {
    v1::Resource {
        name: "ports".into(),
        r#type: v1::value::Type::Ranges as i32,
        ranges: Some(v1::value::Ranges {
            range: (0..count)
                .map(|i| v1::value::Range {
                    begin: first + i * 100,
                    end: first + i * 100 + 49,
                })
                .collect(),
        }),
        ..Default::default()
    }
}

fn text_attribute(name: &str, value: String) -> v1::Attribute {
    v1::Attribute {
        name: name.into(),
        r#type: v1::value::Type::Text as i32,
        text: Some(v1::value::Text { value }),
        ..Default::default()
    }
}

fn status(task: &v1::TaskId, agent: &v1::AgentId, state: v1::TaskState, t: f64) -> v1::TaskStatus {
    v1::TaskStatus {
        task_id: task.clone(),
        state: state as i32,
        source: Some(v1::task_status::Source::Executor as i32),
        agent_id: Some(agent.clone()),
        timestamp: Some(t),
        uuid: Some(vec![0xab; 16]),
        container_status: Some(v1::ContainerStatus {
            container_id: Some(v1::ContainerId {
                value: format!("{}-container", task.value),
                parent: None,
            }),
            network_infos: vec![v1::NetworkInfo {
                ip_addresses: vec![v1::network_info::IpAddress {
                    ip_address: Some("10.1.2.3".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

struct Cluster {
    agents: Vec<v1::master::response::get_agents::Agent>,
    frameworks: Vec<v1::master::response::get_frameworks::Framework>,
    tasks: Vec<v1::Task>,
    completed_tasks: Vec<v1::Task>,
}

fn cluster(n: usize) -> Cluster {
    let frameworks = (0..FRAMEWORKS)
        .map(|f| v1::master::response::get_frameworks::Framework {
            framework_info: v1::FrameworkInfo {
                user: "root".into(),
                name: format!("framework-{f}"),
                id: Some(v1::FrameworkId {
                    value: format!("fw-{f:04}"),
                }),
                roles: vec![format!("role-{}", f % 3)],
                hostname: Some("scheduler.example.com".into()),
                capabilities: vec![v1::framework_info::Capability {
                    r#type: Some(v1::framework_info::capability::Type::MultiRole as i32),
                }],
                ..Default::default()
            },
            active: true,
            connected: true,
            recovered: false,
            registered_time: Some(v1::TimeInfo {
                nanoseconds: 1_500_000_000_000_000_000,
            }),
            ..Default::default()
        })
        .collect();

    let mut agents = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n * RUNNING_PER_AGENT);
    let mut completed = Vec::with_capacity(n * COMPLETED_PER_AGENT);
    for a in 0..n {
        let agent_id = v1::AgentId {
            value: format!("a7b3c1d2-0000-4000-8000-{a:012}-S{a}"),
        };
        agents.push(v1::master::response::get_agents::Agent {
            agent_info: v1::AgentInfo {
                hostname: format!("agent-{a}.example.com"),
                port: Some(5051),
                id: Some(agent_id.clone()),
                resources: vec![
                    scalar("cpus", 32.0),
                    scalar("mem", 257_536.0),
                    scalar("disk", 1_869_410.0),
                    ports(31_000, PORT_RANGES_PER_AGENT),
                ],
                attributes: vec![
                    text_attribute("rack", format!("rack-{}", a % 40)),
                    text_attribute("zone", format!("zone-{}", a % 3)),
                    text_attribute("os", "debian-12".into()),
                ],
                ..Default::default()
            },
            active: true,
            version: "1.11.0".into(),
            pid: Some(format!("slave(1)@10.0.{}.{}:5051", a / 250, a % 250)),
            registered_time: Some(v1::TimeInfo {
                nanoseconds: 1_500_000_000_000_000_000 + a as i64,
            }),
            total_resources: vec![scalar("cpus", 32.0), scalar("mem", 257_536.0)],
            allocated_resources: vec![scalar("cpus", 1.0), scalar("mem", 320.0)],
            capabilities: vec![v1::agent_info::Capability {
                r#type: Some(v1::agent_info::capability::Type::MultiRole as i32),
            }],
            ..Default::default()
        });
        for t in 0..RUNNING_PER_AGENT + COMPLETED_PER_AGENT {
            let running = t < RUNNING_PER_AGENT;
            let task_id = v1::TaskId {
                value: format!("task-{a}-{t}.f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
            };
            let f = (a * 7 + t) % FRAMEWORKS;
            let mut statuses = vec![
                status(&task_id, &agent_id, v1::TaskState::TaskStarting, 1.5e9),
                status(
                    &task_id,
                    &agent_id,
                    v1::TaskState::TaskRunning,
                    1.5e9 + 0.25,
                ),
            ];
            if !running {
                statuses.push(status(
                    &task_id,
                    &agent_id,
                    v1::TaskState::TaskFinished,
                    1.5e9 + 60.5,
                ));
            }
            let task = v1::Task {
                name: format!("web-{t}"),
                task_id: task_id.clone(),
                framework_id: v1::FrameworkId {
                    value: format!("fw-{f:04}"),
                },
                executor_id: Some(v1::ExecutorId {
                    value: task_id.value.clone(),
                }),
                agent_id: agent_id.clone(),
                state: if running {
                    v1::TaskState::TaskRunning
                } else {
                    v1::TaskState::TaskFinished
                } as i32,
                resources: vec![
                    scalar("cpus", 0.1),
                    scalar("mem", 32.0),
                    ports(31_000 + t as u64, 1),
                ],
                statuses,
                status_update_state: Some(v1::TaskState::TaskRunning as i32),
                status_update_uuid: Some(vec![0xcd; 16]),
                ..Default::default()
            };
            if running {
                tasks.push(task);
            } else {
                completed.push(task);
            }
        }
    }
    Cluster {
        agents,
        frameworks,
        tasks,
        completed_tasks: completed,
    }
}

/// Mesos's `/master/state` resources form: `{"cpus":32.0,"ports":"[...]"}`.
fn write_resources(w: &mut JsonWriter, resources: &[v1::Resource]) {
    w.object(|w| {
        for r in resources {
            w.key(&r.name);
            if let Some(s) = &r.scalar {
                w.f64(s.value);
            } else if let Some(ranges) = &r.ranges {
                let mut text = String::from("[");
                for (i, range) in ranges.range.iter().enumerate() {
                    if i > 0 {
                        text.push_str(", ");
                    }
                    text.push_str(&format!("{}-{}", range.begin, range.end));
                }
                text.push(']');
                w.string(&text);
            }
        }
    });
}

fn write_task(w: &mut JsonWriter, t: &v1::Task) {
    w.object(|w| {
        w.field_str("id", &t.task_id.value);
        w.field_str("name", &t.name);
        w.field_str("framework_id", &t.framework_id.value);
        w.field_str(
            "executor_id",
            t.executor_id.as_ref().map_or("", |e| &e.value),
        );
        w.field_str("slave_id", &t.agent_id.value);
        w.field_str("state", t.state().as_str_name());
        w.key("resources");
        write_resources(w, &t.resources);
        w.key("statuses").array(|w| {
            for s in &t.statuses {
                w.object(|w| {
                    w.field_str("state", s.state().as_str_name());
                    w.field_f64("timestamp", s.timestamp.unwrap_or_default());
                    if let Some(c) = &s.container_status {
                        w.key("container_status").message(c);
                    }
                });
            }
        });
    });
}

/// The `/master/state` document, built the way Mesos's jsonify writers do.
fn state_document(c: &Cluster) -> Vec<u8> {
    let mut w = JsonWriter::with_capacity(1 << 20);
    w.object(|w| {
        w.field_str("version", "1.11.0");
        w.field_str("id", "master-0");
        w.field_str("pid", "master@10.0.0.1:5050");
        w.field_str("hostname", "master.example.com");
        w.field_u64("activated_slaves", c.agents.len() as u64);
        w.key("slaves").array(|w| {
            for a in &c.agents {
                w.object(|w| {
                    let info = &a.agent_info;
                    w.field_str("id", info.id.as_ref().map_or("", |i| &i.value));
                    w.field_str("pid", a.pid.as_deref().unwrap_or(""));
                    w.field_str("hostname", &info.hostname);
                    w.field_i64("port", i64::from(info.port.unwrap_or(5051)));
                    w.field_f64("registered_time", 1.5e9);
                    w.key("resources");
                    write_resources(w, &info.resources);
                    w.key("used_resources");
                    write_resources(w, &a.allocated_resources);
                    w.key("attributes").object(|w| {
                        for attr in &info.attributes {
                            w.field_str(&attr.name, attr.text.as_ref().map_or("", |t| &t.value));
                        }
                    });
                    w.field_bool("active", a.active);
                    w.field_str("version", &a.version);
                });
            }
        });
        // Tasks grouped under their frameworks, as /master/state does.
        let mut running: Vec<Vec<&v1::Task>> = vec![Vec::new(); FRAMEWORKS];
        let mut done: Vec<Vec<&v1::Task>> = vec![Vec::new(); FRAMEWORKS];
        for t in &c.tasks {
            running[framework_index(t)].push(t);
        }
        for t in &c.completed_tasks {
            done[framework_index(t)].push(t);
        }
        w.key("frameworks").array(|w| {
            for (i, f) in c.frameworks.iter().enumerate() {
                w.object(|w| {
                    let info = &f.framework_info;
                    w.field_str("id", info.id.as_ref().map_or("", |i| &i.value));
                    w.field_str("name", &info.name);
                    w.field_str("user", &info.user);
                    w.field_bool("active", f.active);
                    w.key("tasks")
                        .array(|w| running[i].iter().for_each(|t| write_task(w, t)));
                    w.key("completed_tasks")
                        .array(|w| done[i].iter().for_each(|t| write_task(w, t)));
                });
            }
        });
    });
    w.into_bytes()
}

fn framework_index(t: &v1::Task) -> usize {
    t.framework_id.value[3..].parse().unwrap_or(0) % FRAMEWORKS
}

fn get_state(c: Cluster) -> v1::master::Response {
    use v1::master::response;
    v1::master::Response {
        r#type: Some(response::Type::GetState as i32),
        get_state: Some(response::GetState {
            get_tasks: Some(response::GetTasks {
                tasks: c.tasks,
                completed_tasks: c.completed_tasks,
                ..Default::default()
            }),
            get_executors: None,
            get_frameworks: Some(response::GetFrameworks {
                frameworks: c.frameworks,
                ..Default::default()
            }),
            get_agents: Some(response::GetAgents {
                agents: c.agents,
                recovered_agents: Vec::new(),
            }),
        }),
        ..Default::default()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times `f` `runs` times; returns (median seconds, bytes of the last run).
fn measure(runs: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        bytes = f();
        times.push(start.elapsed().as_secs_f64());
    }
    (median(times), bytes)
}

fn report(bench: &str, agents: usize, runs: usize, seconds: f64, bytes: usize) {
    let mb = bytes as f64 / 1e6;
    let mb_per_s = mb / seconds;
    println!(
        "{bench:<28} agents={agents} size={mb:.1} MB median={:.1} ms throughput={mb_per_s:.0} MB/s (median of {runs})",
        seconds * 1e3
    );
    println!(
        "{{\"bench\":\"{bench}\",\"agents\":{agents},\"bytes\":{bytes},\"median_ms\":{:.1},\"mb_per_s\":{mb_per_s:.1},\"runs\":{runs}}}",
        seconds * 1e3
    );
}

fn main() {
    let Args { agents, runs } = args();
    println!(
        "building a cluster of {agents} agents, {} running and {} completed tasks",
        agents * RUNNING_PER_AGENT,
        agents * COMPLETED_PER_AGENT
    );
    let c = cluster(agents);

    let (t, bytes) = measure(runs, || state_document(&c).len());
    report("state_writer", agents, runs, t, bytes);

    let response = get_state(c);
    let (t, bytes) = measure(runs, || json::to_vec(&response).len());
    report("get_state_encode", agents, runs, t, bytes);

    let (t, bytes) = measure(runs, || response.encode_to_vec().len());
    report("get_state_protobuf_encode", agents, runs, t, bytes);

    let text = json::to_vec(&response);
    let (t, bytes) = measure(runs, || {
        let back: v1::master::Response = json::from_slice(&text).expect("decodes");
        assert_eq!(back.r#type, response.r#type);
        text.len()
    });
    report("get_state_decode", agents, runs, t, bytes);
}
