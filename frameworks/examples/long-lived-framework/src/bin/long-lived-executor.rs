//! `long-lived-executor`: keeps its task running and answers every
//! framework message `ping <n>` with `pong <n>`; KILL ends the task
//! (TASK_KILLED), SHUTDOWN ends the executor.

use mesos_agent::executor::driver::{DriverEvent, HttpDriver};
use mesos_agent::executor::env::ExecutorEnv;
use mesos_agent::executor::executor_status;
use mesos_common::proto::v1;

fn main() {
    let env = match ExecutorEnv::from_process() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("long-lived-executor: {e}");
            std::process::exit(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("long-lived-executor: {e}");
            std::process::exit(1);
        }
    };
    std::process::exit(rt.block_on(run(env)));
}

async fn run(env: ExecutorEnv) -> i32 {
    use v1::executor::event::Type;
    let mut driver = HttpDriver::start(env.clone());
    while let Some(event) = driver.next().await {
        let event = match event {
            DriverEvent::Event(e) => e,
            DriverEvent::Disconnected(_) => continue,
            DriverEvent::Failed(reason) => {
                eprintln!("long-lived-executor: {reason}");
                return 1;
            }
        };
        match event.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::Launch) => {
                let Some(launch) = event.launch else { continue };
                let running =
                    executor_status(&env, &launch.task.task_id, v1::TaskState::TaskRunning);
                let _ = driver.update(running).await;
            }
            Some(Type::Message) => {
                let data = event.message.map(|m| m.data).unwrap_or_default();
                if let Some(n) = data.strip_prefix(b"ping ") {
                    let mut reply = b"pong ".to_vec();
                    reply.extend_from_slice(n);
                    let _ = driver.message(reply).await;
                }
            }
            Some(Type::Kill) => {
                if let Some(k) = event.kill {
                    let killed = executor_status(&env, &k.task_id, v1::TaskState::TaskKilled);
                    let _ = driver.update(killed).await;
                }
            }
            Some(Type::Shutdown) => return 0,
            _ => {}
        }
    }
    0
}
