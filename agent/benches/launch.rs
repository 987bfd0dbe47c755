//! Task launch throughput and latency on one agent with the command executor.
//!
//! A scripted master sends N `RunTaskMessage`s at once (command tasks
//! `sleep 3600`); every task goes through the real path: a container through
//! `mesos-containerizer launch`, a `mesos-executor` subscribing over the v1 API,
//! the task's process, TASK_STARTING and TASK_RUNNING checkpointed-free
//! through the status update manager to the master (which acknowledges).
//! Figures: tasks launched per second (first RunTask to last TASK_RUNNING) and
//! per-task latency from its RunTaskMessage to its TASK_RUNNING, medians of
//! several runs. Then the framework is shut down (every container killed).
//!
//! Mesos 1.7 reports 1,000 containers launched in 30.7 s (~33/s).
//!
//! ```sh
//! cargo bench -p mesos-agent --bench launch -- --tasks 1000 --runs 3
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid};
use mesos_agent::{Agent, AgentFlags, runtime_config};
use mesos_common::proto::internal::{
    MasterSlaveConnection, RegisterSlaveMessage, RunTaskMessage, ShutdownFrameworkMessage,
    SlaveRegisteredMessage, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_common::proto::v0::{
    CommandInfo, FrameworkId, FrameworkInfo, SlaveId, TaskId, TaskInfo, TaskState,
};

/// Tasks launched one at a time after the burst, for the idle-agent latency.
const SINGLE_TASKS: usize = 20;

struct BenchMaster {
    events: mpsc::Sender<(String, i32, Instant)>,
}

impl Process for BenchMaster {
    fn install(t: &mut Install<Self>) {
        t.message(
            |_: &mut BenchMaster,
             from: Upid,
             _: RegisterSlaveMessage,
             ctx: &mut Context<BenchMaster>| {
                ctx.send(
                    &from,
                    &SlaveRegisteredMessage {
                        slave_id: SlaveId {
                            value: "bench-S0".into(),
                        },
                        connection: Some(MasterSlaveConnection {
                            total_ping_timeout_seconds: Some(3600.0),
                        }),
                    },
                );
            },
        )
        .message(
            |m: &mut BenchMaster,
             from: Upid,
             msg: StatusUpdateMessage,
             ctx: &mut Context<BenchMaster>| {
                let u = msg.update;
                let _ = m.events.send((
                    u.status.task_id.value.clone(),
                    u.status.state,
                    Instant::now(),
                ));
                ctx.send(
                    &from,
                    &StatusUpdateAcknowledgementMessage {
                        slave_id: u.slave_id.clone().unwrap_or_default(),
                        framework_id: u.framework_id.clone(),
                        task_id: u.status.task_id.clone(),
                        uuid: u.uuid.clone().unwrap_or_default(),
                    },
                );
            },
        );
    }
}

struct Args {
    tasks: usize,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        tasks: 1000,
        runs: 3,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let next = argv.get(i + 1).and_then(|v| v.parse().ok());
        match (argv[i].as_str(), next) {
            ("--tasks", Some(n)) => {
                a.tasks = n;
                i += 1;
            }
            ("--runs", Some(n)) => {
                a.runs = n;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    a
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn launcher_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_mesos-containerizer"))
        .parent()
        .expect("dir")
        .to_path_buf()
}

struct RunFigures {
    rate: f64,
    total_s: f64,
    latency_median_ms: f64,
    latency_p99_ms: f64,
    /// One task at a time: RunTaskMessage -> TASK_RUNNING on an idle agent.
    single_median_ms: f64,
}

/// Run `round`'s agent work directory. Each run gets its own, and they are
/// removed only after the last run: deleting a run's thousands of sandboxes
/// right before the next run made that run allocate its inodes past the
/// just-freed ones (ext4 without a journal, as here, skips inodes freed in
/// the last 30 s), a cost an agent launching tasks does not otherwise pay.
fn work_dir(round: usize) -> PathBuf {
    std::env::temp_dir().join(format!("mesos-launch-bench-{}-{round}", std::process::id()))
}

fn run_once(n: usize, round: usize) -> RunFigures {
    let (tx, rx) = mpsc::channel();
    let master_rt = Runtime::bind(RuntimeConfig::local()).expect("bind");
    let master = master_rt
        .spawn("master", BenchMaster { events: tx })
        .expect("master");
    let work = work_dir(round);
    let _ = std::fs::remove_dir_all(&work);
    let mut flags = AgentFlags::for_embedding(
        work.display().to_string(),
        master.upid().address().to_string(),
    );
    flags.ip = Some("127.0.0.1".into());
    flags.port = 0;
    flags.launcher_dir = Some(launcher_dir());
    flags.switch_user = false;
    flags.resources = Some(format!("cpus:{};mem:{}", n * 2, n * 64 + 1024));
    flags.registration_backoff_factor = mesos_common::units::Duration::from_millis(1);
    let agent_rt = Runtime::bind(runtime_config(&flags).expect("config")).expect("bind");
    let agent = Agent::spawn(&agent_rt.handle(), flags).expect("agent");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(agent.wait_state(|s| s["id"].is_string()))
        .expect("registered");

    let framework_info = FrameworkInfo {
        user: String::new(),
        name: "bench".into(),
        id: Some(FrameworkId {
            value: "bench-F".into(),
        }),
        roles: vec!["*".into()],
        ..Default::default()
    };
    let mut sent: HashMap<String, Instant> = HashMap::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let id = format!("t{i}");
        let task = TaskInfo {
            name: id.clone(),
            task_id: TaskId { value: id.clone() },
            slave_id: SlaveId {
                value: "bench-S0".into(),
            },
            resources: vec![mesos_agent::protobuf_utils::scalar_resource(
                "cpus", 0.01, None,
            )],
            command: Some(CommandInfo {
                value: Some("sleep 3600".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        sent.insert(id, Instant::now());
        master_rt.send(
            master.upid(),
            agent.upid(),
            &RunTaskMessage {
                framework: framework_info.clone(),
                task,
                pid: Some(String::new()),
                ..Default::default()
            },
        );
    }
    let mut latencies = Vec::with_capacity(n);
    let mut last = start;
    while latencies.len() < n {
        let (task, state, at) = rx
            .recv_timeout(Duration::from_secs(600))
            .expect("updates keep coming");
        if state == TaskState::TaskRunning as i32 {
            latencies.push(at.duration_since(sent[&task]).as_secs_f64() * 1000.0);
            last = at;
        } else if state != TaskState::TaskStarting as i32 {
            panic!("task {task} ended in state {state} during the benchmark");
        }
    }
    let total_s = last.duration_since(start).as_secs_f64();

    // Latency on an idle agent: one task at a time.
    let mut single = Vec::new();
    for i in 0..SINGLE_TASKS {
        let id = format!("single{i}");
        let task = TaskInfo {
            name: id.clone(),
            task_id: TaskId { value: id.clone() },
            slave_id: SlaveId {
                value: "bench-S0".into(),
            },
            resources: vec![mesos_agent::protobuf_utils::scalar_resource(
                "cpus", 0.01, None,
            )],
            command: Some(CommandInfo {
                value: Some("sleep 3600".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let at = Instant::now();
        master_rt.send(
            master.upid(),
            agent.upid(),
            &RunTaskMessage {
                framework: framework_info.clone(),
                task,
                pid: Some(String::new()),
                ..Default::default()
            },
        );
        loop {
            let (task, state, when) = rx
                .recv_timeout(Duration::from_secs(600))
                .expect("updates keep coming");
            if task == id && state == TaskState::TaskRunning as i32 {
                single.push(when.duration_since(at).as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    master_rt.send(
        master.upid(),
        agent.upid(),
        &ShutdownFrameworkMessage {
            framework_id: FrameworkId {
                value: "bench-F".into(),
            },
        },
    );
    rt.block_on(agent.wait_state(|s| s["frameworks"].as_array().is_some_and(|f| f.is_empty())))
        .expect("cleaned up");
    agent.stop();
    agent_rt.shutdown();
    master_rt.shutdown();
    // The work directory stays until every run is done (see `main`).
    RunFigures {
        rate: n as f64 / total_s,
        total_s,
        latency_median_ms: median(&mut latencies.clone()),
        latency_p99_ms: percentile(&mut latencies, 0.99),
        single_median_ms: median(&mut single),
    }
}

fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        mesos_agent::main_support::init_logging();
    }
    let a = args();
    let mut figures = Vec::new();
    for round in 0..a.runs {
        let f = run_once(a.tasks, round);
        println!(
            "run {}: {} tasks running in {:.2} s ({:.0} tasks/s); RunTask -> TASK_RUNNING median {:.1} ms, p99 {:.1} ms in the burst, {:.1} ms one at a time",
            round + 1,
            a.tasks,
            f.total_s,
            f.rate,
            f.latency_median_ms,
            f.latency_p99_ms,
            f.single_median_ms
        );
        figures.push(f);
    }
    for round in 0..a.runs {
        let _ = std::fs::remove_dir_all(work_dir(round));
    }
    let mut rates: Vec<f64> = figures.iter().map(|f| f.rate).collect();
    let mut totals: Vec<f64> = figures.iter().map(|f| f.total_s).collect();
    let mut medians: Vec<f64> = figures.iter().map(|f| f.latency_median_ms).collect();
    let mut p99s: Vec<f64> = figures.iter().map(|f| f.latency_p99_ms).collect();
    let mut singles: Vec<f64> = figures.iter().map(|f| f.single_median_ms).collect();
    let (rate, total, lat, p99) = (
        median(&mut rates),
        median(&mut totals),
        median(&mut medians),
        median(&mut p99s),
    );
    let single = median(&mut singles);
    let mesos_rate = 1000.0 / 30.7;
    println!(
        "median of {} runs: {} tasks in {total:.2} s = {rate:.0} tasks/s ({:.1}x Mesos 1.7's {mesos_rate:.1}/s); latency in the burst median {lat:.1} ms, p99 {p99:.1} ms; one task at a time {single:.1} ms",
        a.runs,
        a.tasks,
        rate / mesos_rate
    );
    println!(
        "{{\"bench\":\"agent_launch_rate\",\"tasks\":{},\"runs\":{},\"median_tasks_per_s\":{rate:.1},\"median_total_s\":{total:.3},\"vs_mesos_1_7\":{:.1}}}",
        a.tasks,
        a.runs,
        rate / mesos_rate
    );
    println!(
        "{{\"bench\":\"agent_run_task_to_running_latency_burst\",\"tasks\":{},\"runs\":{},\"median_ms\":{lat:.2},\"p99_ms\":{p99:.2}}}",
        a.tasks, a.runs
    );
    println!(
        "{{\"bench\":\"agent_run_task_to_running_latency_idle\",\"tasks\":{SINGLE_TASKS},\"runs\":{},\"median_ms\":{single:.2}}}",
        a.runs
    );
}
