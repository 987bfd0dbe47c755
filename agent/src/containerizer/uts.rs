//! A container's own hostname: a MESOS container whose `ContainerInfo` sets
//! `hostname` gets its own UTS namespace with that hostname; every other
//! container shares the agent's UTS namespace.
//!
//! Why this, and not exactly Mesos: in Mesos only the `network/cni`
//! isolator reads `ContainerInfo.hostname`, and only for a container that
//! joins a CNI network (its own network namespace, cloned together with a UTS
//! namespace). A container on the host network keeps the host's UTS
//! namespace and its `hostname` is dropped without a word: Mesos neither
//! refuses it nor validates it. Nothing in a UTS namespace depends on the
//! network namespace, and issue 7 asks for "uts with a hostname", so instead
//! of silently ignoring the field we honour it: the launch helper unshares a
//! UTS namespace and sets the hostname before anything else runs in the
//! container. The host's hostname is never touched (the helper refuses to
//! set one without having unshared first). A container that sets no
//! hostname behaves exactly as in Mesos. The one check Mesos leaves to the
//! kernel (`sethostname` refuses names over 64 bytes) is made before the
//! launch, so such a task fails with a clear message instead of a helper
//! error in the sandbox's stderr.

use mesos_common::proto::v0::container_info;
use mesos_common::proto::v0::slave::ContainerConfig;

use crate::error::AgentError;

/// `CLONE_NEWUTS`, as `ContainerLaunchInfo.clone_namespaces` carries it.
pub const CLONE_NEWUTS: i32 = rustix::thread::UnshareFlags::NEWUTS.bits() as i32;

/// The kernel's `HOST_NAME_MAX`: `sethostname` refuses longer names.
pub const HOSTNAME_BYTES_MAX: usize = 64;

/// The hostname a container asks for (`None`: it shares the agent's UTS
/// namespace). A name the kernel would refuse is an error naming it.
pub fn container_hostname(config: &ContainerConfig) -> Result<Option<&str>, AgentError> {
    let Some(info) = config.container_info.as_ref() else {
        return Ok(None);
    };
    if info.r#type != container_info::Type::Mesos as i32 {
        return Ok(None);
    }
    let Some(hostname) = info.hostname.as_deref() else {
        return Ok(None);
    };
    validate(hostname).map_err(AgentError::Launch)?;
    Ok(Some(hostname))
}

/// Whether `sethostname` would take this name (also checked again by the
/// launch helper, which gets it on its command line).
pub fn validate(hostname: &str) -> Result<(), String> {
    if hostname.len() > HOSTNAME_BYTES_MAX {
        return Err(format!(
            "Failed to set the hostname of the container to '{hostname}': \
             longer than {HOSTNAME_BYTES_MAX} bytes"
        ));
    }
    if hostname.contains('\0') {
        return Err(format!(
            "Failed to set the hostname of the container to '{}': contains a NUL byte",
            hostname.escape_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v0::ContainerInfo;

    fn config(r#type: container_info::Type, hostname: Option<&str>) -> ContainerConfig {
        ContainerConfig {
            container_info: Some(ContainerInfo {
                r#type: r#type as i32,
                hostname: hostname.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_mesos_containers_with_a_hostname_get_one() {
        assert_eq!(CLONE_NEWUTS, 0x0400_0000);
        assert_eq!(
            container_hostname(&ContainerConfig::default()).unwrap(),
            None
        );
        let none = config(container_info::Type::Mesos, None);
        assert_eq!(container_hostname(&none).unwrap(), None);
        let named = config(container_info::Type::Mesos, Some("web-1"));
        assert_eq!(container_hostname(&named).unwrap(), Some("web-1"));
        let docker = config(container_info::Type::Docker, Some("web-1"));
        assert_eq!(container_hostname(&docker).unwrap(), None);
    }

    #[test]
    fn names_the_kernel_refuses_are_errors() {
        let max = "a".repeat(HOSTNAME_BYTES_MAX);
        assert!(validate(&max).is_ok());
        let long = config(container_info::Type::Mesos, Some(&format!("{max}b")));
        let err = container_hostname(&long).unwrap_err().to_string();
        assert!(err.contains("longer than 64 bytes"), "{err}");
        assert!(validate("a\0b").unwrap_err().contains("NUL"));
    }
}
