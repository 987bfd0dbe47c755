//! Launch throughput of an SDK scheduler against mesos-local: tasks per
//! second from the first ACCEPT to the last TASK_RUNNING.
//!
//! What is measured: one `mesos-local` process (a master and `--agents`
//! real agents, each in its own runtime) and an SDK scheduler that packs
//! `--tasks` tasks (0.01 cpu, 1 MB each) into the first offers, one ACCEPT
//! per offer, all tasks of an agent on one custom executor (`test-executor`,
//! a real process per agent that reports TASK_RUNNING as soon as it gets
//! LAUNCH). Every update is acknowledged (automatic acknowledgements). So
//! the figure covers the SDK, the master's accept path and status update
//! forwarding, the agents' launch path to a running executor and the status
//! update managers, without a process fork per task. `--mode=command` runs
//! one command executor (a process) per task instead, the path every
//! command task takes.
//!
//! ```sh
//! cargo build --release -p mesos-agent -p test-framework --bins --example launch_bench
//! target/release/examples/launch_bench --agents=100 --tasks=20000 --runs=3
//! ```
//!
//! Prints each run and the median, each also as a JSON line.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix::prelude::*;
use mesos_cli::{LocalCluster, LocalFlags};
use mesos_common::proto::v1;
use mesos_framework::builders::{ExecutorBuilder, Resources, TaskBuilder, exec};
use mesos_framework::{Config, Event, Scheduler, calls, framework_info};

struct Args {
    agents: usize,
    tasks: usize,
    runs: usize,
    command: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        agents: 100,
        tasks: 20_000,
        runs: 3,
        command: false,
    };
    for arg in std::env::args().skip(1) {
        let (k, v) = arg.split_once('=').ok_or(format!("bad argument {arg}"))?;
        let n = || v.parse::<usize>().map_err(|e| format!("{k}: {e}"));
        match k {
            "--agents" => a.agents = n()?,
            "--tasks" => a.tasks = n()?,
            "--runs" => a.runs = n()?.max(1),
            "--mode" => a.command = v == "command",
            _ => return Err(format!("unknown flag {k}")),
        }
    }
    Ok(a)
}

/// One run's scheduler.
struct Bench {
    driver: Option<Scheduler>,
    tasks: usize,
    command: bool,
    executor: PathBuf,
    launched: usize,
    running: HashSet<String>,
    started: Option<Instant>,
    done: Option<std::sync::mpsc::Sender<Duration>>,
    run: usize,
}

impl Actor for Bench {
    type Context = Context<Self>;
}

impl Handler<Event> for Bench {
    type Result = ();

    fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
        match event {
            Event::Offers(offers) => {
                let Some(driver) = self.driver.clone() else {
                    return;
                };
                // Spread the tasks evenly over the offers (first fit would
                // pile them onto the first agents).
                let (cpus, mem) = if self.command {
                    (0.11, 33.0)
                } else {
                    (0.01, 1.0)
                };
                let mut per_offer: Vec<Vec<v1::TaskInfo>> = vec![Vec::new(); offers.len()];
                let n = offers.len().max(1);
                let mut i = 0;
                while self.launched < self.tasks && !offers.is_empty() {
                    let offer = &offers[i % n];
                    i += 1;
                    let id = format!("r{}-t{}", self.run, self.launched);
                    self.launched += 1;
                    let mut task = TaskBuilder::new(&id)
                        .offer(offer)
                        .resources(Resources::new().cpus(cpus).mem(mem).build());
                    if self.command {
                        task = task.command("sleep 30");
                    } else {
                        let executor =
                            ExecutorBuilder::new(&format!("bench-{}", offer.agent_id.value))
                                .command(exec(
                                    &self.executor.display().to_string(),
                                    &["test-executor"],
                                ))
                                .resources(Resources::new().cpus(0.1).mem(32.0).build())
                                .build();
                        task = task.executor(executor);
                    }
                    per_offer[(i - 1) % n].push(task.build());
                }
                if self.started.is_none() {
                    self.started = Some(Instant::now());
                }
                for (offer, tasks) in offers.into_iter().zip(per_offer) {
                    let d = driver.clone();
                    let id = offer.id;
                    ctx.spawn(
                        async move {
                            let r = if tasks.is_empty() {
                                d.decline(vec![id], Some(calls::refuse_for(3600.0))).await
                            } else {
                                d.launch(vec![id], tasks).await
                            };
                            if let Err(e) = r {
                                eprintln!("launch_bench: call failed: {e}");
                            }
                        }
                        .into_actor(self),
                    );
                }
            }
            Event::Update(status) => {
                let state = status.state;
                if state == v1::TaskState::TaskRunning as i32 {
                    self.running.insert(status.task_id.value);
                    if self.running.len() == self.tasks
                        && let (Some(t), Some(done)) = (self.started, self.done.take())
                    {
                        let _ = done.send(t.elapsed());
                    }
                } else if state != v1::TaskState::TaskFinished as i32
                    && state != v1::TaskState::TaskStarting as i32
                {
                    eprintln!(
                        "launch_bench: task {} is {:?}: {}",
                        status.task_id.value,
                        v1::TaskState::try_from(state),
                        status.message.unwrap_or_default()
                    );
                }
            }
            Event::Error(e) => eprintln!("launch_bench: {e}"),
            _ => {}
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("launch_bench: {e}");
            std::process::exit(2);
        }
    };
    // Quiet by default (the figures are the output); RUST_LOG=warn shows
    // what the master and agents complain about during a run.
    if std::env::var_os("RUST_LOG").is_some() {
        mesos_agent::main_support::init_logging();
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().and_then(|d| d.parent()).map(PathBuf::from))
        .unwrap_or_default();
    let executor = exe_dir.join("test-executor");
    if !executor.is_file() {
        eprintln!(
            "launch_bench: {} is missing: cargo build --release -p mesos-agent -p test-framework --bins",
            executor.display()
        );
        std::process::exit(2);
    }
    let work = std::env::temp_dir().join(format!("launch-bench-{}", uuid_like()));
    let cluster = match LocalCluster::start(&LocalFlags {
        num_agents: a.agents,
        work_dir: work.display().to_string(),
        ip: Some("127.0.0.1".into()),
        port: 0,
        hostname: Some("localhost".into()),
        resources: Some("cpus:64;mem:262144;disk:1000".into()),
        launcher_dir: Some(exe_dir.clone()),
        ..LocalFlags::default()
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("launch_bench: {e}");
            std::process::exit(1);
        }
    };
    for agent in &cluster.agents {
        futures::executor::block_on(agent.clone().wait_registered());
    }
    let master = cluster.master_upid().address().to_string();
    let mode = if a.command {
        "command_executor_per_task"
    } else {
        "custom_executor_per_agent"
    };
    let mut rates = Vec::new();
    let forwarded = |cluster: &LocalCluster| -> u64 {
        cluster
            .agents
            .iter()
            .filter_map(|a| futures::executor::block_on(a.updates_forwarded()))
            .sum()
    };
    let mut forwarded_before = forwarded(&cluster);
    for run in 0..a.runs {
        let (tx, rx) = std::sync::mpsc::channel();
        let system = System::new();
        let (tasks, command, executor, master) =
            (a.tasks, a.command, executor.clone(), master.clone());
        system.block_on(async move {
            Bench::create(move |ctx| {
                let driver = Scheduler::start(
                    Config::new(master, framework_info(&format!("launch-bench-{run}"), "")),
                    ctx.address().recipient(),
                )
                .ok();
                Bench {
                    driver,
                    tasks,
                    command,
                    executor,
                    launched: 0,
                    running: HashSet::new(),
                    started: None,
                    done: Some(tx),
                    run,
                }
            });
        });
        let waiter = std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(600)));
        let stopper = System::current();
        let handle = std::thread::spawn(move || {
            let r = waiter.join();
            stopper.stop();
            r
        });
        let _ = system.run();
        let elapsed = match handle.join() {
            Ok(Ok(Ok(d))) => d,
            _ => {
                eprintln!("launch_bench: run {run} did not finish");
                std::process::exit(1);
            }
        };
        let rate = a.tasks as f64 / elapsed.as_secs_f64();
        // Sends of status updates to the master, first sends and retries
        // (two updates per task, RUNNING and FINISHED, if none was resent
        // and all have left by now): a slow run with many more than that
        // waited on the agents' 10 s status update retry.
        let forwarded_now = forwarded(&cluster);
        let sent = forwarded_now - forwarded_before;
        forwarded_before = forwarded_now;
        println!(
            "run {run}: {} tasks on {} agents ({mode}) ACCEPT -> TASK_RUNNING in {:.3} s: {rate:.0} tasks/s ({sent} status update sends by the agents so far)",
            a.tasks,
            a.agents,
            elapsed.as_secs_f64()
        );
        println!(
            "{{\"bench\":\"sdk_launch_run\",\"mode\":\"{mode}\",\"agents\":{},\"tasks\":{},\"run\":{run},\"seconds\":{:.4},\"tasks_per_s\":{rate:.1}}}",
            a.agents,
            a.tasks,
            elapsed.as_secs_f64()
        );
        rates.push(rate);
    }
    let m = median(rates);
    println!("median over {} runs: {m:.0} tasks/s", a.runs);
    println!(
        "{{\"bench\":\"sdk_launch_throughput\",\"mode\":\"{mode}\",\"agents\":{},\"tasks\":{},\"runs\":{},\"median_tasks_per_s\":{m:.1}}}",
        a.agents, a.tasks, a.runs
    );
    cluster.shutdown();
    let _ = std::fs::remove_dir_all(work);
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}
