//! `long-lived-executor`: keeps its task running and answers every
//! framework message `ping <n>` with `pong <n>`; KILL ends the task
//! (TASK_KILLED), SHUTDOWN ends the executor. Built on the SDK's executor
//! side; exits with status 1 when the SDK gives up on the agent.

use actix::prelude::*;
use mesos_common::proto::v1;
use mesos_framework::executor::{Event, Executor, ExecutorEnv};

struct LongLivedExecutor {
    executor: Executor,
    exit: std::rc::Rc<std::cell::Cell<i32>>,
}

impl Actor for LongLivedExecutor {
    type Context = Context<Self>;
}

impl Handler<Event> for LongLivedExecutor {
    type Result = ();

    fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
        let executor = self.executor.clone();
        match event {
            Event::Launch(task) => {
                let running = executor.status(&task.task_id, v1::TaskState::TaskRunning);
                ctx.wait(
                    async move {
                        let _ = executor.update(running).await;
                    }
                    .into_actor(self),
                );
            }
            Event::Message(data) => {
                if let Some(n) = data.strip_prefix(b"ping ") {
                    let mut reply = b"pong ".to_vec();
                    reply.extend_from_slice(n);
                    ctx.wait(
                        async move {
                            let _ = executor.message(reply).await;
                        }
                        .into_actor(self),
                    );
                }
            }
            Event::Kill { task_id, .. } => {
                let killed = executor.status(&task_id, v1::TaskState::TaskKilled);
                ctx.wait(
                    async move {
                        let _ = executor.update(killed).await;
                    }
                    .into_actor(self),
                );
            }
            Event::Shutdown => System::current().stop(),
            Event::Failed(reason) => {
                eprintln!("long-lived-executor: {reason}");
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
            eprintln!("long-lived-executor: {e}");
            std::process::exit(1);
        }
    };
    let exit = std::rc::Rc::new(std::cell::Cell::new(0));
    let system = System::new();
    let code = exit.clone();
    system.block_on(async move {
        LongLivedExecutor::create(|ctx| LongLivedExecutor {
            executor: Executor::start(env, ctx.address().recipient()),
            exit: code,
        });
    });
    if let Err(e) = system.run() {
        eprintln!("long-lived-executor: {e}");
        std::process::exit(1);
    }
    std::process::exit(exit.get());
}
