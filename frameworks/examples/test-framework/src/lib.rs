//! Mesos's test framework (`src/examples/test_framework.cpp`) on the SDK:
//! launches `--num_tasks` tasks of 1 cpu and 128 MB each, as many per offer
//! as fit, all on one custom executor per agent (`test-executor`, which
//! reports TASK_RUNNING then TASK_FINISHED). It stops when every task
//! finished (exit 0) and aborts (exit 1) when a task is LOST, KILLED or
//! FAILED, printing why.
//!
//! # Layout
//!
//! | Item | Role |
//! |---|---|
//! | [`TestFlags`] | flags (`MESOS_EXAMPLE_*` in the environment, as Mesos's examples) |
//! | [`TestFramework`] | the scheduler actor |
//! | [`run`] | runs it to the end; the exit code |

use std::collections::HashSet;
use std::path::PathBuf;

use actix::prelude::*;
use mesos_common::define_flags;
use mesos_common::proto::v1;
use mesos_framework::builders::{ExecutorBuilder, Resources, TaskBuilder, exec};
use mesos_framework::offers::{Demand, pack};
use mesos_framework::{Config, Event, Scheduler, framework_info};

define_flags! {
    /// Flags of `test-framework`.
    #[derive(Debug, Clone)]
    pub struct TestFlags {
        pub master: String { help: "The master (host:port, a list, or etcd://)." },
        pub num_tasks: usize { default: 5usize, help: "Tasks to run." },
        pub cpus_per_task: f64 { default: 1.0f64, help: "CPUs per task." },
        pub mem_per_task: f64 { default: 128.0f64, help: "Memory (MB) per task." },
        pub role: String { default: "*", help: "Role of the framework." },
        pub checkpoint: bool { default: false, help: "Whether the framework checkpoints." },
        pub principal: String { default: "test-framework-cpp", help: "Principal of the framework." },
        pub executor: Option<PathBuf> {
            help: "The test-executor binary (default: beside this one).",
        },
        pub explicit_acknowledgements: bool {
            default: false,
            help: "Acknowledge status updates explicitly.",
        },
    }
}

/// The executor's resources (once per agent).
pub const EXECUTOR_RESOURCES: (f64, f64) = (0.1, 32.0);

/// The scheduler actor.
pub struct TestFramework {
    flags: TestFlags,
    executor: v1::ExecutorInfo,
    driver: Option<Scheduler>,
    launched: usize,
    finished: usize,
    /// Agents where the executor already runs (its resources are taken once).
    executor_agents: HashSet<String>,
}

impl TestFramework {
    pub fn new(flags: TestFlags, executor_path: PathBuf) -> TestFramework {
        let executor = ExecutorBuilder::new("default")
            .command(exec(
                &executor_path.display().to_string(),
                &["test-executor"],
            ))
            .resources(
                Resources::new()
                    .cpus(EXECUTOR_RESOURCES.0)
                    .mem(EXECUTOR_RESOURCES.1)
                    .build(),
            )
            .build();
        TestFramework {
            flags,
            executor,
            driver: None,
            launched: 0,
            finished: 0,
            executor_agents: HashSet::new(),
        }
    }

    fn done(&mut self, code: i32, ctx: &mut Context<Self>) {
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
            let needs_executor = !self.executor_agents.contains(&offer.agent_id.value);
            let mut demands = Vec::new();
            if needs_executor {
                demands.push(Demand::new(EXECUTOR_RESOURCES.0, EXECUTOR_RESOURCES.1));
            }
            let left = self.flags.num_tasks - self.launched;
            demands.extend(vec![
                Demand::new(
                    self.flags.cpus_per_task,
                    self.flags.mem_per_task
                );
                left
            ]);
            let packing = pack(std::slice::from_ref(&offer), &self.flags.role, &demands);
            let mut placements = packing.placements.into_iter();
            if needs_executor && placements.next().flatten().is_none() {
                placements = Vec::new().into_iter();
            }
            let mut tasks = Vec::new();
            for placement in placements.flatten() {
                let id = self.launched;
                self.launched += 1;
                println!("Launching task {id} using offer {}", offer.id.value);
                tasks.push(
                    TaskBuilder::new(&id.to_string())
                        .name(&format!("Task {id}"))
                        .offer(&offer)
                        .executor(self.executor.clone())
                        .resources(placement.resources)
                        .build(),
                );
            }
            let id = offer.id.clone();
            let driver = driver.clone();
            if tasks.is_empty() {
                ctx.spawn(
                    async move {
                        let _ = driver.decline(vec![id], None).await;
                    }
                    .into_actor(self),
                );
            } else {
                self.executor_agents.insert(offer.agent_id.value.clone());
                ctx.spawn(
                    async move { driver.launch(vec![id], tasks).await }
                        .into_actor(self)
                        .map(|result, act, ctx| {
                            if let Err(e) = result {
                                println!("Aborting because the launch failed: {e}");
                                act.done(1, ctx);
                            }
                        }),
                );
            }
        }
    }

    fn update(&mut self, status: v1::TaskStatus, ctx: &mut Context<Self>) {
        use v1::TaskState as S;
        let state = S::try_from(status.state).unwrap_or(S::TaskLost);
        println!(
            "Task {} is in state {}",
            status.task_id.value,
            state.as_str_name()
        );
        if self.flags.explicit_acknowledgements
            && let Some(d) = self.driver.clone()
        {
            let s = status.clone();
            ctx.spawn(
                async move {
                    let _ = d.acknowledge(s).await;
                }
                .into_actor(self),
            );
        }
        match state {
            S::TaskFinished => self.finished += 1,
            S::TaskLost | S::TaskKilled | S::TaskFailed => {
                let reason = status
                    .reason
                    .and_then(|r| v1::task_status::Reason::try_from(r).ok())
                    .map_or("", |r| r.as_str_name());
                let source = status
                    .source
                    .and_then(|s| v1::task_status::Source::try_from(s).ok())
                    .map_or("", |s| s.as_str_name());
                println!(
                    "Aborting because task {} is in unexpected state {} with reason {reason} from source {source} with message '{}'",
                    status.task_id.value,
                    state.as_str_name(),
                    status.message.unwrap_or_default()
                );
                self.done(1, ctx);
                return;
            }
            _ => {}
        }
        if self.finished == self.flags.num_tasks {
            self.done(0, ctx);
        }
    }
}

impl Actor for TestFramework {
    type Context = Context<Self>;
}

impl Handler<Event> for TestFramework {
    type Result = ();

    fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
        match event {
            Event::Subscribed { framework_id, .. } => {
                println!("Registered! ({})", framework_id.value);
                self.executor.framework_id = Some(framework_id);
            }
            Event::Offers(offers) => self.offers(offers, ctx),
            Event::Update(status) => self.update(status, ctx),
            Event::Error(e) => {
                println!("{e}");
                ctx.stop();
                System::current().stop_with_code(1);
            }
            _ => {}
        }
    }
}

/// The default `--executor`: `test-executor` beside the running binary.
pub fn default_executor() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("test-executor")))
        .unwrap_or_else(|| PathBuf::from("test-executor"))
}

/// Runs the framework; the exit code (0: every task finished).
pub fn run(flags: TestFlags) -> i32 {
    if flags.num_tasks == 0 {
        return 0;
    }
    let system = System::new();
    system.block_on(async move {
        TestFramework::create(move |ctx| {
            let executor = flags.executor.clone().unwrap_or_else(default_executor);
            let mut info = framework_info("Test Framework (Rust)", "");
            info.principal = Some(flags.principal.clone());
            info.roles = vec![flags.role.clone()];
            info.checkpoint = Some(flags.checkpoint);
            info.capabilities = vec![v1::framework_info::Capability {
                r#type: Some(v1::framework_info::capability::Type::MultiRole as i32),
            }];
            let mut config = Config::new(flags.master.clone(), info);
            if flags.explicit_acknowledgements {
                config = config.explicit_acknowledgements();
            }
            let mut framework = TestFramework::new(flags, executor);
            match Scheduler::start(config, ctx.address().recipient()) {
                Ok(d) => framework.driver = Some(d),
                Err(e) => {
                    println!("{e}");
                    System::current().stop_with_code(1);
                }
            }
            framework
        });
    });
    system.run_with_code().unwrap_or(1)
}
