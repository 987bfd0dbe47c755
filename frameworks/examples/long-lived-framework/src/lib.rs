//! Mesos's long-lived framework (`src/examples/long_lived_framework.cpp`)
//! on the SDK: one long-running task per agent on a custom executor
//! (`long-lived-executor`), and a conversation with each: every
//! `--message_interval_ms` the scheduler sends `ping <n>` to every running
//! executor, which answers `pong <n>`. A task that ends is launched again on
//! the next offer from its agent. With `--num_messages=N` the framework
//! stops (exit 0) once N pongs came back.
//!
//! # Layout
//!
//! | Item | Role |
//! |---|---|
//! | [`LongLivedFlags`] | flags |
//! | [`LongLived`] | the scheduler actor |
//! | [`run`] | runs it; the exit code |

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;
use mesos_common::define_flags;
use mesos_common::proto::v1;
use mesos_framework::builders::{ExecutorBuilder, Resources, TaskBuilder, exec};
use mesos_framework::offers::{Demand, pack};
use mesos_framework::{Config, Event, Scheduler, calls, framework_info};

define_flags! {
    /// Flags of `long-lived-framework`.
    #[derive(Debug, Clone)]
    pub struct LongLivedFlags {
        pub master: String { help: "The master (host:port, a list, or etcd://)." },
        pub num_messages: u64 { default: 0u64, help: "Stop after this many answers (0: run forever)." },
        pub message_interval_ms: u64 { default: 1000u64, help: "How often each executor is pinged." },
        pub executor: Option<PathBuf> {
            help: "The long-lived-executor binary (default: beside this one).",
        },
    }
}

/// The scheduler actor.
pub struct LongLived {
    flags: LongLivedFlags,
    executor_path: PathBuf,
    driver: Option<Scheduler>,
    framework_id: Option<v1::FrameworkId>,
    /// Agent id -> (task id, running).
    tasks: BTreeMap<String, (String, bool)>,
    sent: u64,
    answered: u64,
    launches: u64,
    stopping: bool,
}

impl LongLived {
    fn finish(&mut self, code: i32, ctx: &mut Context<Self>) {
        self.stopping = true;
        let driver = self.driver.clone();
        ctx.wait(
            async move {
                if let Some(d) = driver {
                    let _ = d.teardown().await;
                }
            }
            .into_actor(self)
            .map(move |_, _, ctx| {
                ctx.stop();
                System::current().stop_with_code(code);
            }),
        );
    }

    fn offers(&mut self, offers: Vec<v1::Offer>, ctx: &mut Context<Self>) {
        let Some(driver) = self.driver.clone() else {
            return;
        };
        for offer in offers {
            let busy = self.tasks.contains_key(&offer.agent_id.value) || self.stopping;
            // The task and its executor: 0.1 cpu and 32 MB each.
            let fits = !busy
                && pack(
                    std::slice::from_ref(&offer),
                    "*",
                    &[Demand::new(0.1, 32.0), Demand::new(0.1, 32.0)],
                )
                .placements
                .iter()
                .all(Option::is_some);
            let id = offer.id.clone();
            let d = driver.clone();
            if !fits {
                ctx.spawn(
                    async move {
                        let _ = d.decline(vec![id], Some(calls::refuse_for(5.0))).await;
                    }
                    .into_actor(self),
                );
                continue;
            }
            self.launches += 1;
            let task_id = format!("long-lived-{}", self.launches);
            let executor =
                ExecutorBuilder::new(&format!("long-lived-executor-{}", offer.agent_id.value))
                    .command(exec(
                        &self.executor_path.display().to_string(),
                        &["long-lived-executor"],
                    ))
                    .resources(Resources::new().cpus(0.1).mem(32.0).build())
                    .build();
            let task = TaskBuilder::new(&task_id)
                .offer(&offer)
                .executor(executor)
                .resources(Resources::new().cpus(0.1).mem(32.0).build())
                .build();
            println!("Launching task {task_id} on agent {}", offer.agent_id.value);
            self.tasks
                .insert(offer.agent_id.value.clone(), (task_id, false));
            ctx.spawn(
                async move {
                    let _ = d.launch(vec![id], vec![task]).await;
                }
                .into_actor(self),
            );
        }
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        let Some(driver) = self.driver.clone() else {
            return;
        };
        for (agent, (_, running)) in &self.tasks {
            if !running || self.stopping {
                continue;
            }
            self.sent += 1;
            let data = format!("ping {}", self.sent).into_bytes();
            let agent_id = v1::AgentId {
                value: agent.clone(),
            };
            let executor_id = v1::ExecutorId {
                value: format!("long-lived-executor-{agent}"),
            };
            let d = driver.clone();
            ctx.spawn(
                async move {
                    let _ = d.message(agent_id, executor_id, data).await;
                }
                .into_actor(self),
            );
        }
    }
}

impl Actor for LongLived {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(
            Duration::from_millis(self.flags.message_interval_ms.max(1)),
            |act, ctx| act.ping(ctx),
        );
    }
}

impl Handler<Event> for LongLived {
    type Result = ();

    fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
        match event {
            Event::Subscribed { framework_id, .. } => {
                println!("Registered with framework ID {}", framework_id.value);
                self.framework_id = Some(framework_id);
            }
            Event::Offers(offers) => self.offers(offers, ctx),
            Event::Update(status) => {
                let state =
                    v1::TaskState::try_from(status.state).unwrap_or(v1::TaskState::TaskLost);
                println!(
                    "Task {} is in state {}",
                    status.task_id.value,
                    state.as_str_name()
                );
                let agent = self
                    .tasks
                    .iter()
                    .find(|(_, (t, _))| *t == status.task_id.value)
                    .map(|(a, _)| a.clone());
                let Some(agent) = agent else { return };
                match state {
                    v1::TaskState::TaskRunning => {
                        if let Some(entry) = self.tasks.get_mut(&agent) {
                            entry.1 = true;
                        }
                    }
                    v1::TaskState::TaskStaging | v1::TaskState::TaskStarting => {}
                    // Gone: relaunched on the agent's next offer.
                    _ => {
                        self.tasks.remove(&agent);
                    }
                }
            }
            Event::Message { data, .. } => {
                let text = String::from_utf8_lossy(&data).into_owned();
                if text.starts_with("pong ") {
                    self.answered += 1;
                    println!("Received '{text}' ({} answered)", self.answered);
                    if self.flags.num_messages > 0
                        && self.answered >= self.flags.num_messages
                        && !self.stopping
                    {
                        self.finish(0, ctx);
                    }
                }
            }
            Event::Error(e) => {
                println!("{e}");
                ctx.stop();
                System::current().stop_with_code(1);
            }
            _ => {}
        }
    }
}

/// Runs the framework; the exit code.
pub fn run(flags: LongLivedFlags) -> i32 {
    let system = System::new();
    system.block_on(async move {
        LongLived::create(move |ctx| {
            let executor_path = flags.executor.clone().unwrap_or_else(|| {
                std::env::current_exe()
                    .ok()
                    .and_then(|p| p.parent().map(|d| d.join("long-lived-executor")))
                    .unwrap_or_else(|| PathBuf::from("long-lived-executor"))
            });
            let driver = match Scheduler::start(
                Config::new(
                    flags.master.clone(),
                    framework_info("Long Lived Framework (Rust)", ""),
                ),
                ctx.address().recipient(),
            ) {
                Ok(d) => Some(d),
                Err(e) => {
                    println!("{e}");
                    System::current().stop_with_code(1);
                    None
                }
            };
            LongLived {
                flags,
                executor_path,
                driver,
                framework_id: None,
                tasks: BTreeMap::new(),
                sent: 0,
                answered: 0,
                launches: 0,
                stopping: false,
            }
        });
    });
    system.run_with_code().unwrap_or(1)
}
