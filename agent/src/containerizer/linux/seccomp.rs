//! Seccomp profiles: Docker's JSON format (as Mesos reads it) to
//! `ContainerSeccompProfile`, and that to BPF programs built by
//! `seccompiler` (its JSON frontend resolves syscall names, so an unknown
//! name is an error here, not a silently ignored rule).
//!
//! A profile has one default action and per-syscall actions; a seccompiler
//! filter has one match action. So a profile becomes a stack of filters, one
//! per action: each returns its action for its syscalls and allows the rest,
//! and, when the default is not "allow", one more returns the default for
//! every syscall the profile does not allow. The kernel runs every filter
//! and keeps the most restrictive answer (kill > trap > errno > trace >
//! allow), which is the profile's meaning when rules do not overlap.
//!
//! Rules may depend on the container's capabilities (`includes`/`excludes`
//! with `caps`): they are resolved at launch against the container's
//! effective set (every capability when it has no capability handling).

use std::collections::{BTreeMap, BTreeSet};

use mesos_common::proto::v0::capability_info::Capability;
use mesos_common::proto::v0::seccomp::ContainerSeccompProfile;
use mesos_common::proto::v0::seccomp::container_seccomp_profile::{
    Architecture, Syscall, syscall::Action, syscall::Arg, syscall::Filter, syscall::arg::Operator,
};
use serde_json::{Value, json};

/// The largest profile file read (Docker's default is about 20 KB).
pub const PROFILE_BYTES_MAX: u64 = 1 << 20;

/// Why a profile cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeccompError {
    #[error("cannot read seccomp profile '{path}': {reason}")]
    Read { path: String, reason: String },
    #[error("invalid seccomp profile: {0}")]
    Invalid(String),
    #[error("cannot build the seccomp filter: {0}")]
    Compile(String),
    #[error("cannot install the seccomp filter: {0}")]
    Install(String),
}

fn invalid(reason: impl Into<String>) -> SeccompError {
    SeccompError::Invalid(reason.into())
}

/// Reads and parses a profile file (bounded by [`PROFILE_BYTES_MAX`]).
pub fn read_profile(path: &std::path::Path) -> Result<ContainerSeccompProfile, SeccompError> {
    use std::io::Read;
    let read_err = |reason: String| SeccompError::Read {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| read_err(e.to_string()))?;
    let mut text = String::new();
    file.take(PROFILE_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| read_err(e.to_string()))?;
    if text.len() as u64 > PROFILE_BYTES_MAX {
        return Err(read_err(format!("larger than {PROFILE_BYTES_MAX} bytes")));
    }
    parse_docker_profile(&text)
}

fn action(name: &str) -> Result<Action, SeccompError> {
    Ok(match name {
        "SCMP_ACT_KILL" => Action::ActKill,
        "SCMP_ACT_TRAP" => Action::ActTrap,
        "SCMP_ACT_ERRNO" => Action::ActErrno,
        "SCMP_ACT_TRACE" => Action::ActTrace,
        "SCMP_ACT_ALLOW" => Action::ActAllow,
        other => return Err(invalid(format!("unsupported action '{other}'"))),
    })
}

fn architecture(name: &str) -> Result<Architecture, SeccompError> {
    let short = name
        .strip_prefix("SCMP_ARCH_")
        .ok_or_else(|| invalid(format!("unknown architecture '{name}'")))?;
    Architecture::from_str_name(&format!("ARCH_{short}"))
        .ok_or_else(|| invalid(format!("unknown architecture '{name}'")))
}

fn operator(name: &str) -> Result<Operator, SeccompError> {
    name.strip_prefix("SCMP_")
        .and_then(Operator::from_str_name)
        .ok_or_else(|| invalid(format!("unknown argument operator '{name}'")))
}

/// The host's architecture names in Docker's `arches` filters.
fn host_arches() -> &'static [&'static str] {
    if cfg!(target_arch = "x86_64") {
        &["amd64", "x86_64"]
    } else if cfg!(target_arch = "aarch64") {
        &["arm64", "aarch64"]
    } else {
        &[]
    }
}

/// A Docker `includes`/`excludes` object: its `caps` (kept for launch time)
/// and whether its `arches` name this host (`None` when it names none).
fn filter(value: Option<&Value>) -> Result<(Option<Filter>, Option<bool>), SeccompError> {
    let Some(value) = value else {
        return Ok((None, None));
    };
    let obj = value
        .as_object()
        .ok_or_else(|| invalid("'includes'/'excludes' must be objects"))?;
    let mut arch_match = None;
    if let Some(arches) = obj.get("arches").and_then(Value::as_array)
        && !arches.is_empty()
    {
        arch_match = Some(
            arches
                .iter()
                .filter_map(Value::as_str)
                .any(|a| host_arches().contains(&a)),
        );
    }
    let mut capabilities = Vec::new();
    for cap in obj
        .get("caps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = cap
            .as_str()
            .ok_or_else(|| invalid("capability names are strings"))?;
        let short = name.strip_prefix("CAP_").unwrap_or(name);
        let cap = Capability::from_str_name(short)
            .ok_or_else(|| invalid(format!("unknown capability '{name}'")))?;
        capabilities.push(cap as i32);
    }
    let filter = (!capabilities.is_empty()).then_some(Filter { capabilities });
    Ok((filter, arch_match))
}

/// Parses a Docker-format profile (`defaultAction`, `architectures` or
/// `archMap`, `syscalls` with `names`/`name`, `action`, `args`, `includes`,
/// `excludes`). Rules for other architectures are dropped here.
pub fn parse_docker_profile(text: &str) -> Result<ContainerSeccompProfile, SeccompError> {
    let root: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let root = root
        .as_object()
        .ok_or_else(|| invalid("the profile must be a JSON object"))?;
    let default_action = action(
        root.get("defaultAction")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("missing 'defaultAction'"))?,
    )?;
    let mut architectures = Vec::new();
    for a in root
        .get("architectures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        architectures.push(architecture(a.as_str().unwrap_or_default())? as i32);
    }
    for entry in root
        .get("archMap")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(a) = entry.get("architecture").and_then(Value::as_str) {
            architectures.push(architecture(a)? as i32);
        }
        for sub in entry
            .get("subArchitectures")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            architectures.push(architecture(sub.as_str().unwrap_or_default())? as i32);
        }
    }
    let mut syscalls = Vec::new();
    let rules = match root.get("syscalls") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(rules)) => rules,
        Some(_) => return Err(invalid("'syscalls' must be an array")),
    };
    for (i, rule) in rules.iter().enumerate() {
        let names: Vec<String> = match (rule.get("names"), rule.get("name")) {
            (Some(Value::Array(names)), _) => names
                .iter()
                .map(|n| {
                    n.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| invalid(format!("syscalls[{i}]: names are strings")))
                })
                .collect::<Result<_, _>>()?,
            (None, Some(Value::String(name))) => vec![name.clone()],
            _ => return Err(invalid(format!("syscalls[{i}]: missing 'names'"))),
        };
        let rule_action = action(
            rule.get("action")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("syscalls[{i}]: missing 'action'")))?,
        )?;
        let mut args = Vec::new();
        for arg in rule
            .get("args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| {
                arg.get(k)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| invalid(format!("syscalls[{i}]: argument '{k}' missing")))
            };
            let index = field("index")?;
            if index > 5 {
                return Err(invalid(format!(
                    "syscalls[{i}]: argument index {index} is above 5"
                )));
            }
            args.push(Arg {
                index: index as u32,
                op: operator(arg.get("op").and_then(Value::as_str).unwrap_or_default())? as i32,
                value: field("value")?,
                value_two: arg.get("valueTwo").and_then(Value::as_u64).unwrap_or(0),
            });
        }
        let (includes, include_arch) = filter(rule.get("includes"))?;
        let (excludes, exclude_arch) = filter(rule.get("excludes"))?;
        if include_arch == Some(false) || exclude_arch == Some(true) {
            continue;
        }
        syscalls.push(Syscall {
            names,
            action: rule_action as i32,
            args,
            includes,
            excludes,
        });
    }
    Ok(ContainerSeccompProfile {
        default_action: default_action as i32,
        architectures,
        syscalls,
    })
}

fn seccompiler_action(action: Action) -> Value {
    // Errors are EPERM, as libseccomp's SCMP_ACT_ERRNO in Mesos's profiles.
    match action {
        Action::ActAllow | Action::Unknown => json!("allow"),
        Action::ActErrno => json!({ "errno": 1 }),
        Action::ActKill => json!("kill_thread"),
        Action::ActTrap => json!("trap"),
        Action::ActTrace => json!({ "trace": 1 }),
    }
}

fn condition(arg: &Arg) -> Value {
    let op = Operator::try_from(arg.op).unwrap_or(Operator::Unknown);
    let (op, val) = match op {
        Operator::CmpMaskedEq => (json!({ "masked_eq": arg.value }), arg.value_two),
        Operator::CmpNe => (json!("ne"), arg.value),
        Operator::CmpLt => (json!("lt"), arg.value),
        Operator::CmpLe => (json!("le"), arg.value),
        Operator::CmpGe => (json!("ge"), arg.value),
        Operator::CmpGt => (json!("gt"), arg.value),
        Operator::CmpEq | Operator::Unknown => (json!("eq"), arg.value),
    };
    json!({ "index": arg.index, "type": "qword", "op": op, "val": val })
}

/// Whether a rule applies to a container with these capabilities (`None`:
/// no capability handling, so every capability).
fn applies(rule: &Syscall, capabilities: Option<&BTreeSet<i32>>) -> bool {
    let has = |c: &i32| capabilities.is_none_or(|set| set.contains(c));
    let included = rule
        .includes
        .as_ref()
        .is_none_or(|f| f.capabilities.iter().all(has));
    let excluded = rule
        .excludes
        .as_ref()
        .is_some_and(|f| f.capabilities.iter().any(has));
    included && !excluded
}

/// Builds the BPF programs for a profile (see the module docs), in the order
/// to install them.
pub fn compile(
    profile: &ContainerSeccompProfile,
    capabilities: Option<&BTreeSet<i32>>,
) -> Result<Vec<seccompiler::BpfProgram>, SeccompError> {
    let arch = if cfg!(target_arch = "x86_64") {
        seccompiler::TargetArch::x86_64
    } else if cfg!(target_arch = "aarch64") {
        seccompiler::TargetArch::aarch64
    } else {
        return Err(SeccompError::Compile(
            "seccomp filters are supported on x86_64 and aarch64 only".into(),
        ));
    };
    let default = Action::try_from(profile.default_action).unwrap_or(Action::Unknown);
    if default == Action::Unknown {
        return Err(invalid("unknown default action"));
    }
    // action -> syscall -> rules (None: unconditional).
    let mut groups: BTreeMap<i32, BTreeMap<String, Option<Vec<Value>>>> = BTreeMap::new();
    let mut allowed: BTreeMap<String, Option<Vec<Value>>> = BTreeMap::new();
    for rule in profile.syscalls.iter().filter(|r| applies(r, capabilities)) {
        let rule_action = Action::try_from(rule.action).unwrap_or(Action::Unknown);
        if rule_action == Action::Unknown {
            return Err(invalid("unknown syscall action"));
        }
        let conditions: Vec<Value> = rule.args.iter().map(condition).collect();
        for name in &rule.names {
            let add = |map: &mut BTreeMap<String, Option<Vec<Value>>>| {
                let entry = map.entry(name.clone()).or_insert_with(|| Some(Vec::new()));
                match (entry.as_mut(), conditions.is_empty()) {
                    // Unconditional wins over conditional rules.
                    (_, true) => *entry = None,
                    (Some(list), false) => list.push(json!(conditions)),
                    (None, false) => {}
                }
            };
            if rule_action != default {
                add(groups.entry(rule.action).or_default());
            }
            if rule_action == Action::ActAllow {
                add(&mut allowed);
            }
        }
    }
    let rules = |map: &BTreeMap<String, Option<Vec<Value>>>| -> Vec<Value> {
        let mut out = Vec::new();
        for (name, conditions) in map {
            match conditions {
                None => out.push(json!({ "syscall": name })),
                Some(list) => {
                    for args in list {
                        out.push(json!({ "syscall": name, "args": args }));
                    }
                }
            }
        }
        out
    };
    let mut filters = serde_json::Map::new();
    let mut order = Vec::new();
    if default != Action::ActAllow {
        // Everything not allowed gets the default.
        let key = "default".to_string();
        filters.insert(
            key.clone(),
            json!({
                "mismatch_action": seccompiler_action(default),
                "match_action": "allow",
                "filter": rules(&allowed),
            }),
        );
        order.push(key);
    }
    for (action, map) in &groups {
        let action = Action::try_from(*action).unwrap_or(Action::Unknown);
        if action == Action::ActAllow {
            continue;
        }
        let key = format!("{action:?}");
        filters.insert(
            key.clone(),
            json!({
                "mismatch_action": "allow",
                "match_action": seccompiler_action(action),
                "filter": rules(map),
            }),
        );
        order.push(key);
    }
    let text = Value::Object(filters).to_string();
    let mut compiled = seccompiler::compile_from_json(text.as_bytes(), arch)
        .map_err(|e| SeccompError::Compile(e.to_string()))?;
    Ok(order
        .into_iter()
        .filter_map(|k| compiled.remove(&k))
        .filter(|p| !p.is_empty())
        .collect())
}

/// Installs the programs on the calling thread (sets `no_new_privs`, as
/// libseccomp does by default).
pub fn install(programs: &[seccompiler::BpfProgram]) -> Result<(), SeccompError> {
    for program in programs {
        seccompiler::apply_filter(program).map_err(|e| SeccompError::Install(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [
            {"names": ["unshare", "mount"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_NE"}]},
            {"names": ["reboot"], "action": "SCMP_ACT_KILL",
             "excludes": {"caps": ["CAP_SYS_BOOT"]}},
            {"name": "ptrace", "action": "SCMP_ACT_ERRNO",
             "includes": {"arches": ["s390x"]}}
        ]
    }"#;

    #[test]
    fn docker_profiles_translate_to_mesos_profiles() {
        let p = parse_docker_profile(PROFILE).unwrap();
        assert_eq!(p.default_action, Action::ActAllow as i32);
        assert_eq!(
            p.architectures,
            [Architecture::ArchX8664 as i32, Architecture::ArchX86 as i32]
        );
        // The s390x-only rule is dropped on this host.
        assert_eq!(p.syscalls.len(), 3);
        assert_eq!(p.syscalls[0].names, ["unshare", "mount"]);
        assert_eq!(p.syscalls[1].args[0].op, Operator::CmpNe as i32);
        assert_eq!(p.syscalls[1].args[0].value, 8);
        assert_eq!(
            p.syscalls[2].excludes.as_ref().unwrap().capabilities,
            [Capability::SysBoot as i32]
        );
        let programs = compile(&p, None).unwrap();
        // One filter per non-default action: errno and kill... except that
        // with every capability the reboot rule is excluded.
        assert_eq!(programs.len(), 1);
        let programs = compile(&p, Some(&BTreeSet::new())).unwrap();
        assert_eq!(programs.len(), 2);
    }

    #[test]
    fn bad_profiles_are_clear_errors() {
        let err = parse_docker_profile("{ nope").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
        let err = parse_docker_profile(r#"{"syscalls": []}"#).unwrap_err();
        assert!(err.to_string().contains("defaultAction"), "{err}");
        let err = parse_docker_profile(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_DANCE"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("SCMP_ACT_DANCE"), "{err}");
        let p = parse_docker_profile(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        let err = compile(&p, None).unwrap_err();
        assert!(err.to_string().contains("no_such_syscall"), "{err}");
    }

    #[test]
    fn an_allowlist_profile_compiles_with_its_default() {
        let p = parse_docker_profile(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["kill"], "action": "SCMP_ACT_TRAP"}]}"#,
        )
        .unwrap();
        assert_eq!(compile(&p, None).unwrap().len(), 2);
    }

    #[test]
    fn the_shipped_default_profile_compiles_and_denies_what_it_should() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/seccomp/default.json");
        let p = read_profile(&path).unwrap();
        let denied: BTreeSet<&str> = p
            .syscalls
            .iter()
            .filter(|s| s.action != Action::ActAllow as i32)
            .flat_map(|s| s.names.iter().map(String::as_str))
            .collect();
        for name in ["unshare", "mount", "kexec_load", "setns", "bpf", "reboot"] {
            assert!(denied.contains(name), "{name} not denied");
        }
        assert!(!compile(&p, None).unwrap().is_empty());
    }
}
