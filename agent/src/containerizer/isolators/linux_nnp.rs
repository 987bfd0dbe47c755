//! `linux/nnp`: every container runs with `no_new_privs` set (Mesos
//! `linux/nnp.cpp`), so neither setuid binaries nor file capabilities can
//! raise its privileges across `execve`. The launch helper sets it with
//! `prctl(PR_SET_NO_NEW_PRIVS)` right before exec.

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};

/// The name in `--isolation`.
pub const NAME: &str = "linux/nnp";

/// See the module docs.
#[derive(Debug, Default)]
pub struct LinuxNnp;

impl Isolator for LinuxNnp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        _: &str,
        _: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        Ok(Some(ContainerLaunchInfo {
            no_new_privileges: Some(true),
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
