//! `mesos-containerizer launch`: the helper every container starts as. It reads
//! the launch description (`--launch_info`, a JSON `ContainerLaunchInfo`, or
//! `file://<path>` to one; the agent passes the same message as base64
//! protobuf in `--launch_info_protobuf`, which spares each container start the
//! JSON schema of every Mesos type), starts a new session so the container survives the
//! agent, then replaces itself with the command: `/bin/sh -c <value>` for shell
//! commands, else `<value>` with `arguments` (the first is argv\[0\]), in
//! `working_directory`, with exactly the description's environment, as `user`.
//!
//! Before anything else it joins the container's cgroups (`--cgroups`).
//! Between reading the description and exec it confines itself: first its
//! own UTS namespace and hostname, when the container asks for one
//! (`--hostname`, see `containerizer::uts`), then, in Mesos's
//! order (`launch.cpp`): resource limits (`rlimits`), the bounding
//! capability set (keeping capabilities across the user switch), then
//! `no_new_privs`, then the user switch, then the container's effective
//! capabilities and, the very last step before exec, its seccomp filters
//! (built beforehand, so the last step only installs them).
//!
//! With a pid namespace (`clone_namespaces` holds `CLONE_NEWPID`), the helper
//! cannot become the namespace's first process itself (`unshare` moves only
//! its future children), so it unshares the pid and mount namespaces, makes
//! its mounts private, and forks the executor, which mounts a fresh `/proc`
//! and switches user before exec. The helper stays as the container's root
//! process: it ignores the termination signals meant for the executor's
//! graceful shutdown, waits, and exits as the executor did.
//!
//! The fork's child setup needs `Command::pre_exec` and `sigaction`, both
//! `unsafe`: this module opts out of the workspace's `unsafe_code` denial
//! for them. The child closure only makes syscalls (mount, setgroups,
//! setgid, setuid, sigaction) in a process that has a single thread.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::Command;

use mesos_common::define_flags;
use mesos_common::flags::FlagsLoader;
use mesos_common::proto::v0::slave::ContainerLaunchInfo;

define_flags! {
    /// Flags of `mesos-containerizer launch`.
    #[derive(Debug, Clone)]
    pub struct LaunchFlags {
        pub launch_info: Option<String> {
            help: "JSON ContainerLaunchInfo describing the container (or file:///path to one).",
        },
        pub launch_info_protobuf: Option<String> {
            help: "The same ContainerLaunchInfo as base64 protobuf (or file:///path to it).",
        },
        pub cgroups: Option<String> {
            help: "JSON array of cgroup directories the helper joins first (writing itself to each cgroup.procs).",
        },
        pub hostname: Option<String> {
            help: "Hostname of the container, set in its own UTS namespace (the launch description must clone one).",
        },
    }
}

/// Why the helper could not exec.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{0}")]
    Flags(#[from] mesos_common::flags::FlagError),
    #[error("invalid --launch_info: {0}")]
    LaunchInfo(String),
    #[error("the launch description has no command")]
    NoCommand,
    #[error("{0}")]
    Isolation(String),
    #[error("unknown user '{0}'")]
    UnknownUser(String),
    #[error("failed to exec '{program}': {source}")]
    Exec {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// Builds the command a launch description names (without executing it).
pub fn command_for(info: &ContainerLaunchInfo) -> Result<Command, LaunchError> {
    let (mut cmd, user) = command_without_user(info)?;
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    Ok(cmd)
}

/// The command and the user it must run as (`None`: stay as we are).
fn command_without_user(
    info: &ContainerLaunchInfo,
) -> Result<(Command, Option<(u32, u32)>), LaunchError> {
    let command = info.command.as_ref().ok_or(LaunchError::NoCommand)?;
    let value = command.value.clone().unwrap_or_default();
    let mut cmd = if command.shell() {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(&value);
        c
    } else {
        if value.is_empty() {
            return Err(LaunchError::NoCommand);
        }
        let mut c = Command::new(&value);
        if let Some((argv0, rest)) = command.arguments.split_first() {
            c.arg0(argv0);
            c.args(rest);
        }
        c
    };
    cmd.env_clear();
    for (name, value) in environment(info) {
        cmd.env(name, value);
    }
    if let Some(dir) = info.working_directory.as_deref().filter(|d| !d.is_empty()) {
        cmd.current_dir(dir);
    }
    let mut switch = None;
    if let Some(user) = info.user.as_deref().filter(|u| !u.is_empty()) {
        let (uid, gid) = lookup_user(user).ok_or_else(|| LaunchError::UnknownUser(user.into()))?;
        if uid != rustix::process::geteuid().as_raw() {
            switch = Some((uid, gid));
        }
    }
    Ok((cmd, switch))
}

/// The container's (effective, bounding) capability sets, if it has any.
type ContainerCapabilities = Option<(
    Option<crate::containerizer::isolators::linux_capabilities::CapabilitySet>,
    crate::containerizer::isolators::linux_capabilities::CapabilitySet,
)>;

fn container_capabilities(info: &ContainerLaunchInfo) -> ContainerCapabilities {
    use crate::containerizer::isolators::linux_capabilities::capability_set;
    let bounding = capability_set(info.bounding_capabilities.as_ref()?);
    Some((
        info.effective_capabilities.as_ref().map(capability_set),
        bounding,
    ))
}

/// What is applied after the user switch, right before exec.
struct FinalSteps {
    capabilities: ContainerCapabilities,
    seccomp: Vec<seccompiler::BpfProgram>,
}

impl FinalSteps {
    fn new(info: &ContainerLaunchInfo) -> Result<FinalSteps, LaunchError> {
        let capabilities = container_capabilities(info);
        let seccomp = match &info.seccomp_profile {
            Some(profile) => {
                // Rules conditional on capabilities see the effective set.
                let effective = capabilities.as_ref().and_then(|(e, _)| e.as_ref());
                crate::containerizer::linux::seccomp::compile(profile, effective)
                    .map_err(|e| LaunchError::Isolation(e.to_string()))?
            }
            None => Vec::new(),
        };
        Ok(FinalSteps {
            capabilities,
            seccomp,
        })
    }

    fn is_empty(&self) -> bool {
        self.capabilities.is_none() && self.seccomp.is_empty()
    }

    /// Runs in `pre_exec`, after the user switch.
    fn apply(&self) -> std::io::Result<()> {
        use crate::containerizer::isolators::linux_capabilities::apply_after_user_switch;
        let fail = |e: String| {
            eprintln!("mesos-containerizer launch: {e}");
            std::io::Error::from(std::io::ErrorKind::PermissionDenied)
        };
        if let Some((effective, bounding)) = &self.capabilities {
            apply_after_user_switch(effective.as_ref(), bounding).map_err(fail)?;
        }
        crate::containerizer::linux::seccomp::install(&self.seccomp)
            .map_err(|e| fail(e.to_string()))
    }
}

/// Whether the description asks for a pid namespace.
pub fn wants_pid_namespace(info: &ContainerLaunchInfo) -> bool {
    use crate::containerizer::isolators::namespaces_pid::CLONE_NEWPID;
    info.clone_namespaces.contains(&CLONE_NEWPID)
}

/// Signals a graceful shutdown sends the whole container: the helper
/// waiting for a pid namespace's first process ignores them.
const FORWARDED_SIGNALS: [libc::c_int; 4] =
    [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

fn set_disposition(signal: libc::c_int, handler: libc::sighandler_t) {
    // SAFETY: installs SIG_IGN or SIG_DFL (no handler code runs).
    unsafe {
        libc::signal(signal, handler);
    }
}

/// See the module docs: runs the command as the first process of new pid
/// and mount namespaces, waits for it, and exits as it did. Only returns on
/// failure.
fn run_in_pid_namespace(info: &ContainerLaunchInfo) -> LaunchError {
    use rustix::mount::{MountFlags, MountPropagationFlags};
    use rustix::thread::UnshareFlags;
    let (mut cmd, user) = match command_without_user(info) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let last = match FinalSteps::new(info) {
        Ok(l) => l,
        Err(e) => return e,
    };
    // SAFETY: new pid and mount namespaces leave this process's memory and
    // descriptors as they are (the unsafe cases are CLONE_FILES and the like).
    let unshared =
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWPID | UnshareFlags::NEWNS) };
    if let Err(e) = unshared {
        return LaunchError::Isolation(format!(
            "failed to enter new pid and mount namespaces: {e}"
        ));
    }
    if let Err(e) = rustix::mount::mount_change(
        c"/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    ) {
        return LaunchError::Isolation(format!("failed to make the mounts private: {e}"));
    }
    for signal in FORWARDED_SIGNALS {
        set_disposition(signal, libc::SIG_IGN);
    }
    // SAFETY: runs in the forked child of this single-threaded helper; it
    // only makes syscalls on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            for signal in FORWARDED_SIGNALS {
                set_disposition(signal, libc::SIG_DFL);
            }
            rustix::mount::mount(
                c"proc",
                c"/proc",
                c"proc",
                MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                None,
            )?;
            if let Some((uid, gid)) = user {
                rustix::thread::set_thread_groups(&[])?;
                rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid))?;
                rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid))?;
            }
            last.apply()
        });
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(source) => return LaunchError::Exec { program, source },
    };
    let status = match child.wait() {
        Ok(s) => s,
        Err(e) => return LaunchError::Isolation(format!("failed to wait for '{program}': {e}")),
    };
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        // Die the same way, so the agent sees the executor's own status.
        set_disposition(signal, libc::SIG_DFL);
        if let Some(sig) = rustix::process::Signal::from_named_raw(signal) {
            let _ = rustix::process::kill_process(rustix::process::getpid(), sig);
        }
        std::process::exit(128 + signal);
    }
    std::process::exit(status.code().unwrap_or(1))
}

/// The description's environment (value variables; later entries win).
pub fn environment(info: &ContainerLaunchInfo) -> BTreeMap<String, String> {
    info.environment
        .iter()
        .flat_map(|e| e.variables.iter())
        .filter_map(|v| v.value.clone().map(|value| (v.name.clone(), value)))
        .collect()
}

/// A user's uid and primary gid from `/etc/passwd`.
pub fn lookup_user(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() >= 4 && fields[0] == user {
            Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
        } else {
            None
        }
    })
}

/// Moves the helper into the container's cgroups (`--cgroups`, a JSON array
/// of cgroup directories, v1 and v2 alike): it writes `0`, itself, to each
/// `cgroup.procs`, once per directory (on v2 every cgroups isolator names
/// the container's one cgroup). Everything it starts inherits them.
pub fn join_cgroups(cgroups: &str) -> Result<(), LaunchError> {
    use std::io::Write;
    let mut dirs: Vec<std::path::PathBuf> = serde_json::from_str(cgroups)
        .map_err(|e| LaunchError::LaunchInfo(format!("invalid --cgroups: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    for dir in dirs {
        let path = dir.join("cgroup.procs");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"0"))
            .map_err(|e| {
                LaunchError::Isolation(format!("failed to join '{}': {e}", path.display()))
            })?;
    }
    Ok(())
}

/// Gives the helper (and so the container) its own UTS namespace when the
/// description clones one, and sets `hostname` there (see
/// `containerizer::uts`). A hostname without a new UTS namespace is refused:
/// setting it would rename the host.
pub fn enter_uts_namespace(
    info: &ContainerLaunchInfo,
    hostname: Option<&str>,
) -> Result<(), LaunchError> {
    use crate::containerizer::uts;
    if !info.clone_namespaces.contains(&uts::CLONE_NEWUTS) {
        return match hostname {
            Some(h) => Err(LaunchError::Isolation(format!(
                "refusing to set the hostname '{h}' without a new UTS namespace"
            ))),
            None => Ok(()),
        };
    }
    // SAFETY: a new UTS namespace leaves this process's memory and
    // descriptors as they are.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWUTS) }
        .map_err(|e| LaunchError::Isolation(format!("failed to enter a new UTS namespace: {e}")))?;
    if let Some(h) = hostname {
        uts::validate(h).map_err(LaunchError::Isolation)?;
        rustix::system::sethostname(h.as_bytes()).map_err(|e| {
            LaunchError::Isolation(format!(
                "Failed to set the hostname of the container to '{h}': {e}"
            ))
        })?;
    }
    Ok(())
}

/// Applies the description's confinement to the calling process (see the
/// module docs for the order).
pub fn confine(info: &ContainerLaunchInfo) -> Result<(), LaunchError> {
    use crate::containerizer::isolators::linux_capabilities as capabilities;
    use crate::containerizer::isolators::posix_rlimits;
    if let Some(rlimits) = &info.rlimits {
        let settings = posix_rlimits::rlimit_settings(rlimits).map_err(LaunchError::Isolation)?;
        posix_rlimits::apply(&settings).map_err(LaunchError::Isolation)?;
    }
    if info
        .clone_namespaces
        .contains(&crate::containerizer::isolators::namespaces_ipc::CLONE_NEWIPC)
    {
        // SAFETY: a new IPC namespace leaves this process's memory and
        // descriptors as they are.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWIPC) }.map_err(
            |e| LaunchError::Isolation(format!("failed to enter a new IPC namespace: {e}")),
        )?;
    }
    if let Some(bounding) = &info.bounding_capabilities {
        capabilities::apply_before_user_switch(&capabilities::capability_set(bounding))
            .map_err(LaunchError::Isolation)?;
    }
    if info.no_new_privileges == Some(true) {
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| LaunchError::Isolation(format!("failed to set no_new_privs: {e}")))?;
    }
    Ok(())
}

/// Parses the description from `--launch_info`'s text.
pub fn parse_launch_info(text: &str) -> Result<ContainerLaunchInfo, LaunchError> {
    mesos_common::json::from_str(text).map_err(|e| LaunchError::LaunchInfo(e.to_string()))
}

/// Parses the description from `--launch_info_protobuf`'s base64 text.
pub fn parse_launch_info_protobuf(text: &str) -> Result<ContainerLaunchInfo, LaunchError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| LaunchError::LaunchInfo(format!("not base64: {e}")))?;
    <ContainerLaunchInfo as prost::Message>::decode(bytes.as_slice())
        .map_err(|e| LaunchError::LaunchInfo(e.to_string()))
}

/// The `--launch_info_protobuf` value for a description.
pub fn encode_launch_info_protobuf(info: &ContainerLaunchInfo) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(prost::Message::encode_to_vec(info))
}

/// The helper's `main` for `launch`: only returns on failure.
pub fn run(args: &[String]) -> LaunchError {
    let loaded = match FlagsLoader::new().load::<LaunchFlags>(args, std::iter::empty()) {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    // First of all, so that nothing runs outside the container's cgroups.
    if let Some(cgroups) = &loaded.flags.cgroups
        && let Err(e) = join_cgroups(cgroups)
    {
        return e;
    }
    let parsed = match (
        &loaded.flags.launch_info_protobuf,
        &loaded.flags.launch_info,
    ) {
        (Some(b64), _) => parse_launch_info_protobuf(b64),
        (None, Some(json)) => parse_launch_info(json),
        (None, None) => Err(LaunchError::LaunchInfo("missing --launch_info".into())),
    };
    let info = match parsed {
        Ok(i) => i,
        Err(e) => return e,
    };
    // A new session: not killed with the agent, killed as a whole by the launcher.
    if let Err(e) = rustix::process::setsid() {
        eprintln!("mesos-containerizer: setsid failed ({e}); continuing in the agent's session");
    }
    // First, as Mesos sets the hostname before the container's own setup.
    if let Err(e) = enter_uts_namespace(&info, loaded.flags.hostname.as_deref()) {
        return e;
    }
    if let Err(e) = confine(&info) {
        return e;
    }
    if wants_pid_namespace(&info) {
        return run_in_pid_namespace(&info);
    }
    let mut cmd = match command_for(&info) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let last = match FinalSteps::new(&info) {
        Ok(l) => l,
        Err(e) => return e,
    };
    if !last.is_empty() {
        // SAFETY: runs right before execve in this single-threaded helper
        // (exec replaces the process image; there was no fork), after the
        // user switch std does.
        unsafe {
            cmd.pre_exec(move || last.apply());
        }
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let source = cmd.exec();
    LaunchError::Exec { program, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v0::{CommandInfo, Environment, environment::Variable};

    fn info(command: CommandInfo) -> ContainerLaunchInfo {
        ContainerLaunchInfo {
            command: Some(command),
            environment: Some(Environment {
                variables: vec![Variable {
                    name: "A".into(),
                    value: Some("1".into()),
                    ..Default::default()
                }],
            }),
            working_directory: Some("/tmp".into()),
            ..Default::default()
        }
    }

    #[test]
    fn shell_and_argv_commands() {
        let shell = command_for(&info(CommandInfo {
            value: Some("echo hi".into()),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(shell.get_program(), "/bin/sh");
        assert_eq!(shell.get_args().collect::<Vec<_>>(), ["-c", "echo hi"]);
        let argv = command_for(&info(CommandInfo {
            shell: Some(false),
            value: Some("/bin/echo".into()),
            arguments: vec!["echo".into(), "a".into(), "b".into()],
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(argv.get_program(), "/bin/echo");
        assert_eq!(argv.get_args().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            argv.get_envs().collect::<Vec<_>>(),
            [(std::ffi::OsStr::new("A"), Some(std::ffi::OsStr::new("1")))]
        );
    }

    #[test]
    fn protobuf_and_json_forms_agree() {
        let i = info(CommandInfo {
            value: Some("echo hi".into()),
            ..Default::default()
        });
        let json = mesos_common::json::to_string(&i);
        // JSON writes defaults (shell: true), so compare what each form reads as.
        let from_json = parse_launch_info(&json).unwrap();
        let from_protobuf = parse_launch_info_protobuf(&encode_launch_info_protobuf(&i)).unwrap();
        assert_eq!(from_protobuf, i);
        assert_eq!(mesos_common::json::to_string(&from_json), json);
        assert_eq!(mesos_common::json::to_string(&from_protobuf), json);
        assert!(matches!(
            parse_launch_info_protobuf("!!"),
            Err(LaunchError::LaunchInfo(_))
        ));
    }

    #[test]
    fn bad_descriptions_are_errors() {
        assert!(matches!(
            parse_launch_info("{"),
            Err(LaunchError::LaunchInfo(_))
        ));
        assert!(matches!(
            command_for(&ContainerLaunchInfo::default()),
            Err(LaunchError::NoCommand)
        ));
        let mut i = info(CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        });
        i.user = Some("no-such-user-here".into());
        assert!(matches!(command_for(&i), Err(LaunchError::UnknownUser(_))));
    }

    #[test]
    fn bad_cgroup_lists_and_missing_cgroups_are_errors() {
        assert!(matches!(
            join_cgroups("not json"),
            Err(LaunchError::LaunchInfo(_))
        ));
        match join_cgroups(r#"["/nonexistent/mesos-rs-cgroup"]"#) {
            Err(LaunchError::Isolation(m)) => {
                assert!(
                    m.contains("/nonexistent/mesos-rs-cgroup/cgroup.procs"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(join_cgroups("[]").is_ok());
    }

    #[test]
    fn a_hostname_without_a_new_uts_namespace_is_refused() {
        let i = info(CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        });
        // Nothing to do without a namespace or a name.
        assert!(enter_uts_namespace(&i, None).is_ok());
        match enter_uts_namespace(&i, Some("renamed-host")) {
            Err(LaunchError::Isolation(m)) => assert!(m.contains("UTS namespace"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
