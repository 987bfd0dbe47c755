//! `mesos-execute`: runs one command task, or one task group under the
//! default executor, on a cluster (Mesos's `src/cli/execute.cpp`), as a
//! framework written with the SDK: subscribe, launch into the first offer
//! that fits, print every status update, kill after `--kill_after` once
//! running, and exit once every task is terminal: 0 when all FINISHED, 1
//! otherwise (Mesos's always exits 0 then; a script needs the outcome).
//!
//! Flags are Mesos's. Those that need what mesos-rs does not have (container
//! images, HDFS packages, CNI networks, volumes, TTYs, credentials) are
//! refused with a clear error rather than ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;
use mesos_common::define_flags;
use mesos_common::flags::{FlagsLoader, Loaded};
use mesos_common::proto::v1;
use mesos_common::units;
use mesos_framework::builders::Resources;
use mesos_framework::offers::{Demand, pack};
use mesos_framework::{Config, Event, Scheduler};

define_flags! {
    /// Flags of `mesos-execute`.
    #[derive(Debug, Clone)]
    pub struct ExecuteFlags {
        pub master: String { help: "Mesos master (e.g., IP:PORT, a comma list, or etcd://host:2379/prefix)." },
        pub task: Option<String> {
            help: "A JSON TaskInfo, or a path (/path or file:///path) to a file holding one.",
        },
        pub task_group: Option<String> {
            help: "A JSON TaskGroupInfo, or a path (/path or file:///path) to a file holding one; run under the default executor.",
        },
        pub name: Option<String> { help: "Name for the command (also the task id)." },
        pub shell: bool {
            default: true,
            help: "Whether the command runs through /bin/sh -c; if not, it is split on whitespace into a program and its arguments.",
        },
        pub command: Option<String> { help: "Command to launch." },
        pub env: Option<serde_json::Map<String, serde_json::Value>> {
            help: "Environment variables of the command, as a JSON object of strings (or a path to one).",
        },
        pub resources: String { default: "cpus:1;mem:128", help: "Resources for the command." },
        pub checkpoint: bool { default: false, help: "Enable checkpointing for the framework." },
        pub framework_capabilities: Option<String> {
            help: "Comma-separated optional framework capabilities (GPU_RESOURCES).",
        },
        pub role: String { default: "*", help: "Role to use when registering." },
        pub kill_after: Option<units::Duration> {
            help: "A delay after which the running task is killed (e.g., 10secs, 2mins).",
        },
        pub principal: Option<String> { help: "The principal to use for the framework." },
        pub secret: Option<String> { help: "The secret for framework authentication (not supported)." },
        pub content_type: String {
            default: "protobuf",
            help: "The content type of scheduler protocol messages: 'json' or 'protobuf'.",
        },
        pub partition_aware: bool { default: true, help: "Enable partition-awareness for the framework." },
        pub containerizer: String { default: "mesos", help: "Containerizer to use (only 'mesos')." },
        pub docker_image: Option<String> { help: "Docker image (not supported by mesos-rs)." },
        pub appc_image: Option<String> { help: "Appc image (not supported by mesos-rs)." },
        pub volumes: Option<String> { help: "Volumes (not supported by mesos-rs)." },
        pub networks: Option<String> { help: "CNI networks (not supported by mesos-rs)." },
        pub package: Option<String> { help: "HDFS package (not supported by mesos-rs)." },
        pub tty: bool { default: false, help: "Attach a TTY (not supported by mesos-rs)." },
    }
}

/// Why `mesos-execute` cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExecuteError {
    #[error("{0}")]
    Usage(String),
    #[error("'--{flag}' is not supported by mesos-rs: {why}")]
    Unsupported {
        flag: &'static str,
        why: &'static str,
    },
    #[error("invalid '--{flag}': {reason}")]
    Invalid { flag: &'static str, reason: String },
}

/// What to launch.
#[derive(Debug, Clone, PartialEq)]
pub enum Launch {
    Task(Box<v1::TaskInfo>),
    Group(Vec<v1::TaskInfo>),
}

/// Validated flags: the framework and what it runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub master: String,
    pub framework: v1::FrameworkInfo,
    pub launch: Launch,
    pub json: bool,
    /// The framework's role (resources reserved for it are used first).
    pub role: String,
    pub kill_after: Option<Duration>,
}

/// Resources of the default executor of a task group (Mesos's).
pub const DEFAULT_EXECUTOR_RESOURCES: &str = "cpus:0.1;mem:32;disk:32";

fn json_value(flag: &'static str, text: &str) -> Result<String, ExecuteError> {
    if text.starts_with('/') {
        let meta = std::fs::metadata(text).map_err(|e| ExecuteError::Invalid {
            flag,
            reason: format!("{text}: {e}"),
        })?;
        if meta.len() > mesos_common::flags::FLAG_FILE_BYTES_MAX {
            return Err(ExecuteError::Invalid {
                flag,
                reason: format!("{text} is too large"),
            });
        }
        return std::fs::read_to_string(text).map_err(|e| ExecuteError::Invalid {
            flag,
            reason: format!("{text}: {e}"),
        });
    }
    Ok(text.to_string())
}

impl Plan {
    /// Checks the flags as Mesos's `mesos-execute` does.
    pub fn from_flags(f: &ExecuteFlags) -> Result<Plan, ExecuteError> {
        let unsupported = [
            (
                f.docker_image.is_some(),
                "docker_image",
                "no image provisioner",
            ),
            (f.appc_image.is_some(), "appc_image", "no image provisioner"),
            (f.volumes.is_some(), "volumes", "no volume isolators"),
            (f.networks.is_some(), "networks", "no CNI isolator"),
            (f.package.is_some(), "package", "no HDFS fetcher"),
            (f.tty, "tty", "no TTY attach"),
            (f.secret.is_some(), "secret", "no framework authentication"),
            (
                f.containerizer != "mesos",
                "containerizer",
                "only the mesos containerizer exists",
            ),
        ];
        if let Some((_, flag, why)) = unsupported.iter().find(|(set, _, _)| *set) {
            return Err(ExecuteError::Unsupported { flag, why });
        }
        let json = match f.content_type.as_str() {
            "json" | "application/json" => true,
            "protobuf" | "application/x-protobuf" => false,
            other => {
                return Err(ExecuteError::Invalid {
                    flag: "content_type",
                    reason: format!("'{other}' (use json or protobuf)"),
                });
            }
        };
        let launch = match (&f.task, &f.task_group) {
            (Some(_), Some(_)) => {
                return Err(ExecuteError::Usage(
                    "Either task or task group should be set but not both. Provide either '--task' OR '--task_group'".into(),
                ));
            }
            (None, None) => Launch::Task(Box::new(command_task(f)?)),
            (task, group) => {
                if f.name.is_some() || f.command.is_some() || f.env.is_some() {
                    return Err(ExecuteError::Usage(
                        "'--name, --command, --env' can only be set when both '--task' and '--task_group' are not set".into(),
                    ));
                }
                if let Some(text) = task {
                    let task: v1::TaskInfo =
                        mesos_common::json::from_str(&json_value("task", text)?).map_err(|e| {
                            ExecuteError::Invalid {
                                flag: "task",
                                reason: e.to_string(),
                            }
                        })?;
                    Launch::Task(Box::new(task))
                } else {
                    let text = json_value("task_group", group.as_deref().unwrap_or_default())?;
                    let group: v1::TaskGroupInfo =
                        mesos_common::json::from_str(&text).map_err(|e| ExecuteError::Invalid {
                            flag: "task_group",
                            reason: e.to_string(),
                        })?;
                    if group.tasks.is_empty() {
                        return Err(ExecuteError::Invalid {
                            flag: "task_group",
                            reason: "no tasks".into(),
                        });
                    }
                    Launch::Group(group.tasks)
                }
            }
        };
        Ok(Plan {
            master: f.master.clone(),
            framework: framework_info(f)?,
            launch,
            json,
            role: f.role.clone(),
            kill_after: f
                .kill_after
                .map(|d| Duration::from_nanos(d.ns().max(0) as u64)),
        })
    }
}

fn command_task(f: &ExecuteFlags) -> Result<v1::TaskInfo, ExecuteError> {
    let name = f
        .name
        .clone()
        .ok_or_else(|| ExecuteError::Usage("Missing required option --name".into()))?;
    let command = f
        .command
        .clone()
        .ok_or_else(|| ExecuteError::Usage("Missing required option --command".into()))?;
    let resources =
        Resources::parse(&f.resources, "*").map_err(|reason| ExecuteError::Invalid {
            flag: "resources",
            reason,
        })?;
    let mut info = if f.shell {
        mesos_framework::builders::shell(&command)
    } else {
        let words: Vec<&str> = command.split_whitespace().collect();
        let program = words
            .first()
            .copied()
            .ok_or_else(|| ExecuteError::Invalid {
                flag: "command",
                reason: "empty".into(),
            })?;
        mesos_framework::builders::exec(program, &words)
    };
    if let Some(env) = &f.env {
        let mut variables = Vec::new();
        for (name, value) in env {
            let value = value.as_str().ok_or_else(|| ExecuteError::Invalid {
                flag: "env",
                reason: format!("the value of '{name}' is not a string"),
            })?;
            variables.push(v1::environment::Variable {
                name: name.clone(),
                value: Some(value.into()),
                ..Default::default()
            });
        }
        info.environment = Some(v1::Environment { variables });
    }
    Ok(v1::TaskInfo {
        name: name.clone(),
        task_id: v1::TaskId { value: name },
        resources,
        command: Some(info),
        ..Default::default()
    })
}

fn framework_info(f: &ExecuteFlags) -> Result<v1::FrameworkInfo, ExecuteError> {
    use v1::framework_info::capability::Type;
    let mut capabilities = vec![
        Type::ReservationRefinement,
        Type::TaskKillingState,
        Type::RevocableResources,
    ];
    if f.partition_aware {
        capabilities.push(Type::PartitionAware);
    }
    for name in f.framework_capabilities.iter().flat_map(|s| s.split(',')) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match Type::from_str_name(name) {
            Some(Type::GpuResources) => capabilities.push(Type::GpuResources),
            Some(_) => {
                return Err(ExecuteError::Invalid {
                    flag: "framework_capabilities",
                    reason: format!("unsupported capability '{name}'"),
                });
            }
            None => {
                return Err(ExecuteError::Invalid {
                    flag: "framework_capabilities",
                    reason: format!("unknown capability '{name}'"),
                });
            }
        }
    }
    if mesos_common::roles::validate(&f.role).is_err() && f.role != "*" {
        return Err(ExecuteError::Invalid {
            flag: "role",
            reason: format!("'{}' is not a valid role", f.role),
        });
    }
    #[allow(deprecated)]
    let info = v1::FrameworkInfo {
        user: std::env::var("USER").unwrap_or_default(),
        name: "mesos-execute instance".into(),
        role: Some(f.role.clone()),
        checkpoint: Some(f.checkpoint),
        principal: f.principal.clone(),
        capabilities: capabilities
            .into_iter()
            .map(|t| v1::framework_info::Capability {
                r#type: Some(t as i32),
            })
            .collect(),
        ..Default::default()
    };
    Ok(info)
}

/// The resources a task asks for, as a packing demand.
pub fn demand_of(resources: &[v1::Resource]) -> Demand {
    let mut d = Demand::default();
    for r in resources {
        let scalar = r.scalar.as_ref().map_or(0.0, |s| s.value);
        match r.name.as_str() {
            "cpus" => d.cpus += scalar,
            "mem" => d.mem += scalar,
            "disk" => d.disk += scalar,
            "ports" => {
                let n: u64 = r
                    .ranges
                    .iter()
                    .flat_map(|rs| rs.range.iter())
                    .map(|x| x.end.saturating_sub(x.begin) + 1)
                    .sum();
                d.ports += u32::try_from(n).unwrap_or(u32::MAX);
            }
            _ => {}
        }
    }
    d
}

/// Fits the plan into `offer` for `role`: the operation to launch, or
/// `None` when the offer is too small.
pub fn fit(
    launch: &Launch,
    offer: &v1::Offer,
    role: &str,
    framework_id: &v1::FrameworkId,
) -> Option<v1::offer::Operation> {
    let tasks: Vec<v1::TaskInfo> = match launch {
        Launch::Task(t) => vec![(**t).clone()],
        Launch::Group(ts) => ts.clone(),
    };
    let mut demands: Vec<Demand> = tasks.iter().map(|t| demand_of(&t.resources)).collect();
    let executor_resources = Resources::parse(DEFAULT_EXECUTOR_RESOURCES, "*").ok()?;
    if matches!(launch, Launch::Group(_)) {
        demands.push(demand_of(&executor_resources));
    }
    let packing = pack(std::slice::from_ref(offer), role, &demands);
    let mut placed = packing.placements.into_iter();
    let mut out = Vec::new();
    for mut task in tasks {
        task.agent_id = offer.agent_id.clone();
        task.resources = placed.next()??.resources;
        out.push(task);
    }
    Some(match launch {
        Launch::Task(_) => mesos_framework::calls::launch(out),
        Launch::Group(_) => {
            let executor = mesos_framework::builders::ExecutorBuilder::default_executor("default")
                .framework(framework_id)
                .resources(placed.next()??.resources)
                .build();
            mesos_framework::calls::launch_group(executor, out)
        }
    })
}

fn is_terminal(state: i32) -> bool {
    use v1::TaskState as S;
    matches!(
        S::try_from(state),
        Ok(S::TaskFinished
            | S::TaskFailed
            | S::TaskKilled
            | S::TaskLost
            | S::TaskError
            | S::TaskDropped
            | S::TaskGone
            | S::TaskGoneByOperator)
    )
}

/// The scheduler actor.
pub struct CommandScheduler {
    plan: Plan,
    driver: Option<Scheduler>,
    framework_id: Option<v1::FrameworkId>,
    launched: bool,
    /// Terminal state per task id.
    outcomes: BTreeMap<String, i32>,
    out: Box<dyn std::io::Write + Send>,
}

impl Actor for CommandScheduler {
    type Context = Context<Self>;
}

impl CommandScheduler {
    fn say(&mut self, line: String) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn tasks(&self) -> usize {
        match &self.plan.launch {
            Launch::Task(_) => 1,
            Launch::Group(ts) => ts.len(),
        }
    }

    fn finish(&mut self, code: i32, ctx: &mut Context<Self>) {
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
        let (Some(driver), Some(fid)) = (self.driver.clone(), self.framework_id.clone()) else {
            return;
        };
        let role = self.plan.role.clone();
        for offer in offers {
            let op = if self.launched {
                None
            } else {
                fit(&self.plan.launch, &offer, &role, &fid)
            };
            let driver = driver.clone();
            match op {
                Some(op) => {
                    self.launched = true;
                    let line = match &self.plan.launch {
                        Launch::Task(t) => format!(
                            "Submitted task '{}' to agent '{}'",
                            t.name, offer.agent_id.value
                        ),
                        Launch::Group(ts) => format!(
                            "Submitted task group with tasks [ {} ] to agent '{}'",
                            ts.iter()
                                .map(|t| t.task_id.value.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            offer.agent_id.value
                        ),
                    };
                    self.say(line);
                    let id = offer.id.clone();
                    ctx.spawn(
                        async move { driver.accept(vec![id], vec![op], None).await }
                            .into_actor(self)
                            .map(|result, act, ctx| {
                                if let Err(e) = result {
                                    eprintln!("mesos-execute: launching failed: {e}");
                                    act.finish(1, ctx);
                                }
                            }),
                    );
                }
                None => {
                    let id = offer.id.clone();
                    ctx.spawn(
                        async move {
                            let _ = driver.decline(vec![id], None).await;
                        }
                        .into_actor(self),
                    );
                }
            }
        }
    }

    fn update(&mut self, status: v1::TaskStatus, ctx: &mut Context<Self>) {
        let state =
            v1::TaskState::try_from(status.state).map_or("TASK_UNKNOWN", |s| s.as_str_name());
        self.say(format!(
            "Received status update {state} for task '{}'",
            status.task_id.value
        ));
        if let Some(m) = &status.message {
            self.say(format!("  message: '{m}'"));
        }
        if let Some(s) = status
            .source
            .and_then(|s| v1::task_status::Source::try_from(s).ok())
        {
            self.say(format!("  source: {}", s.as_str_name()));
        }
        if let Some(r) = status
            .reason
            .and_then(|r| v1::task_status::Reason::try_from(r).ok())
        {
            self.say(format!("  reason: {}", r.as_str_name()));
        }
        if let Some(h) = status.healthy {
            self.say(format!("  healthy?: {h}"));
        }
        if let (Some(after), true) = (
            self.plan.kill_after,
            status.state == v1::TaskState::TaskRunning as i32,
        ) {
            let task_id = status.task_id.clone();
            let agent_id = status.agent_id.clone();
            ctx.run_later(after, move |act, ctx| {
                act.say(format!(
                    "Asked to kill task '{}' on agent '{}'",
                    task_id.value,
                    agent_id.as_ref().map_or("", |a| a.value.as_str())
                ));
                if let Some(d) = act.driver.clone() {
                    ctx.spawn(
                        async move {
                            let _ = d.kill(task_id, agent_id).await;
                        }
                        .into_actor(act),
                    );
                }
            });
        }
        if is_terminal(status.state) {
            self.outcomes
                .insert(status.task_id.value.clone(), status.state);
            if self.outcomes.len() >= self.tasks() {
                let all_finished = self
                    .outcomes
                    .values()
                    .all(|s| *s == v1::TaskState::TaskFinished as i32);
                self.finish(if all_finished { 0 } else { 1 }, ctx);
            }
        }
    }
}

impl Handler<Event> for CommandScheduler {
    type Result = ();

    fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
        match event {
            Event::Subscribed { framework_id, .. } => {
                self.say(format!("Subscribed with ID {}", framework_id.value));
                self.framework_id = Some(framework_id);
            }
            Event::Offers(offers) => self.offers(offers, ctx),
            Event::Update(status) => self.update(status, ctx),
            Event::Disconnected { reason } => self.say(format!("Disconnected: {reason}")),
            Event::Error(e) => {
                eprintln!("mesos-execute: Received an ERROR event: {e}");
                ctx.stop();
                System::current().stop_with_code(1);
            }
            _ => {}
        }
    }
}

/// Runs the plan to the end; returns the exit code. `out` gets the progress.
pub fn run(plan: Plan, out: Box<dyn std::io::Write + Send>) -> i32 {
    let system = System::new();
    system.block_on(async move {
        CommandScheduler::create(move |ctx| {
            CommandScheduler {
                framework_id: plan.framework.id.clone(),
                plan,
                driver: None,
                launched: false,
                outcomes: BTreeMap::new(),
                out,
            }
            .with_recipient(ctx)
        });
    });
    system.run_with_code().unwrap_or(1)
}

impl CommandScheduler {
    fn with_recipient(mut self, ctx: &mut Context<Self>) -> Self {
        let config = {
            let mut c = Config::new(self.plan.master.clone(), self.plan.framework.clone());
            if self.plan.json {
                c = c.json();
            }
            c
        };
        match Scheduler::start(config, ctx.address().recipient()) {
            Ok(driver) => self.driver = Some(driver),
            Err(e) => {
                eprintln!("mesos-execute: {e}");
                System::current().stop_with_code(1);
            }
        }
        self
    }
}

/// `mesos-execute`'s `main`.
pub fn execute_main() -> i32 {
    let loaded: Loaded<ExecuteFlags> =
        match FlagsLoader::new().env_prefix("MESOS_").load_from_process() {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{e}\n\nSee --help for the list of flags");
                return 1;
            }
        };
    if loaded.help {
        print!("{}", loaded.usage(None));
        return 0;
    }
    mesos_agent::main_support::init_logging();
    match Plan::from_flags(&loaded.flags) {
        Ok(plan) => run(plan, Box::new(std::io::stdout())),
        Err(e) => {
            eprintln!("mesos-execute: {e}");
            1
        }
    }
}
