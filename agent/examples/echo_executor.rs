//! A custom executor built on `mesos_agent::executor::driver::HttpDriver`, as a
//! framework would ship one (`ExecutorInfo.command` points at it):
//!
//! - LAUNCH: `TASK_RUNNING`, then acts on `TaskInfo.data`:
//!   `finish` -> `TASK_FINISHED`; `crash` -> the executor exits with status 3;
//!   anything else is run as a shell command in the sandbox and ends the task
//!   `TASK_FINISHED` or `TASK_FAILED` by its exit status;
//! - MESSAGE: answers with a framework message `echo:<data>`;
//! - KILL: kills the task's command, `TASK_KILLED`;
//! - SHUTDOWN: kills everything and exits 0.
//!
//! Used by the agent's and the cluster's tests as "a custom executor".

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use mesos_agent::executor::driver::{DriverEvent, HttpDriver};
use mesos_agent::executor::env::ExecutorEnv;
use mesos_agent::executor::executor_status;
use mesos_agent::executor::task_process;
use mesos_common::proto::v1;
use rustix::process::Signal;

type Exit = std::pin::Pin<Box<dyn std::future::Future<Output = (v1::TaskId, Option<i32>)>>>;

fn main() {
    mesos_agent::main_support::init_logging();
    let env = match ExecutorEnv::from_process() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    std::process::exit(rt.block_on(run(env)));
}

async fn run(env: ExecutorEnv) -> i32 {
    let mut driver = HttpDriver::start(env.clone());
    let mut running: HashMap<String, (u32, bool)> = HashMap::new();
    let mut exits: FuturesUnordered<Exit> = FuturesUnordered::new();
    loop {
        let has_exits = !exits.is_empty();
        tokio::select! {
            Some((task_id, status)) = exits.next(), if has_exits => {
                let killed = running.remove(&task_id.value).is_some_and(|(_, k)| k);
                let state = match status {
                    _ if killed => v1::TaskState::TaskKilled,
                    Some(0) => v1::TaskState::TaskFinished,
                    _ => v1::TaskState::TaskFailed,
                };
                let mut s = executor_status(&env, &task_id, state);
                s.message = Some(task_process::exit_message(status));
                let _ = driver.update(s).await;
            }
            event = driver.next() => {
                let Some(event) = event else { return 1 };
                let event = match event {
                    DriverEvent::Event(e) => e,
                    DriverEvent::Disconnected(_) => continue,
                    DriverEvent::Failed(reason) => {
                        eprintln!("echo executor: {reason}");
                        return 1;
                    }
                };
                use v1::executor::event::Type;
                match event.r#type.and_then(|t| Type::try_from(t).ok()) {
                    Some(Type::Launch) => {
                        let Some(launch) = event.launch else { continue };
                        let task = launch.task;
                        let running_status = executor_status(&env, &task.task_id, v1::TaskState::TaskRunning);
                        let _ = driver.update(running_status).await;
                        let data = String::from_utf8_lossy(task.data.as_deref().unwrap_or_default()).into_owned();
                        match data.as_str() {
                            "finish" => {
                                let s = executor_status(&env, &task.task_id, v1::TaskState::TaskFinished);
                                let _ = driver.update(s).await;
                            }
                            "crash" => {
                                eprintln!("echo executor: crashing on purpose");
                                std::process::exit(3);
                            }
                            command => {
                                let info = v1::CommandInfo { value: Some(command.to_string()), ..Default::default() };
                                match task_process::spawn(&info, &env.sandbox, &BTreeMap::new(), task_process::Output::Inherit) {
                                    Ok(p) => {
                                        running.insert(task.task_id.value.clone(), (p.pid, false));
                                        let id = task.task_id.clone();
                                        let exited = p.exited;
                                        exits.push(Box::pin(async move { (id, exited.await.map(|s| (s >> 8) & 0xff)) }));
                                    }
                                    Err(e) => {
                                        let mut s = executor_status(&env, &task.task_id, v1::TaskState::TaskFailed);
                                        s.message = Some(e);
                                        let _ = driver.update(s).await;
                                    }
                                }
                            }
                        }
                    }
                    Some(Type::Message) => {
                        let data = event.message.map(|m| m.data).unwrap_or_default();
                        let mut reply = b"echo:".to_vec();
                        reply.extend_from_slice(&data);
                        let _ = driver.message(reply).await;
                    }
                    Some(Type::Kill) => {
                        if let Some(k) = event.kill
                            && let Some((pid, killed)) = running.get_mut(&k.task_id.value)
                        {
                            *killed = true;
                            task_process::signal(*pid, Signal::KILL);
                        }
                    }
                    Some(Type::Shutdown) => {
                        for (pid, _) in running.values() {
                            task_process::signal(*pid, Signal::KILL);
                        }
                        return 0;
                    }
                    _ => {}
                }
            }
        }
    }
}
