//! Running tasks: RunTask and RunTaskGroup from the master, launching
//! executors in containers, sending queued tasks once an executor registers,
//! killing tasks, shutting executors and frameworks down, and what happens
//! when an executor's container exits (Mesos's `Slave::run`, `__run`,
//! `___run`, `launchExecutor`, `killTask`, `shutdownExecutor`,
//! `executorTerminated`, `removeExecutor`, `removeFramework`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use libprocess::{Context, Upid};
use mesos_common::proto::internal::{
    ExitedExecutorMessage, KillTaskMessage, RunTaskGroupMessage, RunTaskMessage,
    ShutdownExecutorMessage, ShutdownFrameworkMessage, StatusUpdate,
};
use mesos_common::proto::v0::slave::{ContainerConfig, ContainerTermination};
use mesos_common::proto::v0::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Resource, TaskGroupInfo,
    TaskId, TaskInfo, TaskState, executor_info, task_status,
};

use super::executors::{ToExecutor, send_to_executor};
use super::framework::{Executor, ExecutorEvent, ExecutorState, Framework, FrameworkState};
use super::{Agent, AgentState};
use crate::checkpoint;
use crate::constants::{
    DEFAULT_EXECUTOR_CPUS, DEFAULT_EXECUTOR_MEM_MB, MESOS_DEFAULT_EXECUTOR, MESOS_EXECUTOR,
};
use crate::containerizer::LaunchRequest;
use crate::containerizer::reaper::WaitStatus;
use crate::paths;
use crate::protobuf_utils::{
    agent_status_update, create_task, dropped_or_lost, framework_role, is_terminal_state,
    scalar_resource,
};

impl Agent {
    pub(crate) fn run_task_message(
        &mut self,
        from: Upid,
        msg: RunTaskMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, task = msg.task.task_id.value, "ignoring run task from a process that is not the leading master");
            self.metrics().invalid_messages.inc();
            return;
        }
        let pid = msg
            .pid
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| p.parse().ok());
        let (executor, command) = self.executor_info_for(&msg.framework, &msg.task);
        self.run(
            msg.framework,
            executor,
            vec![msg.task],
            None,
            pid,
            msg.launch_executor,
            command,
            ctx,
        );
    }

    pub(crate) fn run_task_group_message(
        &mut self,
        from: Upid,
        msg: RunTaskGroupMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring run task group from a process that is not the leading master");
            self.metrics().invalid_messages.inc();
            return;
        }
        let mut executor = msg.executor;
        let framework_id = msg.framework.id.clone();
        executor.framework_id = executor.framework_id.or(framework_id);
        let tasks = msg.task_group.tasks.clone();
        self.run(
            msg.framework,
            executor,
            tasks,
            Some(msg.task_group),
            None,
            msg.launch_executor,
            false,
            ctx,
        );
    }

    /// The executor a task runs in: its own, or a generated command executor
    /// (id = task id, `mesos-executor`; Mesos's `getExecutorInfo`).
    pub(crate) fn executor_info_for(
        &self,
        framework: &FrameworkInfo,
        task: &TaskInfo,
    ) -> (ExecutorInfo, bool) {
        if let Some(executor) = &task.executor {
            let mut e = executor.clone();
            e.framework_id = e.framework_id.or_else(|| framework.id.clone());
            return (e, false);
        }
        let command = task.command.clone().unwrap_or_default();
        let describe = if command.shell() {
            match &command.value {
                None => "(Command: NO COMMAND)".to_string(),
                Some(v) if v.chars().count() > 15 => {
                    format!(
                        "(Command: sh -c '{}...')",
                        v.chars().take(12).collect::<String>()
                    )
                }
                Some(v) => format!("(Command: sh -c '{v}')"),
            }
        } else {
            match &command.value {
                None => "(Command: NO EXECUTABLE)".to_string(),
                Some(v) => {
                    let args = format!("{v}, {}", command.arguments.join(", "));
                    if args.chars().count() > 15 {
                        format!(
                            "(Command: [{}...])",
                            args.chars().take(12).collect::<String>()
                        )
                    } else {
                        format!("(Command: [{args}])")
                    }
                }
            }
        };
        let launcher_dir = self.containerizer.launcher_dir().to_path_buf();
        let executor_path = launcher_dir.join(MESOS_EXECUTOR);
        let executor_command = match std::fs::canonicalize(&executor_path) {
            Ok(path) => CommandInfo {
                shell: Some(false),
                value: Some(path.display().to_string()),
                arguments: vec![
                    MESOS_EXECUTOR.to_string(),
                    format!("--launcher_dir={}", launcher_dir.display()),
                ],
                uris: command.uris.clone(),
                environment: command.environment.clone(),
                user: command.user.clone(),
            },
            Err(e) => CommandInfo {
                shell: Some(true),
                value: Some(format!("echo '{}: {e}'; exit 1", executor_path.display())),
                ..Default::default()
            },
        };
        let role = task
            .resources
            .iter()
            .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()));
        let shutdown_grace_period = task
            .kill_policy
            .as_ref()
            .and_then(|k| k.grace_period.as_ref())
            .map(|g| mesos_common::proto::v0::DurationInfo {
                // The kill grace period plus reaping slack, as Mesos adds.
                nanoseconds: g.nanoseconds.saturating_add(2_000_000_000),
            });
        #[allow(deprecated)]
        let info = ExecutorInfo {
            executor_id: ExecutorId {
                value: task.task_id.value.clone(),
            },
            framework_id: framework.id.clone(),
            name: Some(format!(
                "Command Executor (Task: {}) {describe}",
                task.task_id.value
            )),
            source: Some(task.task_id.value.clone()),
            command: Some(executor_command),
            container: task.container.clone(),
            labels: task.labels.clone(),
            discovery: task.discovery.clone(),
            shutdown_grace_period,
            resources: vec![
                scalar_resource("cpus", DEFAULT_EXECUTOR_CPUS, role.as_deref()),
                scalar_resource("mem", DEFAULT_EXECUTOR_MEM_MB, role.as_deref()),
            ],
            ..Default::default()
        };
        (info, true)
    }

    /// Mesos's `Slave::run` and `__run` for a task or a task group.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        framework_info: FrameworkInfo,
        mut executor_info: ExecutorInfo,
        mut tasks: Vec<TaskInfo>,
        group: Option<TaskGroupInfo>,
        pid: Option<Upid>,
        launch_executor: Option<bool>,
        command_executor: bool,
        ctx: &mut Context<Self>,
    ) {
        let Some(framework_id) = framework_info.id.clone() else {
            tracing::warn!("ignoring run of a framework without an id");
            self.metrics().invalid_messages.inc();
            return;
        };
        let fid = framework_id.value.clone();
        let role = framework_role(&framework_info);
        inject_allocation_role(&mut executor_info.resources, &role);
        for t in &mut tasks {
            inject_allocation_role(&mut t.resources, &role);
            if let Some(e) = &mut t.executor {
                inject_allocation_role(&mut e.resources, &role);
            }
        }
        let group = group.map(|_| TaskGroupInfo {
            tasks: tasks.clone(),
        });
        let agent_id = self.agent_id();
        if let Some(t) = tasks.iter().find(|t| t.slave_id != agent_id) {
            tracing::warn!(task = t.task_id.value, "ignoring task for another agent");
            self.metrics().invalid_messages.inc();
            return;
        }
        if matches!(self.state, AgentState::Recovering | AgentState::Terminating) {
            tracing::warn!(
                state = self.state.name(),
                "ignoring run task: agent is not ready"
            );
            return;
        }
        let eid = executor_info.executor_id.value.clone();

        if !self.frameworks.contains_key(&fid) {
            self.unschedule_gc(paths::framework_path(&self.work_dir, &agent_id.value, &fid));
            self.unschedule_gc(paths::framework_path(&self.meta_dir, &agent_id.value, &fid));
            let mut framework = Framework::new(framework_info.clone(), pid.clone());
            if let Some(i) = self.completed_frameworks.iter().position(|f| f.id == fid)
                && let Some(old) = self.completed_frameworks.remove(i)
            {
                framework.completed_executors = old.completed_executors;
            }
            self.frameworks.insert(fid.clone(), framework);
            if framework_info.checkpoint() {
                self.checkpoint_framework(&fid);
            }
        }

        let dropped = |agent: &mut Agent,
                       reason: task_status::Reason,
                       message: &str,
                       ctx: &mut Context<Agent>| {
            let state = dropped_or_lost(&framework_info);
            for t in &tasks {
                let update = agent_status_update(
                    &framework_id,
                    &agent.agent_id(),
                    &t.task_id,
                    state,
                    message,
                    Some(reason),
                    Some(&executor_info.executor_id),
                );
                agent.record_agent_update(update, ctx);
            }
        };

        let framework_terminating = self
            .frameworks
            .get(&fid)
            .is_some_and(|f| f.state == FrameworkState::Terminating);
        if framework_terminating {
            tracing::warn!(
                framework = fid,
                "ignoring run task: framework is terminating"
            );
            if launch_executor == Some(true) {
                self.send_exited_executor(&framework_id, &executor_info.executor_id, None, ctx);
            }
            return;
        }

        if self.drain_config.is_some() {
            tracing::warn!(
                framework = fid,
                executor = eid,
                "refusing tasks: the agent is draining"
            );
            dropped(
                self,
                task_status::Reason::SlaveDraining,
                "Task was received while agent was already draining",
                ctx,
            );
            self.remove_framework_if_idle(&fid, ctx);
            if launch_executor == Some(true) {
                self.send_exited_executor(&framework_id, &executor_info.executor_id, None, ctx);
            }
            return;
        }

        if let Some(message) = self.unknown_checkpointed_resources(&tasks, &executor_info) {
            tracing::warn!(framework = fid, executor = eid, "{message}");
            dropped(self, task_status::Reason::ResourcesUnknown, message, ctx);
            self.remove_framework_if_idle(&fid, ctx);
            if launch_executor == Some(true) {
                self.send_exited_executor(&framework_id, &executor_info.executor_id, None, ctx);
            }
            return;
        }

        let existing = self
            .frameworks
            .get(&fid)
            .and_then(|f| f.executors.get(&eid))
            .map(|e| e.state);
        if let Some(launch) = launch_executor {
            let is_command_task =
                group.is_none() && tasks.first().is_some_and(|t| t.command.is_some());
            if is_command_task && existing.is_some() {
                dropped(
                    self,
                    task_status::Reason::TaskInvalid,
                    "Cannot reuse an already existing executor for a command task",
                    ctx,
                );
                return;
            }
            if !is_command_task && launch && existing.is_some() {
                dropped(
                    self,
                    task_status::Reason::ExecutorTerminated,
                    "Master wants to launch executor, but one already exists",
                    ctx,
                );
                if existing == Some(ExecutorState::Terminated) {
                    self.send_exited_executor(&framework_id, &executor_info.executor_id, None, ctx);
                } else {
                    self.shutdown_executor(&fid, &eid, ctx);
                }
                return;
            }
            if !is_command_task && !launch && existing.is_none() {
                dropped(
                    self,
                    task_status::Reason::ExecutorTerminated,
                    "No executor is expected to launch and there is none running",
                    ctx,
                );
                return;
            }
        }

        if existing.is_none() {
            self.unschedule_gc(paths::executor_path(
                &self.work_dir,
                &agent_id.value,
                &fid,
                &eid,
            ));
            self.unschedule_gc(paths::executor_path(
                &self.meta_dir,
                &agent_id.value,
                &fid,
                &eid,
            ));
            if let Err(e) = self.add_executor(&fid, executor_info.clone(), command_executor) {
                tracing::error!(executor = eid, error = %e, "cannot create the executor");
                dropped(self, task_status::Reason::ExecutorTerminated, &e, ctx);
                self.remove_framework_if_idle(&fid, ctx);
                if launch_executor == Some(true) {
                    self.send_exited_executor(&framework_id, &executor_info.executor_id, None, ctx);
                }
                return;
            }
            let mut launched_info = executor_info.clone();
            if launched_info.r#type == Some(executor_info::Type::Default as i32)
                && launched_info.command.is_none()
            {
                launched_info.command = Some(self.default_executor_command());
            }
            let task_resources: Vec<Resource> = tasks
                .iter()
                .flat_map(|t| t.resources.iter().cloned())
                .collect();
            launched_info.resources.extend(task_resources);
            let command_task = if command_executor {
                tasks.first().cloned()
            } else {
                None
            };
            self.launch_executor(&fid, &eid, launched_info, command_task, ctx);
        }

        let (state, checkpoint) = match self
            .frameworks
            .get(&fid)
            .and_then(|f| f.executors.get(&eid))
        {
            Some(e) => (e.state, e.checkpoint),
            None => return,
        };
        match state {
            ExecutorState::Terminating | ExecutorState::Terminated => {
                let what = if state == ExecutorState::Terminating {
                    "terminating"
                } else {
                    "terminated"
                };
                dropped(
                    self,
                    task_status::Reason::ExecutorTerminated,
                    &format!("Executor {what}"),
                    ctx,
                );
            }
            ExecutorState::Registering | ExecutorState::Running => {
                if checkpoint {
                    for t in &tasks {
                        self.checkpoint_task(&fid, &eid, t);
                    }
                }
                let Some(executor) = self.executor_mut(&fid, &eid) else {
                    return;
                };
                match group {
                    Some(g) => executor.enqueue_task_group(g),
                    None => tasks.into_iter().for_each(|t| executor.enqueue_task(t)),
                }
                if state == ExecutorState::Running {
                    self.update_container(&fid, &eid);
                    self.send_queued_tasks(&fid, &eid, ctx);
                }
            }
        }
        self.refresh_metrics();
    }

    /// The command of the default executor (task groups).
    fn default_executor_command(&self) -> CommandInfo {
        let dir = self.containerizer.launcher_dir();
        CommandInfo {
            shell: Some(false),
            value: Some(dir.join(MESOS_DEFAULT_EXECUTOR).display().to_string()),
            arguments: vec![
                MESOS_DEFAULT_EXECUTOR.to_string(),
                format!("--launcher_dir={}", dir.display()),
            ],
            ..Default::default()
        }
    }

    pub(crate) fn executor_mut(&mut self, fid: &str, eid: &str) -> Option<&mut Executor> {
        self.frameworks.get_mut(fid)?.executors.get_mut(eid)
    }

    pub(crate) fn executor(&self, fid: &str, eid: &str) -> Option<&Executor> {
        self.frameworks.get(fid)?.executors.get(eid)
    }

    /// Creates the executor's run: a container id, its sandbox (and `latest`
    /// link), its checkpoint, its `/files` attachment.
    fn add_executor(
        &mut self,
        fid: &str,
        info: ExecutorInfo,
        command_executor: bool,
    ) -> Result<(), String> {
        let agent_id = self.agent_id().value;
        let framework = self.frameworks.get(fid).ok_or("unknown framework")?;
        let checkpoint = framework.checkpoint();
        let eid = info.executor_id.value.clone();
        let container_id = uuid::Uuid::new_v4().to_string();
        let directory =
            paths::executor_run_path(&self.work_dir, &agent_id, fid, &eid, &container_id);
        let user = if self.flags.switch_user {
            info.command
                .as_ref()
                .and_then(|c| c.user.clone())
                .or_else(|| Some(framework.info.user.clone()))
                .filter(|u| !u.is_empty())
        } else {
            None
        };
        create_sandbox(&directory, user.as_deref())?;
        checkpoint::point_latest(
            &paths::executor_runs_dir(&self.work_dir, &agent_id, fid, &eid),
            &container_id,
        )
        .map_err(|e| e.to_string())?;
        if checkpoint {
            checkpoint::write_message(
                &paths::executor_info_path(&self.meta_dir, &agent_id, fid, &eid),
                &info,
            )
            .map_err(|e| e.to_string())?;
            let run = paths::executor_run_path(&self.meta_dir, &agent_id, fid, &eid, &container_id);
            std::fs::create_dir_all(&run)
                .map_err(|e| format!("cannot create '{}': {e}", run.display()))?;
            checkpoint::point_latest(
                &paths::executor_runs_dir(&self.meta_dir, &agent_id, fid, &eid),
                &container_id,
            )
            .map_err(|e| e.to_string())?;
        }
        self.attach_sandbox(fid, &eid, &directory);
        let executor = Executor::new(
            fid,
            info,
            container_id,
            directory,
            checkpoint,
            command_executor,
            user,
        );
        if let Some(f) = self.frameworks.get_mut(fid) {
            f.executors.insert(eid, executor);
        }
        Ok(())
    }

    pub(crate) fn attach_sandbox(&self, fid: &str, eid: &str, directory: &std::path::Path) {
        if let Some(files) = &self.files {
            let dir = directory.to_path_buf();
            let latest = paths::executor_virtual_path(fid, eid);
            files.dispatch(move |f, _| {
                let real = dir.display().to_string();
                if let Err(e) = f.attach(&dir, &real) {
                    tracing::warn!(error = %e, "cannot attach sandbox");
                }
                let _ = f.attach(&dir, &latest);
            });
        }
    }

    /// The executor's environment (Mesos's `executorEnvironment()`).
    pub(crate) fn executor_environment(
        &self,
        framework: &Framework,
        executor: &Executor,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        if let Ok(ip) = std::env::var("LIBPROCESS_IP") {
            env.insert("LIBPROCESS_IP".into(), ip);
        }
        if let Some(vars) = &self.flags.executor_environment_variables {
            for (k, v) in vars {
                if let Some(s) = v.as_str() {
                    env.insert(k.clone(), s.to_string());
                }
            }
        }
        let me = self.me();
        env.insert("LIBPROCESS_PORT".into(), "0".into());
        env.insert("MESOS_FRAMEWORK_ID".into(), framework.id.clone());
        env.insert("MESOS_EXECUTOR_ID".into(), executor.id.clone());
        env.insert(
            "MESOS_DIRECTORY".into(),
            executor.directory.display().to_string(),
        );
        env.insert("MESOS_SLAVE_ID".into(), self.agent_id().value);
        env.insert("MESOS_SLAVE_PID".into(), me.to_string());
        env.insert("MESOS_AGENT_ENDPOINT".into(), me.address().to_string());
        env.insert(
            "MESOS_CHECKPOINT".into(),
            if executor.checkpoint { "1" } else { "0" }.into(),
        );
        env.insert(
            "MESOS_HTTP_COMMAND_EXECUTOR".into(),
            if self.flags.http_command_executor {
                "1"
            } else {
                "0"
            }
            .into(),
        );
        let grace = executor
            .info
            .shutdown_grace_period
            .as_ref()
            .map(|d| mesos_common::units::Duration::from_nanos(d.nanoseconds))
            .unwrap_or(self.flags.executor_shutdown_grace_period);
        env.insert(
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".into(),
            grace.to_string(),
        );
        if executor.checkpoint {
            env.insert(
                "MESOS_RECOVERY_TIMEOUT".into(),
                self.flags.recovery_timeout.to_string(),
            );
            env.insert(
                "MESOS_SUBSCRIPTION_BACKOFF_MAX".into(),
                self.flags.executor_reregistration_timeout.to_string(),
            );
        }
        env
    }

    /// Launches the executor's container and watches it (Mesos's `launchExecutor`).
    fn launch_executor(
        &mut self,
        fid: &str,
        eid: &str,
        info: ExecutorInfo,
        command_task: Option<TaskInfo>,
        ctx: &mut Context<Self>,
    ) {
        let agent_id = self.agent_id().value;
        let Some(framework) = self.frameworks.get(fid) else {
            return;
        };
        let Some(executor) = framework.executors.get(eid) else {
            return;
        };
        let environment = self.executor_environment(framework, executor);
        let container_id = executor.container_id.clone();
        let config = ContainerConfig {
            executor_info: Some(info.clone()),
            task_info: command_task,
            command_info: info.command.clone().unwrap_or_default(),
            container_info: info.container.clone(),
            resources: info.resources.clone(),
            directory: executor.directory.display().to_string(),
            user: executor.user.clone(),
            ..Default::default()
        };
        let forked_pid_path = executor
            .checkpoint
            .then(|| paths::forked_pid_path(&self.meta_dir, &agent_id, fid, eid, &container_id));
        let request = LaunchRequest {
            container_id: container_id.clone(),
            config,
            environment,
            forked_pid_path,
        };
        let (f, e, c) = (fid.to_string(), eid.to_string(), container_id.clone());
        // The registration clock starts with the launch, as in Mesos (not
        // when the fork completes).
        let timeout = self
            .flags
            .executor_registration_timeout
            .to_std()
            .unwrap_or(Duration::from_secs(60));
        let (tf, te, tc) = (f.clone(), e.clone(), c.clone());
        ctx.delay(timeout, move |a: &mut Agent, ctx| {
            a.register_executor_timeout(&tf, &te, &tc, ctx)
        });
        let prepared = match self.containerizer.prepare(request) {
            Ok(p) => p,
            Err(err) => return self.launch_failed(&f, &e, &c, err.to_string(), ctx),
        };
        // The fork waits for the helper to start: keep it off the actor thread,
        // so a burst of launches does not stall subscriptions and updates.
        let fork = self.launch_pool.run(move || {
            let pid = prepared.fork();
            (prepared, pid)
        });
        ctx.spawn(fork, move |a: &mut Agent, forked, ctx| match forked {
            Ok((prepared, Ok(pid))) => a.executor_forked(&f, &e, &c, prepared, pid, ctx),
            Ok((_, Err(err))) => a.launch_failed(&f, &e, &c, err.to_string(), ctx),
            Err(join) => {
                a.launch_failed(&f, &e, &c, format!("the launch thread failed: {join}"), ctx)
            }
        });
    }

    /// The executor's helper is running: watch it, unless the executor was
    /// given up on meanwhile.
    fn executor_forked(
        &mut self,
        fid: &str,
        eid: &str,
        cid: &str,
        prepared: crate::containerizer::PreparedLaunch,
        pid: u32,
        ctx: &mut Context<Self>,
    ) {
        let wanted = self.executor(fid, eid).is_some_and(|e| {
            // It may already have subscribed: the fork's completion and the
            // executor's first call race.
            e.container_id == cid
                && matches!(e.state, ExecutorState::Registering | ExecutorState::Running)
        });
        if !wanted {
            tracing::info!(
                executor = eid,
                "executor no longer wanted after its launch; destroying it"
            );
            self.containerizer.discard(&prepared, pid);
        }
        if let Err(err) = self.containerizer.launched(prepared, pid) {
            return self.launch_failed(fid, eid, cid, err.to_string(), ctx);
        }
        tracing::info!(
            executor = eid,
            framework = fid,
            container = cid,
            pid,
            "launched executor"
        );
        if let Some(executor) = self.executor_mut(fid, eid) {
            executor.pid = Some(pid);
        }
        let (f, e, c) = (fid.to_string(), eid.to_string(), cid.to_string());
        let wait = self.containerizer.wait(cid);
        ctx.spawn(wait, move |a: &mut Agent, status, ctx| {
            a.executor_terminated(&f, &e, &c, status, ctx)
        });
        // An isolator's limit (e.g. OOM) destroys the container; its wait
        // above then reports the termination with the limitation.
        for limitation in self.containerizer.limitations(cid) {
            let c = cid.to_string();
            ctx.spawn(limitation, move |a: &mut Agent, l, _| {
                a.containerizer.limited(&c, l)
            });
        }
    }

    /// The container could not be started: its tasks fail with
    /// `REASON_CONTAINER_LAUNCH_FAILED` through the usual termination path.
    fn launch_failed(
        &mut self,
        fid: &str,
        eid: &str,
        cid: &str,
        err: String,
        ctx: &mut Context<Self>,
    ) {
        tracing::error!(executor = eid, error = %err, "failed to launch the executor's container");
        self.metrics().container_launch_errors.inc();
        if let Some(executor) = self.executor_mut(fid, eid) {
            executor.pending_termination = Some(ContainerTermination {
                state: Some(TaskState::TaskFailed as i32),
                reason: Some(task_status::Reason::ContainerLaunchFailed as i32),
                message: Some(format!("Failed to launch container: {err}")),
                ..Default::default()
            });
        }
        let (f, e, c) = (fid.to_string(), eid.to_string(), cid.to_string());
        ctx.spawn(
            futures::future::ready(None),
            move |a: &mut Agent, status, ctx| a.executor_terminated(&f, &e, &c, status, ctx),
        );
    }

    fn register_executor_timeout(
        &mut self,
        fid: &str,
        eid: &str,
        cid: &str,
        ctx: &mut Context<Self>,
    ) {
        let timeout = self.flags.executor_registration_timeout;
        let Some(framework) = self.frameworks.get(fid) else {
            return;
        };
        if framework.state == FrameworkState::Terminating {
            return;
        }
        let Some(executor) = self.executor_mut(fid, eid) else {
            return;
        };
        if executor.container_id != cid || executor.state != ExecutorState::Registering {
            return;
        }
        tracing::info!(executor = eid, %timeout, "terminating executor: it did not register in time");
        let _ = executor.transition(ExecutorEvent::Shutdown);
        executor.pending_termination = Some(ContainerTermination {
            state: Some(TaskState::TaskFailed as i32),
            reason: Some(task_status::Reason::ExecutorRegistrationTimeout as i32),
            message: Some(format!("Executor did not register within {timeout}")),
            ..Default::default()
        });
        self.containerizer.destroy(cid);
        let _ = ctx;
        self.refresh_metrics();
    }

    /// Sends every queued task to a running executor (Mesos's `___run`).
    pub(crate) fn send_queued_tasks(&mut self, fid: &str, eid: &str, ctx: &mut Context<Self>) {
        let Some(framework) = self.frameworks.get_mut(fid) else {
            return;
        };
        let framework_info = framework.info.clone();
        let framework_pid = framework
            .pid
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let Some(executor) = framework.executors.get_mut(eid) else {
            return;
        };
        if executor.state != ExecutorState::Running {
            return;
        }
        let groups = std::mem::take(&mut executor.queued_task_groups);
        let mut messages = Vec::new();
        for group in groups {
            let mut sent = TaskGroupInfo::default();
            for t in &group.tasks {
                if let Some(info) = executor.launch_queued(&t.task_id.value) {
                    sent.tasks.push(info);
                }
            }
            if !sent.tasks.is_empty() {
                messages.push(ToExecutor::RunTaskGroup(Box::new(RunTaskGroupMessage {
                    framework: framework_info.clone(),
                    executor: executor.info.clone(),
                    task_group: sent,
                    ..Default::default()
                })));
            }
        }
        let ids: Vec<String> = executor
            .queued_tasks
            .iter()
            .map(|t| t.task_id.value.clone())
            .collect();
        for id in ids {
            if let Some(task) = executor.launch_queued(&id) {
                messages.push(ToExecutor::RunTask(Box::new(RunTaskMessage {
                    framework: framework_info.clone(),
                    task,
                    pid: Some(framework_pid.clone()),
                    ..Default::default()
                })));
            }
        }
        let executor = &*executor;
        for m in messages {
            send_to_executor(executor, m, ctx);
        }
    }

    /// Tells the containerizer the executor's resources changed.
    pub(crate) fn update_container(&mut self, fid: &str, eid: &str) {
        if let Some(e) = self.executor(fid, eid) {
            let (cid, resources) = (e.container_id.clone(), e.allocated_resources());
            self.containerizer.update(&cid, &resources);
        }
    }

    pub(crate) fn checkpoint_framework(&self, fid: &str) {
        let Some(framework) = self.frameworks.get(fid) else {
            return;
        };
        let agent_id = self.agent_id().value;
        let pid = framework
            .pid
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let result = checkpoint::write_message(
            &paths::framework_info_path(&self.meta_dir, &agent_id, fid),
            &framework.info,
        )
        .and_then(|_| {
            checkpoint::write_text(
                &paths::framework_pid_path(&self.meta_dir, &agent_id, fid),
                &pid,
            )
        });
        if let Err(e) = result {
            tracing::error!(framework = fid, error = %e, "failed to checkpoint the framework");
        }
    }

    fn checkpoint_task(&self, fid: &str, eid: &str, task: &TaskInfo) {
        let Some(executor) = self.executor(fid, eid) else {
            return;
        };
        let agent_id = self.agent_id().value;
        let path = paths::task_info_path(
            &self.meta_dir,
            &agent_id,
            fid,
            eid,
            &executor.container_id,
            &task.task_id.value,
        );
        let t = create_task(
            task,
            TaskState::TaskStaging,
            &FrameworkId {
                value: fid.to_string(),
            },
        );
        if let Err(e) = checkpoint::write_message(&path, &t) {
            tracing::error!(task = task.task_id.value, error = %e, "failed to checkpoint the task");
        }
    }

    pub(crate) fn kill_task_message(
        &mut self,
        from: Upid,
        msg: KillTaskMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring kill task from a process that is not the leading master");
            self.metrics().invalid_messages.inc();
            return;
        }
        if matches!(self.state, AgentState::Recovering | AgentState::Terminating) {
            return;
        }
        self.do_kill_task(msg, ctx);
    }

    /// Kills one task (on the master's word or for a drain, `drain.rs`).
    pub(crate) fn do_kill_task(&mut self, msg: KillTaskMessage, ctx: &mut Context<Self>) {
        let fid = msg.framework_id.value.clone();
        let tid = msg.task_id.value.clone();
        let Some(framework) = self.frameworks.get(&fid) else {
            tracing::warn!(
                task = tid,
                framework = fid,
                "cannot kill task of an unknown framework"
            );
            return;
        };
        if framework.state == FrameworkState::Terminating {
            return;
        }
        let framework_info = framework.info.clone();
        let Some(executor) = framework.executor_of_task(&tid) else {
            let update = agent_status_update(
                &msg.framework_id,
                &self.agent_id(),
                &msg.task_id,
                dropped_or_lost(&framework_info),
                "Cannot find executor",
                Some(task_status::Reason::ExecutorTerminated),
                None,
            );
            self.record_agent_update(update, ctx);
            return;
        };
        let eid = executor.id.clone();
        let executor_id = executor.info.executor_id.clone();
        match executor.state {
            ExecutorState::Terminating | ExecutorState::Terminated => {}
            ExecutorState::Registering | ExecutorState::Running if executor.is_queued(&tid) => {
                let in_group = executor.queued_task_group(&tid).is_some();
                let victims: Vec<TaskId> = match executor.queued_task_group(&tid) {
                    Some(g) => g.tasks.iter().map(|t| t.task_id.clone()).collect(),
                    None => vec![msg.task_id.clone()],
                };
                let message = if in_group {
                    "A task within the task group was killed before delivery to the executor"
                } else {
                    "Killed before delivery to the executor"
                };
                for task_id in victims {
                    let update = agent_status_update(
                        &msg.framework_id,
                        &self.agent_id(),
                        &task_id,
                        TaskState::TaskKilled,
                        message,
                        Some(task_status::Reason::TaskKilledDuringLaunch),
                        Some(&executor_id),
                    );
                    self.record_agent_update(update, ctx);
                }
                let idle = self.executor(&fid, &eid).is_some_and(|e| {
                    e.state == ExecutorState::Running
                        && !e.ever_sent_task
                        && e.queued_tasks.is_empty()
                });
                if idle {
                    self.shutdown_executor(&fid, &eid, ctx);
                }
            }
            ExecutorState::Registering => {}
            ExecutorState::Running => {
                send_to_executor(executor, ToExecutor::Kill(msg), ctx);
            }
        }
    }

    pub(crate) fn shutdown_framework_message(
        &mut self,
        from: Upid,
        msg: ShutdownFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring shutdown framework from a process that is not the leading master");
            return;
        }
        if matches!(
            self.state,
            AgentState::Recovering | AgentState::Disconnected
        ) {
            return;
        }
        self.do_shutdown_framework(&msg.framework_id.value, ctx);
    }

    pub(crate) fn do_shutdown_framework(&mut self, fid: &str, ctx: &mut Context<Self>) {
        let Some(framework) = self.frameworks.get_mut(fid) else {
            return;
        };
        if framework.state == FrameworkState::Terminating {
            return;
        }
        tracing::info!(framework = fid, "shutting down framework");
        framework.state = FrameworkState::Terminating;
        framework.pending_tasks.clear();
        let executors: Vec<(String, ExecutorState)> = framework
            .executors
            .iter()
            .map(|(id, e)| (id.clone(), e.state))
            .collect();
        for (eid, state) in executors {
            match state {
                ExecutorState::Registering | ExecutorState::Running => {
                    self.shutdown_executor(fid, &eid, ctx)
                }
                ExecutorState::Terminated => self.remove_executor(fid, &eid, ctx),
                ExecutorState::Terminating => {}
            }
        }
        self.remove_framework_if_idle(fid, ctx);
    }

    pub(crate) fn shutdown_executor_from(
        &mut self,
        from: Upid,
        msg: ShutdownExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring shutdown executor from a process that is not the leading master");
            return;
        }
        if matches!(
            self.state,
            AgentState::Recovering | AgentState::Disconnected
        ) {
            return;
        }
        let (Some(fid), Some(eid)) = (msg.framework_id, msg.executor_id) else {
            return;
        };
        let Some(framework) = self.frameworks.get(&fid.value) else {
            return;
        };
        if framework.state == FrameworkState::Terminating {
            return;
        }
        if let Some(ExecutorState::Registering | ExecutorState::Running) =
            framework.executors.get(&eid.value).map(|e| e.state)
        {
            self.shutdown_executor(&fid.value, &eid.value, ctx)
        }
    }

    /// Asks an executor to shut down and destroys its container after the
    /// grace period (Mesos's `_shutdownExecutor`).
    pub(crate) fn shutdown_executor(&mut self, fid: &str, eid: &str, ctx: &mut Context<Self>) {
        let default_grace = self.flags.executor_shutdown_grace_period;
        let Some(executor) = self.executor_mut(fid, eid) else {
            return;
        };
        if executor.transition(ExecutorEvent::Shutdown).is_err() {
            return;
        }
        tracing::info!(executor = eid, framework = fid, "shutting down executor");
        send_to_executor(executor, ToExecutor::Shutdown, ctx);
        let grace = executor
            .info
            .shutdown_grace_period
            .as_ref()
            .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64))
            .unwrap_or_else(|| default_grace.to_std().unwrap_or(Duration::from_secs(5)));
        let (f, e, c) = (
            fid.to_string(),
            eid.to_string(),
            executor.container_id.clone(),
        );
        ctx.delay(grace, move |a: &mut Agent, _| {
            if let Some(executor) = a.executor(&f, &e)
                && executor.container_id == c
                && executor.state == ExecutorState::Terminating
            {
                tracing::info!(
                    executor = e,
                    "executor did not exit within its grace period; destroying it"
                );
                a.containerizer.destroy(&c);
            }
        });
        self.refresh_metrics();
    }

    /// An executor's container exited (Mesos's `executorTerminated`).
    pub(crate) fn executor_terminated(
        &mut self,
        fid: &str,
        eid: &str,
        cid: &str,
        status: WaitStatus,
        ctx: &mut Context<Self>,
    ) {
        let termination = self.containerizer.terminated(cid, status);
        let agent_id = self.agent_id();
        let agent_terminating = self.state == AgentState::Terminating;
        let Some(framework) = self.frameworks.get_mut(fid) else {
            return;
        };
        let framework_terminating = framework.state == FrameworkState::Terminating;
        let framework_id = FrameworkId {
            value: fid.to_string(),
        };
        let Some(executor) = framework.executors.get_mut(eid) else {
            return;
        };
        if executor.container_id != cid {
            return;
        }
        if executor.transition(ExecutorEvent::ContainerExited).is_err() {
            return;
        }
        tracing::info!(
            executor = eid,
            framework = fid,
            status = status.map_or_else(
                || "unknown".to_string(),
                crate::containerizer::reaper::describe
            ),
            "executor terminated"
        );
        if let Some(t) = executor.heartbeat_timer.take() {
            ctx.cancel(t);
        }
        executor.channel = super::framework::ExecutorChannel::None;
        let mut updates = Vec::new();
        if !framework_terminating {
            let mut ended: Vec<TaskId> = executor
                .launched_tasks
                .values()
                .filter(|t| {
                    !is_terminal_state(
                        TaskState::try_from(t.state).unwrap_or(TaskState::TaskStaging),
                    )
                })
                .map(|t| t.task_id.clone())
                .collect();
            ended.extend(executor.queued_tasks.iter().map(|t| t.task_id.clone()));
            for task_id in ended {
                updates.push(executor_terminated_update(
                    &framework_id,
                    &agent_id,
                    &task_id,
                    executor,
                    &termination,
                ));
            }
        } else {
            executor.terminate_launched();
        }
        let command_executor = executor.command_executor;
        let executor_id = executor.info.executor_id.clone();
        let incomplete = executor.incomplete_tasks();
        self.metrics().executors_terminated.inc();
        if !command_executor {
            self.send_exited_executor(&framework_id, &executor_id, status, ctx);
        }
        for update in updates {
            self.record_agent_update(update, ctx);
        }
        if agent_terminating || framework_terminating || !incomplete {
            self.remove_executor(fid, eid, ctx);
        }
        self.remove_framework_if_idle(fid, ctx);
        self.refresh_metrics();
    }

    pub(crate) fn send_exited_executor(
        &self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        status: WaitStatus,
        ctx: &mut Context<Self>,
    ) {
        let message = ExitedExecutorMessage {
            slave_id: self.agent_id(),
            framework_id: framework_id.clone(),
            executor_id: executor_id.clone(),
            status: status.unwrap_or(-1),
        };
        if let Some(master) = &self.master {
            ctx.send(master, &message);
        }
    }

    /// Archives a terminated executor and schedules its directories for
    /// garbage collection (Mesos's `removeExecutor`).
    pub(crate) fn remove_executor(&mut self, fid: &str, eid: &str, ctx: &mut Context<Self>) {
        let agent_id = self.agent_id().value;
        let max_completed = self.flags.max_completed_executors_per_framework;
        let Some(framework) = self.frameworks.get_mut(fid) else {
            return;
        };
        let Some(executor) = framework.executors.remove(eid) else {
            return;
        };
        let cid = executor.container_id.clone();
        if executor.checkpoint {
            let sentinel = paths::executor_sentinel_path(&self.meta_dir, &agent_id, fid, eid, &cid);
            if let Err(e) = checkpoint::touch(&sentinel) {
                tracing::warn!(error = %e, "cannot write the executor sentinel");
            }
        }
        let more_pending = framework.pending_tasks.contains_key(eid);
        framework.archive_executor(executor, max_completed);
        self.garbage_collect(paths::executor_run_path(
            &self.work_dir,
            &agent_id,
            fid,
            eid,
            &cid,
        ));
        if !more_pending {
            self.garbage_collect(paths::executor_path(&self.work_dir, &agent_id, fid, eid));
        }
        let checkpointed = self.frameworks.get(fid).is_some_and(|f| f.checkpoint());
        if checkpointed {
            self.garbage_collect(paths::executor_run_path(
                &self.meta_dir,
                &agent_id,
                fid,
                eid,
                &cid,
            ));
            if !more_pending {
                self.garbage_collect(paths::executor_path(&self.meta_dir, &agent_id, fid, eid));
            }
        }
        let _ = ctx;
    }

    pub(crate) fn remove_framework_if_idle(&mut self, fid: &str, ctx: &mut Context<Self>) {
        if self.frameworks.get(fid).is_some_and(|f| f.idle()) {
            self.remove_framework(fid, ctx);
        }
    }

    /// Forgets an idle framework (Mesos's `removeFramework`).
    pub(crate) fn remove_framework(&mut self, fid: &str, ctx: &mut Context<Self>) {
        let Some(framework) = self.frameworks.remove(fid) else {
            return;
        };
        tracing::info!(framework = fid, "cleaning up framework");
        if let Some(t) = &self.tsum {
            let f = fid.to_string();
            t.dispatch(move |m, ctx| m.cleanup(&f, ctx));
        }
        let agent_id = self.agent_id().value;
        self.garbage_collect(paths::framework_path(&self.work_dir, &agent_id, fid));
        if framework.checkpoint() {
            self.garbage_collect(paths::framework_path(&self.meta_dir, &agent_id, fid));
        }
        self.archive_framework(framework);
        self.refresh_metrics();
        self.update_drain_status();
        if self.state == AgentState::Terminating && self.frameworks.is_empty() {
            ctx.terminate();
        }
    }

    pub(crate) fn garbage_collect(&self, path: PathBuf) {
        let delay = self
            .flags
            .gc_delay
            .to_std()
            .unwrap_or(Duration::from_secs(7 * 86400));
        // Touch it so its age counts from now.
        let _ =
            std::fs::File::open(&path).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        if let Some(gc) = &self.gc {
            gc.dispatch(move |g, ctx| g.schedule(delay, path, ctx));
        }
        if let Some(m) = &self.metrics {
            let age = crate::gc::GarbageCollector::disk_usage(&self.work_dir)
                .map(|u| crate::gc::max_age(delay, self.flags.gc_disk_headroom, u))
                .unwrap_or(delay);
            m.executor_directory_max_allowed_age_secs
                .set(age.as_secs_f64());
        }
    }

    pub(crate) fn unschedule_gc(&self, path: PathBuf) {
        if let Some(gc) = &self.gc
            && path.exists()
        {
            gc.dispatch(move |g, ctx| {
                g.unschedule(&path, ctx);
            });
        }
    }
}

/// The update the agent sends for a task whose executor is gone (Mesos's
/// `sendExecutorTerminatedStatusUpdate`).
fn executor_terminated_update(
    framework_id: &FrameworkId,
    agent_id: &mesos_common::proto::v0::SlaveId,
    task_id: &TaskId,
    executor: &Executor,
    termination: &ContainerTermination,
) -> StatusUpdate {
    let pending = executor.pending_termination.as_ref();
    let state = termination
        .state
        .or(pending.and_then(|p| p.state))
        .and_then(|s| TaskState::try_from(s).ok())
        .unwrap_or(TaskState::TaskFailed);
    let reason = termination
        .reason
        .or(pending.and_then(|p| p.reason))
        .and_then(|r| task_status::Reason::try_from(r).ok())
        .unwrap_or(task_status::Reason::ExecutorTerminated);
    let mut messages = Vec::new();
    if let Some(m) = pending.and_then(|p| p.message.clone()) {
        messages.push(m);
    }
    if let Some(m) = termination.message.clone().filter(|m| !m.is_empty()) {
        messages.push(m);
    }
    let message = if messages.is_empty() {
        "Executor terminated".to_string()
    } else {
        messages.join("; ")
    };
    let mut update = agent_status_update(
        framework_id,
        agent_id,
        task_id,
        state,
        message,
        Some(reason),
        Some(&executor.info.executor_id),
    );
    // A container limitation names the resources that were exceeded.
    if !termination.limited_resources.is_empty() {
        update.status.limitation = Some(mesos_common::proto::v0::TaskResourceLimitation {
            resources: termination.limited_resources.clone(),
        });
    }
    update
}

/// Gives resources without an allocation the framework's role (Mesos's
/// `injectAllocationInfo`).
fn inject_allocation_role(resources: &mut [Resource], role: &str) {
    for r in resources {
        if r.allocation_info.is_none() {
            r.allocation_info = Some(mesos_common::proto::v0::resource::AllocationInfo {
                role: Some(role.to_string()),
            });
        }
    }
}

/// Creates a sandbox, owned by `user` when the agent may switch users.
fn create_sandbox(directory: &std::path::Path, user: Option<&str>) -> Result<(), String> {
    std::fs::create_dir_all(directory)
        .map_err(|e| format!("cannot create sandbox '{}': {e}", directory.display()))?;
    if let Some(user) = user
        && rustix::process::geteuid().is_root()
    {
        let (uid, gid) = crate::containerizer::launch::lookup_user(user)
            .ok_or_else(|| format!("Failed to chown sandbox: unknown user '{user}'"))?;
        std::os::unix::fs::chown(directory, Some(uid), Some(gid))
            .map_err(|e| format!("Failed to chown sandbox to '{user}': {e}"))?;
    }
    Ok(())
}
