//! `test-executor`: Mesos's test executor, on the SDK's executor side. For
//! each task: TASK_RUNNING, then TASK_FINISHED carrying data with a NUL
//! byte (as Mesos's does, to prove bytes survive the trip). Exits on
//! SHUTDOWN, or with status 1 when the SDK gives up on the agent.

use actix::prelude::*;
use mesos_common::proto::v1;
use mesos_framework::executor::{Event, Executor, ExecutorEnv};

struct TestExecutor {
    executor: Executor,
    /// The exit status once the system stops.
    exit: std::rc::Rc<std::cell::Cell<i32>>,
}

impl Actor for TestExecutor {
    type Context = Context<Self>;
}

impl Handler<Event> for TestExecutor {
    type Result = ();

    fn handle(&mut self, event: Event, _ctx: &mut Context<Self>) {
        match event {
            Event::Launch(task) => {
                let executor = self.executor.clone();
                let id = task.task_id;
                // Tasks run side by side, as Mesos's test executor sends
                // its updates without waiting; each task's two updates stay
                // in order (the second is sent once the first is accepted).
                // Each task is a task of the runtime, woken alone: futures
                // spawned on the actor's context are all polled whenever
                // any of them is woken (quadratic with 200 tasks in flight).
                actix::spawn(async move {
                    println!("Starting task {}", id.value);
                    let running = executor.status(&id, v1::TaskState::TaskRunning);
                    let _ = executor.update(running).await;
                    let mut finished = executor.status(&id, v1::TaskState::TaskFinished);
                    finished.data = Some(b"data with a \0 byte".to_vec());
                    let _ = executor.update(finished).await;
                    println!("Finished task {}", id.value);
                });
            }
            Event::Shutdown => System::current().stop(),
            Event::Failed(reason) => {
                eprintln!("test-executor: {reason}");
                self.exit.set(1);
                System::current().stop();
            }
            _ => {}
        }
    }
}

fn main() {
    let env = match ExecutorEnv::from_process() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("test-executor: {e}");
            std::process::exit(1);
        }
    };
    let exit = std::rc::Rc::new(std::cell::Cell::new(0));
    let system = System::new();
    let code = exit.clone();
    system.block_on(async move {
        TestExecutor::create(|ctx| TestExecutor {
            executor: Executor::start(env, ctx.address().recipient()),
            exit: code,
        });
    });
    if let Err(e) = system.run() {
        eprintln!("test-executor: {e}");
        std::process::exit(1);
    }
    std::process::exit(exit.get());
}
