//! The Mesos containerizer: turns a `ContainerConfig` (an executor to run, its
//! sandbox, resources and environment) into a running container, watches it,
//! reports its usage and destroys it.
//!
//! Supervision: agent -> containerizer -> isolators (hooks, [`isolator`]) and
//! launcher (spawn and kill, [`launcher`]); every container's first process is
//! `mesos-containerizer launch` ([`launch`]), which execs the executor; exits
//! are watched through pidfds ([`reaper`]); whether a container gets its own
//! hostname (UTS namespace) is decided in [`uts`]. The containerizer is owned
//! by the agent actor and runs on its thread; it never blocks on a container.

pub mod isolator;
pub mod isolators;
pub mod launch;
pub mod launcher;
pub mod linux;
pub mod reaper;
pub mod uts;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use mesos_common::proto::v0::slave::{
    ContainerConfig, ContainerLaunchInfo, ContainerLimitation, ContainerTermination,
};
use mesos_common::proto::v0::{Environment, ResourceStatistics, TaskState, environment::Variable};

use self::isolator::{IsolationOptions, Isolator, Limitation};
use self::launcher::{ForkSpec, Launcher, PosixLauncher};
use self::reaper::WaitStatus;
use crate::checkpoint;
use crate::constants::{LAUNCH_INFO_INLINE_BYTES_MAX, MESOS_CONTAINERIZER};
use crate::error::AgentError;
use crate::protobuf_utils::now_secs;

/// The `PATH` a container gets when its environment sets none (Mesos's
/// `os::host_default_path()`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Merges an isolator's launch additions (other than the environment, which
/// the caller merges) into the launch description, as Mesos's containerizer
/// merges each isolator's `ContainerLaunchInfo`.
fn merge_launch_info(info: &mut ContainerLaunchInfo, extra: ContainerLaunchInfo) {
    if let Some(rlimits) = extra.rlimits {
        info.rlimits
            .get_or_insert_with(Default::default)
            .rlimits
            .extend(rlimits.rlimits);
    }
    if extra.no_new_privileges == Some(true) {
        info.no_new_privileges = Some(true);
    }
    for ns in extra.clone_namespaces {
        if !info.clone_namespaces.contains(&ns) {
            info.clone_namespaces.push(ns);
        }
    }
    if extra.effective_capabilities.is_some() {
        info.effective_capabilities = extra.effective_capabilities;
    }
    if extra.bounding_capabilities.is_some() {
        info.bounding_capabilities = extra.bounding_capabilities;
    }
    if extra.seccomp_profile.is_some() {
        info.seccomp_profile = extra.seccomp_profile;
    }
}

/// A container the containerizer knows.
#[derive(Debug, Clone)]
pub struct Container {
    pub pid: u32,
    pub directory: PathBuf,
    /// `None` for containers recovered after a restart.
    pub config: Option<ContainerConfig>,
    pub destroying: bool,
    /// The limitation that ended it (an isolator's watch fired).
    pub limitation: Option<ContainerLimitation>,
}

/// What the agent asks to launch.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    pub container_id: String,
    pub config: ContainerConfig,
    /// The executor's environment (`executorEnvironment()`).
    pub environment: BTreeMap<String, String>,
    /// Where to checkpoint the forked pid (checkpointing frameworks).
    pub forked_pid_path: Option<PathBuf>,
}

/// A launch prepared on the agent's thread, to be forked on a blocking thread
/// ([`Containerizer::prepare`], [`PreparedLaunch::fork`], [`Containerizer::launched`]).
pub struct PreparedLaunch {
    pub container_id: String,
    spec: ForkSpec,
    launcher: Arc<dyn Launcher>,
    config: ContainerConfig,
    forked_pid_path: Option<PathBuf>,
}

impl std::fmt::Debug for PreparedLaunch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedLaunch({})", self.container_id)
    }
}

impl PreparedLaunch {
    /// Starts the helper (blocks until it runs: call it off the actor thread).
    pub fn fork(&self) -> Result<u32, AgentError> {
        self.launcher.fork(&self.container_id, &self.spec)
    }
}

/// See the module docs.
pub struct Containerizer {
    launcher_dir: PathBuf,
    runtime_dir: PathBuf,
    launcher: Arc<dyn Launcher>,
    isolators: Vec<Box<dyn Isolator>>,
    containers: HashMap<String, Container>,
}

impl std::fmt::Debug for Containerizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Containerizer")
            .field("launcher_dir", &self.launcher_dir)
            .field("containers", &self.containers.len())
            .finish()
    }
}

impl Containerizer {
    pub fn new(
        launcher_dir: PathBuf,
        runtime_dir: PathBuf,
        isolation: &str,
    ) -> Result<Containerizer, AgentError> {
        Containerizer::with_options(
            launcher_dir,
            runtime_dir,
            isolation,
            &IsolationOptions::default(),
        )
    }

    /// [`new`](Self::new) with the agent's cgroups flags.
    pub fn with_options(
        launcher_dir: PathBuf,
        runtime_dir: PathBuf,
        isolation: &str,
        options: &IsolationOptions,
    ) -> Result<Containerizer, AgentError> {
        let isolators = isolator::parse_isolation(isolation)
            .map_err(|reason| AgentError::InvalidFlag {
                flag: "isolation",
                reason,
            })?
            .into_iter()
            .map(|k| k.create(options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AgentError::InvalidFlag {
                flag: "isolation",
                reason: e.to_string(),
            })?;
        Ok(Containerizer {
            launcher_dir,
            runtime_dir,
            launcher: Arc::new(PosixLauncher),
            isolators,
            containers: HashMap::new(),
        })
    }

    /// Adds an isolator that needs more than `--isolation` to build (e.g.
    /// `filesystem/posix`, which needs the work directory).
    pub fn add_isolator(&mut self, isolator: Box<dyn Isolator>) {
        self.isolators.push(isolator);
    }

    pub fn launcher_dir(&self) -> &Path {
        &self.launcher_dir
    }

    pub fn containers(&self) -> impl Iterator<Item = (&String, &Container)> {
        self.containers.iter()
    }

    pub fn get(&self, container_id: &str) -> Option<&Container> {
        self.containers.get(container_id)
    }

    /// The launch description for a request: the executor's command in its
    /// sandbox with exactly this environment (plus `MESOS_SANDBOX`, the
    /// command's own variables and a default `PATH`), merged with what the
    /// isolators add.
    pub fn launch_info(
        &mut self,
        request: &LaunchRequest,
    ) -> Result<ContainerLaunchInfo, AgentError> {
        let config = &request.config;
        let mut env = request.environment.clone();
        env.insert("MESOS_SANDBOX".into(), config.directory.clone());
        if let Some(command_env) = &config.command_info.environment {
            for v in &command_env.variables {
                if let Some(value) = &v.value {
                    env.insert(v.name.clone(), value.clone());
                }
            }
        }
        env.entry("PATH".into())
            .or_insert_with(|| DEFAULT_PATH.into());
        let mut info = ContainerLaunchInfo {
            command: Some(config.command_info.clone()),
            working_directory: Some(config.directory.clone()),
            user: config.user.clone(),
            ..Default::default()
        };
        for iso in &mut self.isolators {
            let extra = iso
                .prepare(&request.container_id, config)
                .map_err(|e| AgentError::Launch(e.to_string()))?;
            if let Some(extra) = extra {
                for v in extra.environment.iter().flat_map(|e| e.variables.iter()) {
                    if let Some(value) = &v.value {
                        env.insert(v.name.clone(), value.clone());
                    }
                }
                merge_launch_info(&mut info, extra);
            }
        }
        if uts::container_hostname(config)?.is_some() {
            info.clone_namespaces.push(uts::CLONE_NEWUTS);
        }
        info.environment = Some(Environment {
            variables: env
                .into_iter()
                .map(|(name, value)| Variable {
                    name,
                    value: Some(value),
                    ..Default::default()
                })
                .collect(),
        });
        Ok(info)
    }

    /// Launches a container on this thread; returns its pid. The caller then
    /// watches it with [`wait`](Self::wait). The agent uses the split form
    /// ([`prepare`](Self::prepare) + fork elsewhere + [`launched`](Self::launched)).
    pub fn launch(&mut self, request: LaunchRequest) -> Result<u32, AgentError> {
        let prepared = self.prepare(request)?;
        let pid = prepared.fork()?;
        self.launched(prepared, pid)?;
        Ok(pid)
    }

    /// Everything before the fork: the launch description (passed inline or,
    /// when large, through a file) and the helper's command.
    pub fn prepare(&mut self, request: LaunchRequest) -> Result<PreparedLaunch, AgentError> {
        if self.containers.contains_key(&request.container_id) {
            return Err(AgentError::Launch(format!(
                "container {} already exists",
                request.container_id
            )));
        }
        // Checked first: a bad hostname leaves no isolator state to undo.
        let hostname = uts::container_hostname(&request.config)?.map(str::to_string);
        let info = match self.launch_info(&request) {
            Ok(info) => info,
            Err(e) => {
                // Undo what the isolators that did prepare created.
                self.cleanup_isolators(&request.container_id);
                return Err(e);
            }
        };
        let cgroups = self
            .isolators
            .iter()
            .flat_map(|i| i.cgroups(&request.container_id))
            .collect();
        let encoded = launch::encode_launch_info_protobuf(&info);
        let launch_info_arg = if encoded.len() <= LAUNCH_INFO_INLINE_BYTES_MAX {
            format!("--launch_info_protobuf={encoded}")
        } else {
            let path = self
                .runtime_dir
                .join("containers")
                .join(&request.container_id)
                .join("launch_info.pb64");
            checkpoint::write_text(&path, &encoded)?;
            format!("--launch_info_protobuf=file://{}", path.display())
        };
        let sandbox = PathBuf::from(&request.config.directory);
        Ok(PreparedLaunch {
            spec: ForkSpec {
                helper: self.launcher_dir.join(MESOS_CONTAINERIZER),
                launch_info_arg,
                sandbox,
                cgroups,
                hostname,
            },
            launcher: self.launcher.clone(),
            container_id: request.container_id,
            config: request.config,
            forked_pid_path: request.forked_pid_path,
        })
    }

    /// Everything after the fork: checkpoint the pid, run the isolators'
    /// `isolate`, remember the container. On failure the container is killed.
    pub fn launched(&mut self, prepared: PreparedLaunch, pid: u32) -> Result<(), AgentError> {
        let id = prepared.container_id;
        if let Some(path) = &prepared.forked_pid_path
            && let Err(e) = checkpoint::write_text(path, &pid.to_string())
        {
            self.launcher.destroy(&id, pid);
            return Err(e);
        }
        for iso in &mut self.isolators {
            if let Err(e) = iso.isolate(&id, pid) {
                self.launcher.destroy(&id, pid);
                return Err(AgentError::Launch(e.to_string()));
            }
        }
        self.containers.insert(
            id,
            Container {
                pid,
                directory: prepared.spec.sandbox,
                config: Some(prepared.config),
                destroying: false,
                limitation: None,
            },
        );
        Ok(())
    }

    /// Kills a forked container the agent no longer wants (before `launched`).
    pub fn discard(&self, prepared: &PreparedLaunch, pid: u32) {
        self.launcher.destroy(&prepared.container_id, pid);
    }

    fn cleanup_isolators(&mut self, container_id: &str) {
        for iso in &mut self.isolators {
            if let Err(e) = iso.cleanup(container_id) {
                tracing::warn!(container_id, error = %e, "isolator cleanup failed");
            }
        }
    }

    /// An isolator's watch fired: the container hit a limit and is destroyed
    /// (Mesos `limited`). Ignored for containers already gone or being
    /// destroyed, and for watches that ended without a limitation.
    pub fn limited(&mut self, container_id: &str, limitation: ContainerLimitation) {
        if limitation.reason.is_none() {
            return;
        }
        let Some(c) = self.containers.get_mut(container_id) else {
            return;
        };
        if c.destroying {
            return;
        }
        tracing::info!(
            container_id,
            message = limitation.message.as_deref().unwrap_or(""),
            "container reached its limit and will be terminated"
        );
        c.limitation = Some(limitation);
        self.destroy(container_id);
    }

    /// After recovery: every isolator removes what it holds for containers
    /// that were not recovered (e.g. cgroups left by an agent killed
    /// between a launch and its checkpoint).
    pub fn cleanup_orphans(&mut self) {
        let known: HashSet<String> = self.containers.keys().cloned().collect();
        for iso in &mut self.isolators {
            iso.cleanup_orphans(&known);
        }
    }

    /// Takes back a container found at recovery (its process may be gone).
    pub fn recover(&mut self, container_id: &str, pid: u32, directory: PathBuf) {
        for iso in &mut self.isolators {
            iso.recover(container_id, &directory);
        }
        self.containers.insert(
            container_id.to_string(),
            Container {
                pid,
                directory,
                config: None,
                destroying: false,
                limitation: None,
            },
        );
    }

    /// Resolves when the container's first process exits.
    pub fn wait(&self, container_id: &str) -> Pin<Box<dyn Future<Output = WaitStatus>>> {
        match self.containers.get(container_id) {
            Some(c) => reaper::wait_pid(c.pid),
            None => Box::pin(futures::future::ready(None)),
        }
    }

    /// The isolators' limitation watches of a container.
    pub fn limitations(&mut self, container_id: &str) -> Vec<Limitation> {
        self.isolators
            .iter_mut()
            .filter_map(|i| i.watch(container_id))
            .collect()
    }

    /// Kills every process of the container; its `wait` then resolves.
    pub fn destroy(&mut self, container_id: &str) {
        if let Some(c) = self.containers.get_mut(container_id) {
            c.destroying = true;
            let pid = c.pid;
            self.launcher.destroy(container_id, pid);
        }
    }

    /// The container's first process exited: kills what is left of it, runs
    /// the isolators' cleanup and forgets it. Returns the termination.
    pub fn terminated(&mut self, container_id: &str, status: WaitStatus) -> ContainerTermination {
        let mut limitation = None;
        if let Some(c) = self.containers.remove(container_id) {
            // Orphans of the executor die with it, as in a pid namespace.
            self.launcher.destroy(container_id, c.pid);
            limitation = c.limitation;
        }
        if limitation.is_none() {
            limitation = self
                .isolators
                .iter_mut()
                .find_map(|i| i.exit_limitation(container_id));
        }
        self.cleanup_isolators(container_id);
        let _ = std::fs::remove_dir_all(self.runtime_dir.join("containers").join(container_id));
        // Like Mesos's containerizer, a plain exit carries no message; the
        // agent says "Executor terminated" (see `executor_terminated_update`).
        // A limitation fails the tasks with its reason and message.
        match limitation {
            Some(l) => ContainerTermination {
                status,
                state: Some(TaskState::TaskFailed as i32),
                reason: l.reason,
                message: l.message,
                limited_resources: l.resources,
            },
            None => ContainerTermination {
                status,
                ..Default::default()
            },
        }
    }

    /// Resource usage of a container (`/monitor/statistics`).
    pub fn usage(&self, container_id: &str) -> Option<ResourceStatistics> {
        let c = self.containers.get(container_id)?;
        let mut stats = ResourceStatistics {
            timestamp: now_secs(),
            ..Default::default()
        };
        for iso in &self.isolators {
            iso.usage(container_id, c.pid, &mut stats);
        }
        Some(stats)
    }

    /// New resources for a container (tasks joined or left).
    pub fn update(&mut self, container_id: &str, resources: &[mesos_common::proto::v0::Resource]) {
        if !self.containers.contains_key(container_id) {
            return;
        }
        for iso in &mut self.isolators {
            if let Err(e) = iso.update(container_id, resources) {
                tracing::warn!(container_id, error = %e, "isolator update failed");
            }
        }
    }
}
