//! Flag loading with stout's rules: argv, `MESOS_*` environment, aliases,
//! booleans, `file://` values, unknown/duplicate/missing flags, validation,
//! `/flags` export and `--help` text.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mesos_common::define_flags;
use mesos_common::flags::{FlagError, Flags, FlagsLoader, Loaded};
use mesos_common::units::{Bytes, Duration};

define_flags! {
    /// A mini master's flags, the worked example of the brief.
    #[derive(Debug, Clone, PartialEq)]
    pub struct MasterFlags {
        pub port: u16 { default: 5050u16, help: "Port to listen on." },
        pub work_dir: Option<String> { help: "Path of the master work directory." },
        pub allocation_interval: Duration {
            default: Duration::from_secs(1),
            help: "Amount of time to wait between performing\n(batch) allocations.",
            validate: |d: &Duration| {
                if d.ns() > 0 { Ok(()) } else { Err("must be positive".to_string()) }
            },
        },
        pub offer_timeout: Option<Duration> { help: "Duration of time before an offer is rescinded." },
        pub agent_ping_timeout: Duration {
            deprecated_alias: "slave_ping_timeout",
            default: Duration::from_secs(15),
            help: "Timeout for agent pings.",
        },
        pub authenticate_agents: bool {
            deprecated_alias: "authenticate_slaves",
            default: false,
            help: "Require agents to authenticate.",
        },
        pub hostname_lookup: bool { default: true, help: "Look up the hostname." },
        pub cluster: Option<String> { alias: "cluster_name", help: "Human readable cluster name." },
        pub max_completed_frameworks: usize { default: 50usize, help: "Completed frameworks kept." },
        pub registry_store_timeout: Duration { default: Duration::from_secs(20), help: "" },
        pub credentials: Option<PathBuf> { help: "Path to a credentials file." },
        pub sandbox_bytes: Bytes { default: Bytes::from_megabytes(32), help: "Size." },
        pub weights: Option<serde_json::Map<String, serde_json::Value>> { help: "JSON weights." },
        pub fraction: f64 { default: 0.5, help: "A fraction." },
    }
}

define_flags! {
    /// Flags with a required one.
    #[derive(Debug)]
    pub struct AgentFlags {
        pub master: String { help: "May be one of host:port or zk://..." },
        pub work_dir: Option<String> { help: "Where to put work." },
    }
}

type Env = Vec<(String, String)>;

fn load_with(args: &[&str], env: Env) -> Result<Loaded<MasterFlags>, FlagError> {
    let mut argv = vec!["/usr/sbin/mesos-master"];
    argv.extend_from_slice(args);
    FlagsLoader::new()
        .env_prefix("MESOS_")
        .load::<MasterFlags>(&argv, env)
}

fn load(args: &[&str]) -> Result<Loaded<MasterFlags>, FlagError> {
    load_with(args, Vec::new())
}

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_apply() {
    let loaded = load(&[]).unwrap();
    let f = &loaded.flags;
    assert_eq!(f.port, 5050);
    assert_eq!(f.work_dir, None);
    assert_eq!(f.allocation_interval, Duration::from_secs(1));
    assert_eq!(f.offer_timeout, None);
    assert!(f.hostname_lookup);
    assert_eq!(*f, MasterFlags::default());
    assert_eq!(loaded.program_name, "mesos-master");
    assert!(!loaded.help);
}

#[test]
fn argv_forms() {
    let loaded = load(&[
        "--port=5051",
        "--work_dir=/var/lib/mesos",
        "--allocation_interval=2secs",
        "--offer_timeout=30secs",
        "--no-hostname_lookup",
        "--authenticate_agents",
        "  --max_completed_frameworks=7  ",
        "--CLUSTER=prod",
        "positional",
        "--",
        "--port=1",
    ])
    .unwrap();
    let f = &loaded.flags;
    assert_eq!(f.port, 5051);
    assert_eq!(f.work_dir.as_deref(), Some("/var/lib/mesos"));
    assert_eq!(f.allocation_interval, Duration::from_secs(2));
    assert_eq!(f.offer_timeout, Some(Duration::from_secs(30)));
    assert!(!f.hostname_lookup);
    assert!(f.authenticate_agents);
    assert_eq!(f.max_completed_frameworks, 7);
    assert_eq!(
        f.cluster.as_deref(),
        Some("prod"),
        "flag names are lower-cased"
    );
    assert_eq!(loaded.positional, ["positional", "--port=1"]);
}

#[test]
fn boolean_values() {
    assert!(
        !load(&["--hostname_lookup=false"])
            .unwrap()
            .flags
            .hostname_lookup
    );
    assert!(
        !load(&["--hostname_lookup=0"])
            .unwrap()
            .flags
            .hostname_lookup
    );
    assert!(
        load(&["--hostname_lookup=1"])
            .unwrap()
            .flags
            .hostname_lookup
    );
    assert!(load(&["--hostname_lookup="]).unwrap().flags.hostname_lookup);
    assert!(matches!(
        load(&["--hostname_lookup=yes"]),
        Err(FlagError::BadValue { name, .. }) if name == "hostname_lookup"
    ));
    assert!(matches!(
        load(&["--no-hostname_lookup=false"]),
        Err(FlagError::NegatedBooleanWithValue { name, .. }) if name == "hostname_lookup"
    ));
}

#[test]
fn name_space_value_is_not_a_flag() {
    // stout reads only `--name=value`: `--port 5051` is a missing value.
    assert!(
        matches!(load(&["--port", "5051"]), Err(FlagError::MissingValue { name }) if name == "port")
    );
}

#[test]
fn environment_is_read_and_argv_wins() {
    let loaded = load_with(
        &["--port=6000"],
        env(&[
            ("MESOS_PORT", "7000"),
            ("MESOS_work_dir", "/tmp/w"),
            ("MESOS_OFFER_TIMEOUT", "1mins"),
            ("MESOS_NOT_A_FLAG", "ignored"),
            ("OTHER_PORT", "1"),
            ("MESOS_NO-HOSTNAME_LOOKUP", ""),
        ]),
    )
    .unwrap();
    assert_eq!(loaded.flags.port, 6000);
    assert_eq!(loaded.flags.work_dir.as_deref(), Some("/tmp/w"));
    assert_eq!(loaded.flags.offer_timeout, Some(Duration::from_mins(1)));
    assert!(!loaded.flags.hostname_lookup);
    // Without a prefix the environment is not read.
    let plain = FlagsLoader::new()
        .load::<MasterFlags>(&["m"], env(&[("MESOS_PORT", "7000")]))
        .unwrap();
    assert_eq!(plain.flags.port, 5050);
}

#[test]
fn aliases_and_deprecation_warnings() {
    let loaded = load(&[
        "--slave_ping_timeout=20secs",
        "--authenticate_slaves",
        "--cluster_name=c",
    ])
    .unwrap();
    assert_eq!(loaded.flags.agent_ping_timeout, Duration::from_secs(20));
    assert!(loaded.flags.authenticate_agents);
    assert_eq!(loaded.flags.cluster.as_deref(), Some("c"));
    let messages: Vec<&str> = loaded.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Loaded deprecated flag 'authenticate_slaves'",
            "Loaded deprecated flag 'slave_ping_timeout'"
        ]
    );
    assert_eq!(
        loaded.loaded_name("agent_ping_timeout"),
        Some("slave_ping_timeout")
    );
    // A negated alias works for booleans.
    assert!(
        !load(&["--no-authenticate_slaves"])
            .unwrap()
            .flags
            .authenticate_agents
    );
}

#[test]
fn loading_errors_name_the_flag() {
    assert!(
        matches!(load(&["--bogus=1"]), Err(FlagError::Unknown { name, via: None }) if name == "bogus")
    );
    assert!(matches!(
        load(&["--no-bogus"]),
        Err(FlagError::Unknown { name, via: Some(via) }) if name == "bogus" && via == "no-bogus"
    ));
    assert!(matches!(
        load(&["--port=1", "--port=2"]),
        Err(FlagError::Duplicate { name, loaded_via }) if name == "port" && loaded_via == "port"
    ));
    assert!(matches!(
        load(&["--agent_ping_timeout=1secs", "--slave_ping_timeout=2secs"]),
        Err(FlagError::Duplicate { .. })
    ));
    assert!(matches!(
        load_with(&["--port=1"], env(&[("MESOS_NO-HOSTNAME_LOOKUP", ""), ("MESOS_HOSTNAME_LOOKUP", "1")])),
        Err(FlagError::Duplicate { name, .. }) if name == "hostname_lookup"
    ));
    assert!(
        matches!(load(&["--no-port"]), Err(FlagError::NegatedNonBoolean { name, .. }) if name == "port")
    );
    assert!(matches!(load(&["--port"]), Err(FlagError::MissingValue { name }) if name == "port"));
    assert!(matches!(
        load(&["--port=70000"]),
        Err(FlagError::BadValue { name, value, .. }) if name == "port" && value == "70000"
    ));
    assert!(matches!(
        load(&["--port=-1"]),
        Err(FlagError::BadValue { .. })
    ));
    assert!(matches!(
        load(&["--allocation_interval=1"]),
        Err(FlagError::BadValue { .. })
    ));
    assert!(matches!(
        load(&["--sandbox_bytes=1.5GB"]),
        Err(FlagError::BadValue { .. })
    ));
    assert!(matches!(
        load(&["--weights=[1]"]),
        Err(FlagError::BadValue { .. })
    ));
    assert!(matches!(
        load(&["--fraction=nan"]),
        Err(FlagError::BadValue { .. })
    ));
    assert!(matches!(
        load(&["--allocation_interval=0secs"]),
        Err(FlagError::Invalid { name, reason }) if name == "allocation_interval" && reason == "must be positive"
    ));
    assert_eq!(
        load(&["--port=x"]).unwrap_err().to_string(),
        "failed to load flag 'port': failed to load value 'x': failed to convert into required type: invalid digit found in string"
    );
    // Unknown flags can be tolerated, and duplicates allowed (last wins).
    let tolerant = FlagsLoader::new()
        .allow_unknown(true)
        .allow_duplicates(true);
    let loaded = tolerant
        .load::<MasterFlags>(&["m", "--bogus=1", "--port=1", "--port=2"], Vec::new())
        .unwrap();
    assert_eq!(loaded.flags.port, 2);
}

#[test]
fn required_flags() {
    let load = |args: &[&str]| FlagsLoader::new().load::<AgentFlags>(args, Vec::new());
    assert!(matches!(load(&["a"]), Err(FlagError::Required { name }) if name == "master"));
    assert_eq!(
        load(&["a", "--master=m:5050"]).unwrap().flags.master,
        "m:5050"
    );
}

#[test]
fn file_values_are_read() {
    let dir = std::env::temp_dir().join(format!("mesos-flags-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let work = dir.join("work_dir");
    std::fs::write(&work, "/from/file").unwrap();
    let weights = dir.join("weights.json");
    std::fs::write(&weights, r#"{"role1": 2.5}"#).unwrap();
    let file_arg = format!("--work_dir=file://{}", work.display());
    let weights_arg = format!("--weights=file://{}", weights.display());
    let legacy_weights_arg = format!("--weights={}", weights.display());
    let path_arg = format!("--credentials=file://{}", work.display());
    let loaded = load(&[&file_arg, &weights_arg, &path_arg]).unwrap();
    assert_eq!(loaded.flags.work_dir.as_deref(), Some("/from/file"));
    assert_eq!(loaded.flags.weights.as_ref().unwrap()["role1"], 2.5);
    // Path flags are not fetched: the value is the path as given.
    assert_eq!(
        loaded.flags.credentials,
        Some(PathBuf::from(format!("file://{}", work.display())))
    );
    // JSON flags also accept a bare absolute path (deprecated in stout).
    assert!(
        load(&[&legacy_weights_arg])
            .unwrap()
            .flags
            .weights
            .is_some()
    );
    let missing = format!("--work_dir=file://{}/missing", dir.display());
    assert!(
        matches!(load(&[&missing]), Err(FlagError::BadValue { name, .. }) if name == "work_dir")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn effective_values_for_the_flags_endpoint() {
    let loaded = load(&["--slave_ping_timeout=30secs", "--work_dir=/w"]).unwrap();
    let values = loaded.effective_values();
    let expected: BTreeMap<String, String> = [
        ("allocation_interval", "1secs"),
        ("authenticate_agents", "false"),
        ("fraction", "0.5"),
        ("help", "false"),
        ("hostname_lookup", "true"),
        ("max_completed_frameworks", "50"),
        ("port", "5050"),
        ("registry_store_timeout", "20secs"),
        ("sandbox_bytes", "32MB"),
        ("slave_ping_timeout", "30secs"),
        ("work_dir", "/w"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        values, expected,
        "unset optional flags are absent; aliases show as loaded"
    );
}

#[test]
fn help_flag_and_usage_text() {
    let loaded = load(&["--help"]).unwrap();
    assert!(loaded.help);
    let usage = loaded.usage(Some("Missing required --foo"));
    assert!(
        usage.starts_with("Missing required --foo\n\nUsage: mesos-master [options]\n\n"),
        "{usage}"
    );
    let line = |prefix: &str| {
        usage
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {usage}"))
    };
    assert!(line("--port=VALUE").ends_with("Port to listen on. (default: 5050)"));
    assert!(line("--[no-]hostname_lookup").ends_with("Look up the hostname. (default: true)"));
    assert!(line("--[no-]help").ends_with("Prints this help message (default: false)"));
    assert!(
        line("--agent_ping_timeout=VALUE, --slave_ping_timeout=VALUE")
            .ends_with("(default: 15secs)")
    );
    assert!(line("--work_dir=VALUE").ends_with("Path of the master work directory."));
    assert!(line("--registry_store_timeout=VALUE").ends_with("(default: 20secs)"));
    // A multi-line help continues under the help column.
    let lines: Vec<&str> = usage.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("--allocation_interval"))
        .unwrap();
    assert!(
        lines[at + 1]
            .trim_start()
            .starts_with("(batch) allocations. (default: 1secs)")
    );
    let column = lines[at].find("Amount").unwrap();
    assert_eq!(
        lines[at + 1].len() - lines[at + 1].trim_start().len(),
        column
    );
    // Flags are listed by name.
    let names: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .map(|l| l.trim_start_matches("[no-]"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(MasterFlags::flag_specs().len(), 14);
}
