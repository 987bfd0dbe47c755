//! `namespaces/ipc`: each container gets its own IPC namespace (System V
//! IPC objects and POSIX message queues), unless its `LinuxInfo.ipc_mode`
//! is `SHARE_PARENT` (Mesos `namespaces/ipc`). The launch helper unshares it
//! before anything else runs in the container.

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics, linux_info::IpcMode};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};

/// The name in `--isolation`.
pub const NAME: &str = "namespaces/ipc";

/// `CLONE_NEWIPC`, as `ContainerLaunchInfo.clone_namespaces` carries it.
pub const CLONE_NEWIPC: i32 = rustix::thread::UnshareFlags::NEWIPC.bits() as i32;

/// See the module docs.
#[derive(Debug, Default)]
pub struct NamespacesIpc;

impl Isolator for NamespacesIpc {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        _: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        let mode = config
            .container_info
            .as_ref()
            .and_then(|c| c.linux_info.as_ref())
            .and_then(|l| l.ipc_mode);
        if mode == Some(IpcMode::ShareParent as i32) {
            return Ok(None);
        }
        Ok(Some(ContainerLaunchInfo {
            clone_namespaces: vec![CLONE_NEWIPC],
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
