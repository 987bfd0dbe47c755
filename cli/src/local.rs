//! `mesos-local`: a master and N agents in one OS process (Mesos's
//! `src/local/local.cpp`), with the in-memory registry, for development and
//! demos.
//!
//! The master runs in its own libprocess runtime on `--ip:--port`; each agent
//! runs in a runtime of its own on a free port of the same address, as
//! `slave(1)` there. One runtime per agent (rather than `slave(1)`,
//! `slave(2)`, ... in the master's runtime) keeps every agent reachable exactly
//! like a standalone `mesos-agent`: `/state`, `/files/*` and
//! `/api/v1/executor` reach it through its runtime's delegate, which is what
//! executors that address the agent by `MESOS_AGENT_ENDPOINT` (pymesos) rely
//! on. The cost is two threads per agent.
//!
//! Directories follow Mesos's local layout: `<work_dir>/master`,
//! `<work_dir>/agents/<i>/work` and `<work_dir>/agents/<i>/run`.

use std::path::PathBuf;

use libprocess::{Runtime, Upid};
use mesos_agent::{Agent, AgentFlags, AgentHandle};
use mesos_common::define_flags;
use mesos_common::flags::{FlagsLoader, Loaded};
use mesos_master::{MasterFlags, MasterHandle, MasterOptions, start_master};

define_flags! {
    /// Flags of `mesos-local`.
    #[derive(Debug, Clone)]
    pub struct LocalFlags {
        pub num_agents: usize {
            alias: "num_slaves",
            default: 1usize,
            help: "Number of agents to launch for local cluster",
        },
        pub work_dir: String {
            default: "/tmp/mesos/local",
            help: "Path of the master/agent work directory. This is where the\npersistent information of the cluster will be stored.\n\nNOTE: Locations like `/tmp` which are cleaned automatically are not\nsuitable for the work directory when running in production, since\nlong-running masters and agents could lose data when cleanup occurs.\n(Example: `/var/lib/mesos`)",
        },
        pub ip: Option<String> {
            help: "IP address the master (and the agents) listen on (default: LIBPROCESS_IP, else all interfaces).",
        },
        pub port: u16 { default: 5050u16, help: "Port the master listens on." },
        pub hostname: Option<String> {
            help: "The hostname the master and agents report.",
        },
        pub resources: Option<String> {
            help: "Resources of each agent (e.g. 'cpus:2;mem:2048'); what is left out is detected.",
        },
        pub attributes: Option<String> { help: "Attributes of each agent ('rack:2;u:1')." },
        pub isolation: String {
            default: "posix/cpu,posix/mem",
            help: "Isolation mechanisms of the agents.",
        },
        pub launcher_dir: Option<PathBuf> {
            help: "Directory holding mesos-executor and mesos-containerizer (default: this binary's).",
        },
        pub http_command_executor: bool {
            default: true,
            help: "Whether the command executor uses the v1 HTTP API (else the v0 driver).",
        },
    }
}

impl LocalFlags {
    /// Loads from argv and `MESOS_*` variables.
    pub fn load_from_process() -> Result<Loaded<LocalFlags>, mesos_common::flags::FlagError> {
        FlagsLoader::new().env_prefix("MESOS_").load_from_process()
    }
}

/// Why the local cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("master: {0}")]
    Master(#[from] mesos_master::MasterError),
    #[error("agent {index}: {source}")]
    Agent {
        index: usize,
        #[source]
        source: mesos_agent::AgentError,
    },
    #[error("runtime: {0}")]
    Runtime(#[from] libprocess::Error),
    #[error(
        "'{0}' has no mesos-containerizer: build the agent binaries (cargo build -p mesos-agent) or pass --launcher_dir"
    )]
    LauncherDir(PathBuf),
}

/// A running local cluster.
pub struct LocalCluster {
    pub master: MasterHandle,
    pub agents: Vec<AgentHandle>,
    runtimes: Vec<Runtime>,
    master_runtime: Option<Runtime>,
}

impl LocalCluster {
    /// Starts the master, then the agents.
    pub fn start(flags: &LocalFlags) -> Result<LocalCluster, LocalError> {
        let work = PathBuf::from(&flags.work_dir);
        let launcher_dir = flags
            .launcher_dir
            .clone()
            .unwrap_or_else(mesos_agent::flags::default_launcher_dir);
        if !launcher_dir
            .join(mesos_agent::constants::MESOS_CONTAINERIZER)
            .is_file()
        {
            return Err(LocalError::LauncherDir(launcher_dir));
        }
        let master_flags = MasterFlags {
            ip: flags.ip.clone(),
            port: flags.port,
            hostname: flags.hostname.clone(),
            work_dir: Some(work.join("master").display().to_string()),
            registry: "in_memory".into(),
            ..MasterFlags::default()
        };
        let _ = std::fs::create_dir_all(work.join("master"));
        let master_runtime = Runtime::bind(mesos_master::runtime_config(&master_flags)?)?;
        let master = start_master(&master_runtime.handle(), MasterOptions::new(master_flags))?;
        let master_address = master.upid().address();
        let mut cluster = LocalCluster {
            master,
            agents: Vec::new(),
            runtimes: Vec::new(),
            master_runtime: Some(master_runtime),
        };
        for index in 0..flags.num_agents {
            let dir = work.join("agents").join(index.to_string());
            let mut agent_flags = AgentFlags::for_embedding(
                dir.join("work").display().to_string(),
                master_address.to_string(),
            );
            agent_flags.ip = flags.ip.clone();
            agent_flags.port = 0;
            agent_flags.hostname = flags.hostname.clone();
            agent_flags.resources = flags.resources.clone();
            agent_flags.attributes = flags.attributes.clone();
            agent_flags.isolation = flags.isolation.clone();
            agent_flags.launcher_dir = Some(launcher_dir.clone());
            agent_flags.runtime_dir = Some(dir.join("run"));
            agent_flags.http_command_executor = flags.http_command_executor;
            let runtime = Runtime::bind(
                mesos_agent::runtime_config(&agent_flags)
                    .map_err(|source| LocalError::Agent { index, source })?,
            )?;
            let agent = Agent::spawn(&runtime.handle(), agent_flags)
                .map_err(|source| LocalError::Agent { index, source })?;
            cluster.agents.push(agent);
            cluster.runtimes.push(runtime);
        }
        Ok(cluster)
    }

    /// The master's UPID.
    pub fn master_upid(&self) -> &Upid {
        self.master.upid()
    }

    /// Shuts the agents down (their executors are killed), then the master.
    /// Blocks; call it outside any async executor.
    pub fn shutdown(mut self) {
        for agent in &self.agents {
            agent.shutdown();
        }
        for agent in &self.agents {
            libprocess::block_on(agent.terminated());
        }
        for runtime in self.runtimes.drain(..) {
            runtime.shutdown();
        }
        if let Some(runtime) = self.master_runtime.take() {
            runtime.shutdown();
        }
    }
}
