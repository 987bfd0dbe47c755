//! `test-executor`: Mesos's test executor. For each task: TASK_RUNNING,
//! then TASK_FINISHED carrying data with a NUL byte (as Mesos's does, to
//! prove bytes survive the trip). Exits on SHUTDOWN or when the agent
//! gives up on it.

use mesos_agent::executor::driver::{DriverEvent, HttpDriver};
use mesos_agent::executor::env::ExecutorEnv;
use mesos_agent::executor::executor_status;
use mesos_common::proto::v1;

fn main() {
    let env = match ExecutorEnv::from_process() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("test-executor: {e}");
            std::process::exit(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("test-executor: {e}");
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
                eprintln!("test-executor: {reason}");
                return 1;
            }
        };
        match event.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::Launch) => {
                let Some(launch) = event.launch else { continue };
                let id = launch.task.task_id;
                println!("Starting task {}", id.value);
                let running = executor_status(&env, &id, v1::TaskState::TaskRunning);
                let _ = driver.update(running).await;
                let mut finished = executor_status(&env, &id, v1::TaskState::TaskFinished);
                finished.data = Some(b"data with a \0 byte".to_vec());
                let _ = driver.update(finished).await;
                println!("Finished task {}", id.value);
            }
            Some(Type::Shutdown) => return 0,
            _ => {}
        }
    }
    0
}
