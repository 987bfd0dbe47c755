//! `namespaces/pid`: each container gets its own pid namespace and a mount
//! namespace with its own `/proc` (Mesos `namespaces/pid`), so its processes
//! see only each other: the executor is pid 1 and the agent's processes are
//! invisible. When the executor (pid 1) exits, the kernel kills everything
//! left in the namespace, and the container's mounts go with its mount
//! namespace.
//!
//! The launch helper does the work (see `launch::enter_namespaces`): it
//! unshares the namespaces, makes its mounts private, and forks the executor
//! as the namespace's first process, which mounts `/proc` before exec.

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};

/// The name in `--isolation`.
pub const NAME: &str = "namespaces/pid";

/// `CLONE_NEWPID`, as `ContainerLaunchInfo.clone_namespaces` carries it.
pub const CLONE_NEWPID: i32 = rustix::thread::UnshareFlags::NEWPID.bits() as i32;
/// `CLONE_NEWNS` (a mount namespace, for the container's own `/proc`).
pub const CLONE_NEWNS: i32 = rustix::thread::UnshareFlags::NEWNS.bits() as i32;

/// See the module docs.
#[derive(Debug, Default)]
pub struct NamespacesPid;

impl Isolator for NamespacesPid {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        _: &str,
        _: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        Ok(Some(ContainerLaunchInfo {
            clone_namespaces: vec![CLONE_NEWPID, CLONE_NEWNS],
            ..Default::default()
        }))
    }

    fn isolate(&mut self, _: &str, _: u32) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn watch(&mut self, _: &str) -> Option<Limitation> {
        None
    }

    fn update(&mut self, _: &str, _: &[Resource]) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn usage(&self, _: &str, _: u32, _: &mut ResourceStatistics) {}

    fn cleanup(&mut self, _: &str) -> Result<(), IsolatorError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_the_kernel_values() {
        assert_eq!(CLONE_NEWPID, 0x2000_0000);
        assert_eq!(CLONE_NEWNS, 0x0002_0000);
        let info = NamespacesPid
            .prepare("c", &ContainerConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(info.clone_namespaces, [CLONE_NEWPID, CLONE_NEWNS]);
    }
}
