//! The agent's flags (`mesos-agent --help`), with Mesos 1.11's names and
//! defaults (`src/slave/flags.cpp`), loaded from argv and `MESOS_*` variables.
//!
//! One deliberate difference: `--http_command_executor` defaults to `true`, so
//! the command executor speaks the v1 executor HTTP API unless told otherwise
//! (Mesos defaults to the v0 driver, which needs libmesos in the executor).

use std::path::PathBuf;

use mesos_common::define_flags;
use mesos_common::flags::{FlagsLoader, Loaded};
use mesos_common::units::Duration;
use serde_json::{Map, Value as Json};

use crate::error::AgentError;

define_flags! {
    /// Flags of `mesos-agent` (alias `mesos-slave`).
    #[derive(Debug, Clone)]
    pub struct AgentFlags {
        pub master: Option<String> {
            help: "May be one of:\n  host:port\n  master@host:port\n  host1:port1,host2:port2 (tried in turn on re-detection)",
        },
        pub work_dir: String {
            help: "Path of the agent work directory. This is where executor sandboxes\nwill be placed, as well as the agent's checkpointed state.",
        },
        pub ip: Option<String> {
            help: "IP address to listen on (default: LIBPROCESS_IP, else all interfaces).",
        },
        pub port: u16 { default: 5051u16, help: "Port to listen on." },
        pub advertise_ip: Option<String> {
            help: "IP address advertised to reach this agent (in its UPID).",
        },
        pub advertise_port: Option<u16> {
            help: "Port advertised to reach this agent (in its UPID).",
        },
        pub hostname: Option<String> {
            help: "The hostname the agent should report. If left unset, the hostname\nis resolved from the IP address that the agent advertises.",
        },
        pub hostname_lookup: bool {
            default: true,
            help: "Whether to look up the hostname when --hostname is not given.",
        },
        pub resources: Option<String> {
            help: "Total consumable resources per agent, e.g.\n'cpus:4;mem:8192;disk:20480;ports:[31000-32000]' or a JSON array.\nResources left out are auto-detected.",
        },
        pub attributes: Option<String> {
            help: "Attributes of the machine, in the form 'rack:2;u:1'.",
        },
        pub default_role: String {
            default: "*",
            help: "Role for --resources entries without one.",
        },
        pub isolation: String {
            default: "posix/cpu,posix/mem",
            help: "Isolation mechanisms to use, comma separated.",
            validate: |v: &String| crate::containerizer::isolator::parse_isolation(v).map(|_| ()),
        },
        pub cgroups_hierarchy: PathBuf {
            default: PathBuf::from("/sys/fs/cgroup"),
            help: "The path to the cgroups hierarchy root.",
        },
        pub cgroups_root: String {
            default: "mesos",
            help: "Name of the root cgroup.",
        },
        pub cgroups_enable_cfs: bool {
            default: false,
            help: "Cgroups feature flag to enable hard limits on CPU resources\nvia the CFS bandwidth limiting subfeature.",
        },
        pub cgroups_limit_swap: bool {
            default: false,
            help: "Cgroups feature flag to enable memory limits on both memory and\nswap instead of just memory.",
        },
        pub effective_capabilities: Option<String> {
            help: "JSON representation of the system capabilities needed for execution\nof tasks by default (CapabilityInfo), e.g. '{\"capabilities\": [\"NET_RAW\"]}'.",
            validate: |v: &Option<String>| v.as_deref().map_or(Ok(()), |v| crate::containerizer::isolators::linux_capabilities::parse_flag(v).map(|_| ())),
        },
        pub bounding_capabilities: Option<String> {
            help: "JSON representation of the upper bound of system capabilities\ntasks may have (CapabilityInfo).",
            validate: |v: &Option<String>| v.as_deref().map_or(Ok(()), |v| crate::containerizer::isolators::linux_capabilities::parse_flag(v).map(|_| ())),
        },
        pub seccomp_config_dir: Option<PathBuf> {
            help: "Directory path of the Seccomp profiles (Docker JSON format).",
        },
        pub seccomp_profile_name: Option<String> {
            help: "Path of the default Seccomp profile relative to the\n`seccomp_config_dir`; without it containers run without a filter\nunless they name a profile.",
        },
        pub enforce_container_disk_quota: bool {
            default: false,
            help: "Whether to enable disk quota enforcement for containers (disk/du).",
        },
        pub container_disk_watch_interval: Duration {
            default: Duration::from_secs(15),
            help: "The interval between disk quota checks for containers (disk/du).",
        },
        pub containerizers: String {
            default: "mesos",
            help: "Comma separated list of containerizer implementations.",
            validate: |v: &String| if v.split(',').all(|c| c.trim() == "mesos") { Ok(()) } else { Err(format!("unsupported containerizers '{v}' (only 'mesos')")) },
        },
        pub launcher_dir: Option<PathBuf> {
            help: "Directory holding mesos-executor, mesos-default-executor and\nmesos-containerizer (default: the directory of the running agent binary,\nelse /usr/local/libexec/mesos).",
        },
        pub sandbox_directory: String {
            default: "/mnt/mesos/sandbox",
            help: "The absolute path for the directory in the container where the\nsandbox is mapped to.",
        },
        pub switch_user: bool {
            default: true,
            help: "Run tasks as the user who submitted them (needs root).",
        },
        pub registration_backoff_factor: Duration {
            default: Duration::from_secs(1),
            help: "Agent initially picks a random amount of time between [0, b], where\nb = registration_backoff_factor, to (re-)register with a new master.\nSubsequent retries are exponentially backed off based on this\ninterval (e.g., 1st retry uses a random value between [0, b * 2^1],\n2nd retry between [0, b * 2^2], 3rd retry between [0, b * 2^3],\netc) up to a maximum of 1mins",
        },
        pub executor_environment_variables: Option<Map<String, Json>> {
            help: "JSON object of environment variables passed to executors.",
            validate: |v: &Option<Map<String, Json>>| match v {
                Some(map) => match map.iter().find(|(_, value)| !value.is_string()) {
                    Some((k, _)) => Err(format!("value of '{k}' must be a string")),
                    None => Ok(()),
                },
                None => Ok(()),
            },
        },
        pub executor_registration_timeout: Duration {
            default: Duration::from_mins(1),
            help: "Amount of time to wait for an executor to register with the agent\nbefore considering it hung and shutting it down (e.g., 60secs, 3mins, etc)",
        },
        pub executor_reregistration_timeout: Duration {
            default: Duration::from_secs(2),
            help: "The timeout within which an executor is expected to reregister after\nthe agent has restarted, before the agent considers it gone and shuts\nit down. Note that currently, the agent will not reregister with the\nmaster until this timeout has elapsed (see MESOS-7539).",
            validate: |d: &Duration| if d.ns() <= Duration::from_secs(15).ns() { Ok(()) } else { Err("Expected `--executor_reregistration_timeout` to be not more than 15secs".into()) },
        },
        pub executor_reregistration_retry_interval: Option<Duration> {
            help: "For PID-based executors, how long the agent waits before retrying\nthe reconnect message sent to the executor during recovery.",
        },
        pub executor_shutdown_grace_period: Duration {
            default: Duration::from_secs(5),
            help: "Default amount of time to wait for an executor to shut down\n(e.g. 60secs, 3mins, etc). ExecutorInfo.shutdown_grace_period\noverrides this default.",
        },
        pub gc_delay: Duration {
            default: Duration::from_weeks(1),
            help: "Maximum amount of time to wait before cleaning up\nexecutor directories (e.g., 3days, 2weeks, etc).\nNote that this delay may be shorter depending on\nthe available disk usage.",
        },
        pub gc_disk_headroom: f64 {
            default: 0.1,
            help: "Adjust disk headroom used to calculate maximum executor\ndirectory age. Age is calculated by:\n`gc_delay * max(0.0, (1.0 - gc_disk_headroom - disk usage))`\nevery `--disk_watch_interval` duration. `gc_disk_headroom` must\nbe a value between 0.0 and 1.0",
            validate: |v: &f64| if (0.0..=1.0).contains(v) { Ok(()) } else { Err("Expected --gc_disk_headroom to be between 0.0 and 1.0".into()) },
        },
        pub disk_watch_interval: Duration {
            default: Duration::from_mins(1),
            help: "Periodic time interval (e.g., 10secs, 2mins, etc)\nto check the overall disk usage managed by the agent.\nThis drives the garbage collection of archived\ninformation and sandboxes.",
        },
        pub recover: String {
            default: "reconnect",
            help: "Whether to recover status updates and reconnect with old executors.\nValid values for 'recover' are\nreconnect: Reconnect with any old live executors.\ncleanup  : Kill any old live executors and exit.\n           Use this option when doing an incompatible agent\n           or executor upgrade!).",
            validate: |v: &String| RecoverMode::parse(v).map(|_| ()),
        },
        pub recovery_timeout: Duration {
            default: Duration::from_mins(15),
            help: "Amount of time allotted for the agent to recover. If the agent takes\nlonger than recovery_timeout to recover, any executors that are\nwaiting to reconnect to the agent will self-terminate.",
        },
        pub strict: bool {
            default: true,
            help: "If strict=true, any and all recovery errors are considered fatal.\nIf strict=false, any expected errors (e.g., agent cannot recover\ninformation about an executor, because the agent died right before\nthe executor registered.) during recovery are ignored and as much\nstate as possible is recovered.",
        },
        pub reconfiguration_policy: String {
            default: "equal",
            help: "This flag controls which agent configuration changes are considered\nacceptable when recovering the previous agent state: 'equal' or 'additive'.",
            validate: |v: &String| if v == "equal" || v == "additive" { Ok(()) } else { Err(format!("unknown reconfiguration policy '{v}'")) },
        },
        pub max_completed_executors_per_framework: usize {
            default: 150usize,
            help: "Maximum number of completed executors per framework to store\nin memory.",
        },
        pub http_command_executor: bool {
            default: true,
            help: "The underlying executor library to be used for the command executor.\nIf set to `true`, the command executor would use the HTTP based\nexecutor library to interact with the Mesos agent. If set to `false`,\nthe driver based implementation would be used.",
        },
        pub http_heartbeat_interval: Duration {
            default: Duration::from_secs(30),
            help: "This flag sets a heartbeat interval for messages to be sent over\npersistent connections made against the agent HTTP API.",
        },
        pub runtime_dir: Option<PathBuf> {
            help: "Where the agent keeps files that live only as long as the host runs\n(container launch descriptions); default <work_dir>/runtime.",
        },
        pub version: bool {
            default: false,
            help: "Show version and exit.",
        },
    }
}

/// `--recover`: what to do with executors found at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoverMode {
    /// Reconnect to live executors of checkpointing frameworks.
    Reconnect,
    /// Kill every recovered executor, then exit.
    Cleanup,
}

impl RecoverMode {
    pub fn parse(text: &str) -> Result<RecoverMode, String> {
        match text {
            "reconnect" => Ok(RecoverMode::Reconnect),
            "cleanup" => Ok(RecoverMode::Cleanup),
            other => Err(format!(
                "Unknown option for 'recover' flag {other}. Please run the agent with '--help' to see the valid options"
            )),
        }
    }
}

impl AgentFlags {
    /// Loads flags from `args` (argv\[0\] first) and `env`, with stout's rules
    /// (`MESOS_*` variables, `file://` values, unknown flags refused).
    pub fn load(
        args: &[impl AsRef<str>],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded<AgentFlags>, AgentError> {
        Ok(FlagsLoader::new().env_prefix("MESOS_").load(args, env)?)
    }

    /// Flags for an embedded agent (tests, `mesos-local`): defaults plus a work
    /// directory and a master.
    pub fn for_embedding(work_dir: impl Into<String>, master: impl Into<String>) -> AgentFlags {
        AgentFlags {
            work_dir: work_dir.into(),
            master: Some(master.into()),
            ..AgentFlags::default()
        }
    }

    pub fn recover_mode(&self) -> RecoverMode {
        RecoverMode::parse(&self.recover).unwrap_or(RecoverMode::Reconnect)
    }

    /// The effective `--launcher_dir`: the flag, else the running binary's
    /// directory when it holds `mesos-containerizer` (cargo builds), else Mesos's
    /// install path.
    pub fn effective_launcher_dir(&self) -> PathBuf {
        if let Some(dir) = &self.launcher_dir {
            return dir.clone();
        }
        default_launcher_dir()
    }

    /// Every flag with a value, as `/flags` and `/state` show them.
    pub fn effective_values(&self) -> std::collections::BTreeMap<String, String> {
        use mesos_common::flags::Flags;
        let mut out = std::collections::BTreeMap::new();
        for spec in AgentFlags::flag_specs() {
            if let Some(value) = self.stringify_field(spec.name) {
                out.insert(spec.name.to_string(), value);
            }
        }
        out
    }
}

/// The directory of the running binary if it holds `mesos-containerizer`; for a
/// test binary (`target/debug/deps/x`) its parent (`target/debug`), where cargo
/// puts the crate's binaries.
pub fn default_launcher_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let candidates = exe
        .iter()
        .flat_map(|e| e.ancestors().skip(1).take(2))
        .map(PathBuf::from);
    for dir in candidates {
        if dir.join(crate::constants::MESOS_CONTAINERIZER).is_file() {
            return dir;
        }
    }
    PathBuf::from(crate::constants::DEFAULT_LAUNCHER_DIR)
}
