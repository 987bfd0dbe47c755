//! `MasterFlags`: the master's command-line flags, with Mesos 1.11's names,
//! defaults and validation (`src/master/flags.cpp`, `src/logging/flags.cpp`),
//! loaded from argv and `MESOS_*` variables by `mesos_common::flags`.
//!
//! Flags Mesos has that need modules, ZooKeeper or the replicated log are
//! accepted (so existing configurations load) and reported by `/flags`;
//! [`MasterFlags::validate_for_start`] refuses the combinations this master
//! cannot honour, naming the flag.

use std::collections::BTreeMap;

use mesos_common::define_flags;
use mesos_common::resources::ResourceQuantities;
use mesos_common::units::{Bytes, Duration};

use crate::error::MasterError;

/// `--etcd_session_timeout`: see the failover measurements in README.md.
pub const DEFAULT_ETCD_SESSION_TIMEOUT: Duration = Duration::from_secs(6);

/// `MIN_AGENT_REREGISTER_TIMEOUT` (`src/master/constants.hpp`).
pub const MIN_AGENT_REREGISTER_TIMEOUT: Duration = Duration::from_mins(10);

fn ping_timeout_range(d: &Duration) -> Result<(), String> {
    if *d < Duration::from_secs(1) || *d > Duration::from_mins(15) {
        return Err("Expected `--agent_ping_timeout` to be between 1secs and 15mins".into());
    }
    Ok(())
}

define_flags! {
    /// The master's flags (`mesos-master --help` lists them).
    #[derive(Debug, Clone)]
    pub struct MasterFlags {
        pub version: bool { default: false, help: "Show version and exit." },
        pub hostname: Option<String> {
            help: "The hostname the master should advertise in ZooKeeper.\nIf left unset, the hostname is resolved from the IP address\nthat the master advertises; unless the user explicitly prevents\nthat, using `--no-hostname_lookup`, in which case the IP itself\nis used.",
        },
        pub hostname_lookup: bool {
            default: true,
            help: "Whether we should execute a lookup to find out the server's hostname,\nif not explicitly set (via, e.g., `--hostname`).",
        },
        pub root_submissions: bool { default: true, help: "Can root submit frameworks?" },
        pub work_dir: Option<String> { help: "Path of the master work directory." },
        pub registry: String {
            default: "in_memory",
            help: "Persistence strategy for the registry;\navailable options are `in_memory` and `etcd` (needs `--etcd`).",
            validate: |r: &String| match r.as_str() {
                "in_memory" | "replicated_log" | "etcd" => Ok(()),
                other => Err(format!("unknown registry '{other}'")),
            },
        },
        pub quorum: Option<u64> { help: "The size of the quorum of replicas (replicated_log only; with etcd,\netcd's own quorum applies and this is ignored)." },
        pub zk_session_timeout: Duration { default: Duration::from_secs(10), help: "ZooKeeper session timeout." },
        pub registry_strict: bool {
            default: false,
            help: "Disabled in Mesos; must stay false.",
            validate: |v: &bool| if *v { Err("Support for '--registry_strict' has been disabled and will be removed in a future version of Mesos".into()) } else { Ok(()) },
        },
        pub registry_fetch_timeout: Duration { default: Duration::from_secs(60), help: "Duration of time to wait in order to fetch data from the registry." },
        pub registry_store_timeout: Duration { default: Duration::from_secs(20), help: "Duration of time to wait in order to store data in the registry." },
        pub log_auto_initialize: bool { default: true, help: "Whether to automatically initialize the replicated log." },
        pub agent_reregister_timeout: Duration {
            deprecated_alias: "slave_reregister_timeout",
            default: MIN_AGENT_REREGISTER_TIMEOUT,
            help: "The timeout within which an agent is expected to reregister.\nNOTE: This value has to be at least 10mins.",
        },
        pub recovery_agent_removal_limit: String {
            deprecated_alias: "recovery_slave_removal_limit",
            default: "100%",
            help: "For failovers, limit on the percentage of agents that can be removed\nfrom the registry *and* shutdown after the re-registration timeout\nelapses. Values: [0%-100%]",
        },
        pub agent_removal_rate_limit: Option<String> {
            deprecated_alias: "slave_removal_rate_limit",
            help: "The maximum rate (e.g., `1/10mins`, `2/3hrs`, etc) at which agents\nwill be removed from the master when they fail health checks.",
        },
        pub webui_dir: String { default: "/usr/local/share/mesos/webui", help: "Directory path of the webui files/assets" },
        pub whitelist: Option<String> { help: "Path to a file which contains a list of agents (one per line) to\nadvertise offers for." },
        pub role_sorter: String {
            deprecated_alias: "user_sorter",
            default: "drf",
            help: "Policy to use for allocating resources between roles. May be one of: [drf, random]",
            validate: |s: &String| match s.as_str() { "drf" | "random" => Ok(()), other => Err(format!("unknown sorter '{other}'")) },
        },
        pub framework_sorter: String {
            default: "drf",
            help: "Policy to use for allocating resources between a given role's\nframeworks. Options are the same as for `--role_sorter`.",
            validate: |s: &String| match s.as_str() { "drf" | "random" => Ok(()), other => Err(format!("unknown sorter '{other}'")) },
        },
        pub allocation_interval: Duration {
            default: Duration::from_secs(1),
            help: "Amount of time to wait between performing\n (batch) allocations (e.g., 500ms, 1sec, etc).",
        },
        pub cluster: Option<String> { help: "Human readable name for the cluster, displayed in the webui." },
        pub roles: Option<String> { help: "A comma-separated list of the allocation roles that frameworks\nin this cluster may belong to. This flag is deprecated." },
        pub weights: Option<String> { help: "A comma-separated list of role/weight pairs of the form\n`role=weight,role=weight`." },
        pub authenticate_frameworks: bool {
            deprecated_alias: "authenticate",
            default: false,
            help: "If `true`, only authenticated frameworks are allowed to register.",
        },
        pub authenticate_agents: bool {
            deprecated_alias: "authenticate_slaves",
            default: false,
            help: "If `true`, only authenticated agents are allowed to register.",
        },
        pub authentication_v0_timeout: Duration { default: Duration::from_secs(15), help: "The timeout within which an authentication is expected\nto complete against a v0 framework or agent." },
        pub authenticate_http_readwrite: bool { deprecated_alias: "authenticate_http", default: false, help: "If `true`, only authenticated requests for read-write HTTP endpoints\nsupporting authentication are allowed." },
        pub authenticate_http_readonly: bool { default: false, help: "If `true`, only authenticated requests for read-only HTTP endpoints\nsupporting authentication are allowed." },
        pub authenticate_http_frameworks: bool { default: false, help: "If `true`, only authenticated HTTP frameworks are allowed to register." },
        pub credentials: Option<String> { help: "Path to a JSON-formatted file containing credentials." },
        pub acls: Option<String> { help: "The value could be a JSON-formatted string of ACLs\nor a file path containing the JSON-formatted ACLs." },
        pub firewall_rules: Option<String> { help: "JSON-formatted rules used in the endpoints firewall." },
        pub rate_limits: Option<String> { help: "JSON-formatted rate limits used for framework rate limiting." },
        pub offer_timeout: Option<Duration> {
            help: "Duration of time before an offer is rescinded from a framework.\nIf not set, offers do not timeout.",
            validate: |d: &Option<Duration>| match d { Some(d) if d.ns() <= 0 => Err(format!("Invalid value '{d}' for --offer_timeout: Must be greater than zero")), _ => Ok(()) },
        },
        pub modules: Option<String> { help: "List of modules to be loaded (not supported)." },
        pub modules_dir: Option<String> { help: "Directory of module manifests (not supported)." },
        pub authenticators: String { default: "crammd5", help: "Authenticator implementation to use when authenticating frameworks\nand/or agents." },
        pub allocator: String { default: "hierarchical", help: "Allocator to use for resource allocation to frameworks." },
        pub allocator_agent_recovery_factor: f64 { default: 0.80, help: "Minimum fraction of known agents re-registered after leader election\nfor the allocator to start generating offers." },
        pub allocator_recovery_timeout: Duration { default: Duration::from_mins(1), help: "Maximum time to wait before sending offers after a leader\nre-election." },
        pub fair_sharing_excluded_resource_names: Option<String> { help: "A comma-separated list of the resource names (e.g. 'gpus')\nthat will be excluded from fair sharing constraints." },
        pub filter_gpu_resources: bool { default: true, help: "When set to true, offers from agents with GPU resources only go to\nframeworks with the `GPU_RESOURCES` capability." },
        pub min_allocatable_resources: String {
            default: "cpus:0.01|mem:32",
            help: "One or more sets of resource quantities that define the minimum\nallocatable resources for the allocator.",
        },
        pub hooks: Option<String> { help: "A comma-separated list of hook modules (not supported)." },
        pub agent_ping_timeout: Duration {
            deprecated_alias: "slave_ping_timeout",
            default: Duration::from_secs(15),
            help: "The timeout within which an agent is expected to respond to a\nping from the master.",
            validate: ping_timeout_range,
        },
        pub max_agent_ping_timeouts: u64 {
            deprecated_alias: "max_slave_ping_timeouts",
            default: 5u64,
            help: "The number of times an agent can fail to respond to a\nping from the master.",
            validate: |v: &u64| if *v < 1 { Err("Expected `--max_agent_ping_timeouts` to be at least 1".into()) } else { Ok(()) },
        },
        pub authorizers: String { default: "local", help: "Authorizer implementation to use when authorizing actions." },
        pub http_authenticators: String { default: "basic", help: "HTTP authenticator implementation to use." },
        pub http_framework_authenticators: Option<String> { help: "HTTP authenticator implementation to use when authenticating HTTP\nframeworks." },
        pub max_operator_event_stream_subscribers: u64 { default: 1000u64, help: "Maximum number of simultaneous subscribers to the master's operator\nevent stream." },
        pub max_completed_frameworks: u64 { default: 50u64, help: "Maximum number of completed frameworks to store in memory." },
        pub max_completed_tasks_per_framework: u64 { default: 1000u64, help: "Maximum number of completed tasks per framework to store in memory." },
        pub max_unreachable_tasks_per_framework: u64 { default: 1000u64, help: "Maximum number of unreachable tasks per framework to store in memory." },
        pub master_contender: Option<String> { help: "The symbol name of the master contender to use (not supported)." },
        pub master_detector: Option<String> { help: "The symbol name of the master detector to use (not supported)." },
        pub registry_gc_interval: Duration { default: Duration::from_mins(15), help: "How often to garbage collect the registry." },
        pub registry_max_agent_age: Duration { default: Duration::from_weeks(2), help: "Maximum length of time to store information in the registry about\nagents that are not currently connected to the cluster." },
        pub registry_max_agent_count: u64 { default: 102_400u64, help: "Maximum number of partitioned/gone agents to store in the\nregistry." },
        pub ip: Option<String> { help: "IP address to listen on." },
        pub port: u16 { default: 5050u16, help: "Port to listen on." },
        pub advertise_ip: Option<String> { help: "IP address advertised to reach this Mesos master." },
        pub advertise_port: Option<u16> { help: "Port advertised to reach Mesos master (along with\n`advertise_ip`)." },
        pub memory_profiling: bool { default: false, help: "Whether the memory profiling functionality of libprocess should be exposed." },
        pub zk: Option<String> { help: "ZooKeeper URL (used for leader election amongst masters)." },
        pub etcd: Option<String> { help: "etcd URL `etcd://host:port[,host:port]/prefix`: masters elect their leader\nthere (and keep the registry with `--registry=etcd`)." },
        pub etcd_session_timeout: Duration {
            default: DEFAULT_ETCD_SESSION_TIMEOUT,
            help: "TTL of the master's etcd lease: how long a crashed or cut-off leader\nkeeps its leadership before another master takes over (whole seconds;\netcd may round it up to its minimum).",
            validate: |d: &Duration| if *d < Duration::from_secs(1) || *d > Duration::from_hours(1) {
                Err("Expected `--etcd_session_timeout` to be between 1secs and 1hrs".into())
            } else { Ok(()) },
        },
        pub etcd_max_txn_ops: u64 {
            default: 128u64,
            help: "Operations per etcd transaction the registry uses; etcd's `--max-txn-ops`\n(128 by default) bounds it. Larger batches are split.",
            validate: |n: &u64| if *n < 2 { Err("Expected `--etcd_max_txn_ops` to be at least 2".into()) } else { Ok(()) },
        },
        pub ip_discovery_command: Option<String> { help: "Optional IP discovery binary (not supported)." },
        pub require_agent_domain: bool { default: false, help: "If true, only agents with a configured domain can register." },
        pub publish_per_framework_metrics: bool { default: true, help: "If true, an extensive set of metrics for each active framework will\nbe published." },
        pub domain: Option<String> { help: "Domain that the master belongs to (JSON)." },
        pub offer_constraints_re2_max_mem: Bytes { default: Bytes::new(4096), help: "Limit on the memory usage of each RE2 regular expression in\nframework's offer constraints." },
        pub offer_constraints_re2_max_program_size: u64 { default: 100u64, help: "Limit on the RE2 program size of each regular expression in\nframework's offer constraints." },
        pub quiet: bool { default: false, help: "Disable logging to stderr." },
        pub logging_level: String {
            default: "INFO",
            help: "Log message at or above this level.\nPossible values: `INFO`, `WARNING`, `ERROR`.",
            validate: |l: &String| match l.as_str() { "INFO" | "WARNING" | "ERROR" => Ok(()), other => Err(format!("'{other}' is not a valid logging level")) },
        },
        pub log_dir: Option<String> { help: "Location to put log files.  By default, nothing is written to disk." },
        pub logbufsecs: u64 { default: 0u64, help: "Maximum number of seconds that logs may be buffered for." },
        pub initialize_driver_logging: bool { default: true, help: "Whether the master should initialize logging for the drivers." },
        pub external_log_file: Option<String> { help: "Location of the externally managed log file." },
    }
}

/// What [`MasterFlags::validate_for_start`] derives from flags that need
/// parsing beyond their type.
#[derive(Debug, Clone, Default)]
pub struct DerivedFlags {
    /// `--roles` plus `*`; `None` when any role is allowed.
    pub role_whitelist: Option<std::collections::BTreeSet<String>>,
    /// `--weights`.
    pub weights: BTreeMap<String, f64>,
    /// `--min_allocatable_resources`, one entry per `|`-separated set.
    pub min_allocatable_resources: Vec<ResourceQuantities>,
    /// `--recovery_agent_removal_limit` as a fraction in [0, 1].
    pub recovery_agent_removal_limit: f64,
    /// `--etcd`, parsed.
    pub etcd: Option<mesos_detector::EtcdUrl>,
    /// `--agent_removal_rate_limit` as (permits, per duration).
    pub agent_removal_rate: Option<(u32, std::time::Duration)>,
}

impl MasterFlags {
    /// The checks `Master::initialize` makes before starting, as typed errors.
    pub fn validate_for_start(&self) -> Result<DerivedFlags, MasterError> {
        let bad = |flag: &str, reason: String| MasterError::Flag {
            flag: flag.into(),
            reason,
        };
        if self.agent_reregister_timeout < MIN_AGENT_REREGISTER_TIMEOUT {
            return Err(bad(
                "agent_reregister_timeout",
                format!(
                    "Invalid value '{}': Must be at least {}",
                    self.agent_reregister_timeout, MIN_AGENT_REREGISTER_TIMEOUT
                ),
            ));
        }
        let limit = self
            .recovery_agent_removal_limit
            .strip_suffix('%')
            .ok_or_else(|| bad("recovery_agent_removal_limit", "missing '%'".into()))?;
        let limit: f64 = limit
            .trim()
            .parse()
            .map_err(|e| bad("recovery_agent_removal_limit", format!("{e}")))?;
        if !(0.0..=100.0).contains(&limit) {
            return Err(bad(
                "recovery_agent_removal_limit",
                "Must be within [0%-100%]".into(),
            ));
        }
        if self.registry == "replicated_log" {
            return Err(bad(
                "registry",
                "the replicated log is not supported; use `in_memory` or `etcd`".into(),
            ));
        }
        let etcd = match &self.etcd {
            Some(text) => {
                Some(mesos_detector::EtcdUrl::parse(text).map_err(|e| bad("etcd", e.to_string()))?)
            }
            None => None,
        };
        if self.registry == "etcd" && etcd.is_none() {
            return Err(bad(
                "registry",
                "`--registry=etcd` needs `--etcd=etcd://host:port[,host:port]/prefix`".into(),
            ));
        }
        for (flag, value) in [
            ("modules", &self.modules),
            ("hooks", &self.hooks),
            ("master_contender", &self.master_contender),
            ("master_detector", &self.master_detector),
            ("zk", &self.zk),
        ] {
            if value.is_some() {
                return Err(bad(flag, "not supported by this master".into()));
            }
        }
        if self.allocator != "hierarchical" {
            return Err(bad(
                "allocator",
                format!("allocator '{}' not found", self.allocator),
            ));
        }
        let role_whitelist = match &self.roles {
            None => None,
            Some(text) => {
                let roles = mesos_common::roles::parse_list(text)
                    .map_err(|e| bad("roles", format!("Failed to parse roles: {e}")))?;
                let mut set: std::collections::BTreeSet<String> =
                    roles.iter().map(|r| r.to_string()).collect();
                set.insert("*".into());
                Some(set)
            }
        };
        let mut weights = BTreeMap::new();
        if let Some(text) = &self.weights {
            for token in text.split(',').filter(|t| !t.is_empty()) {
                let pair: Vec<&str> = token.split('=').filter(|t| !t.is_empty()).collect();
                if pair.len() != 2 {
                    return Err(bad(
                        "weights",
                        format!(
                            "Invalid weight: '{token}'. --weights should be of the form 'role=weight,role=weight'"
                        ),
                    ));
                }
                if let Some(list) = &role_whitelist
                    && !list.contains(pair[0])
                {
                    return Err(bad(
                        "weights",
                        format!("Invalid weight: '{token}'. {} is not a valid role", pair[0]),
                    ));
                }
                let weight: f64 = pair[1].trim().parse().unwrap_or(0.0);
                if weight <= 0.0 || !weight.is_finite() {
                    return Err(bad(
                        "weights",
                        format!("Invalid weight: '{token}'. Weights must be positive"),
                    ));
                }
                weights.insert(pair[0].to_string(), weight);
            }
        }
        let mut min_allocatable_resources = Vec::new();
        for token in self
            .min_allocatable_resources
            .split('|')
            .filter(|t| !t.is_empty())
        {
            let q = ResourceQuantities::parse(token).map_err(|e| {
                bad(
                    "min_allocatable_resources",
                    format!(
                        "Error parsing min_allocatable_resources '{}': {e}",
                        self.min_allocatable_resources
                    ),
                )
            })?;
            min_allocatable_resources.push(q);
        }
        let agent_removal_rate = match &self.agent_removal_rate_limit {
            Some(text) => Some(
                crate::master::removal_limit::parse_rate(text)
                    .map_err(|e| bad("agent_removal_rate_limit", e))?,
            ),
            None => None,
        };
        Ok(DerivedFlags {
            agent_removal_rate,
            role_whitelist,
            weights,
            min_allocatable_resources,
            recovery_agent_removal_limit: limit / 100.0,
            etcd,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::flags::FlagsLoader;

    fn load(args: &[&str]) -> MasterFlags {
        let mut argv = vec!["mesos-master"];
        argv.extend_from_slice(args);
        FlagsLoader::new()
            .env_prefix("MESOS_")
            .load::<MasterFlags>(&argv, Vec::<(String, String)>::new())
            .expect("flags load")
            .flags
    }

    #[test]
    fn defaults_are_mesos_defaults() {
        let f = MasterFlags::default();
        assert_eq!(f.port, 5050);
        assert_eq!(f.agent_ping_timeout, Duration::from_secs(15));
        assert_eq!(f.max_agent_ping_timeouts, 5);
        assert_eq!(f.agent_reregister_timeout, Duration::from_mins(10));
        assert_eq!(f.allocation_interval, Duration::from_secs(1));
        assert_eq!(f.max_completed_frameworks, 50);
        assert_eq!(f.max_completed_tasks_per_framework, 1000);
        assert_eq!(f.max_unreachable_tasks_per_framework, 1000);
        assert_eq!(f.offer_timeout, None);
        assert_eq!(f.logging_level, "INFO");
        let d = f.validate_for_start().unwrap();
        assert_eq!(d.min_allocatable_resources.len(), 2);
        assert_eq!(d.recovery_agent_removal_limit, 1.0);
    }

    #[test]
    fn environment_and_deprecated_names_load() {
        let loaded = FlagsLoader::new()
            .env_prefix("MESOS_")
            .load::<MasterFlags>(
                &["mesos-master", "--slave_ping_timeout=20secs"],
                [("MESOS_PORT".to_string(), "6060".to_string())],
            )
            .unwrap();
        assert_eq!(loaded.flags.port, 6060);
        assert_eq!(loaded.flags.agent_ping_timeout, Duration::from_secs(20));
        assert_eq!(loaded.warnings.len(), 1);
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        let err = FlagsLoader::new()
            .load::<MasterFlags>(
                &["mesos-master", "--agent_ping_timeout=0secs"],
                Vec::<(String, String)>::new(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("agent_ping_timeout"), "{err}");
        let f = load(&["--agent_reregister_timeout=1mins"]);
        let err = f.validate_for_start().unwrap_err();
        assert!(
            err.to_string().contains("agent_reregister_timeout"),
            "{err}"
        );
        let f = load(&["--weights=a=0"]);
        assert!(f.validate_for_start().is_err());
        let f = load(&["--weights=a=2,b=0.5", "--roles=a,b"]);
        let d = f.validate_for_start().unwrap();
        assert_eq!(d.weights["a"], 2.0);
        assert!(d.role_whitelist.unwrap().contains("*"));
        let f = load(&["--recovery_agent_removal_limit=50"]);
        assert!(f.validate_for_start().is_err());
    }

    #[test]
    fn etcd_flags_are_checked_naming_the_flag() {
        let d = load(&[
            "--etcd=etcd://127.0.0.1:2379,h2:2380/mesos",
            "--registry=etcd",
        ])
        .validate_for_start()
        .unwrap();
        let url = d.etcd.unwrap();
        assert_eq!(url.prefix(), "/mesos");
        assert_eq!(url.endpoints().len(), 2);
        for bad in [
            "etcd://h:2379",
            "etcd://h:port/mesos",
            "zk://h:2181/mesos",
            "h:2379/mesos",
        ] {
            let err = load(&[&format!("--etcd={bad}")])
                .validate_for_start()
                .unwrap_err();
            assert!(err.to_string().contains("--etcd"), "{bad}: {err}");
        }
        let err = load(&["--registry=etcd"]).validate_for_start().unwrap_err();
        assert!(err.to_string().contains("--registry"), "{err}");
        let err = FlagsLoader::new()
            .load::<MasterFlags>(
                &["mesos-master", "--etcd_session_timeout=500ms"],
                Vec::<(String, String)>::new(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("etcd_session_timeout"), "{err}");
        assert_eq!(
            MasterFlags::default().etcd_session_timeout,
            DEFAULT_ETCD_SESSION_TIMEOUT
        );
    }
}
