//! `linux/seccomp`: a seccomp filter per container (Mesos `linux/seccomp`).
//!
//! Profiles are Docker-format JSON files in `--seccomp_config_dir`;
//! `--seccomp_profile_name` names the default one, checked at start-up (a
//! bad default is a start-up error). A container may name its own
//! (`LinuxInfo.seccomp.profile_name`, read and checked at launch: bad JSON or
//! an unknown syscall fails the task with the reason) or run `unconfined`.
//! The profile travels in the launch description; the launch helper builds
//! the filters and installs them as its very last step before exec
//! ([`crate::containerizer::linux::seccomp`]).

use std::path::{Component, Path, PathBuf};

use mesos_common::proto::v0::seccomp::ContainerSeccompProfile;
use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};
use crate::containerizer::linux::seccomp;

/// The name in `--isolation`.
pub const NAME: &str = "linux/seccomp";

fn err(reason: String) -> IsolatorError {
    IsolatorError {
        isolator: NAME,
        reason,
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct LinuxSeccomp {
    config_dir: PathBuf,
    default_profile: Option<ContainerSeccompProfile>,
}

impl LinuxSeccomp {
    /// Reads and checks the default profile.
    pub fn new(
        config_dir: Option<PathBuf>,
        profile_name: Option<&str>,
    ) -> Result<LinuxSeccomp, IsolatorError> {
        let config_dir = config_dir
            .ok_or_else(|| err("the linux/seccomp isolator needs --seccomp_config_dir".into()))?;
        let mut isolator = LinuxSeccomp {
            config_dir,
            default_profile: None,
        };
        if let Some(name) = profile_name {
            isolator.default_profile = Some(isolator.load(name)?);
        }
        Ok(isolator)
    }

    /// Reads a profile of the config directory and checks that it compiles.
    fn load(&self, name: &str) -> Result<ContainerSeccompProfile, IsolatorError> {
        // A name, not a path out of the directory.
        let relative = Path::new(name);
        if name.is_empty()
            || relative
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(err(format!("invalid seccomp profile name '{name}'")));
        }
        let profile = seccomp::read_profile(&self.config_dir.join(relative))
            .map_err(|e| err(e.to_string()))?;
        seccomp::compile(&profile, None).map_err(|e| err(format!("profile '{name}': {e}")))?;
        Ok(profile)
    }
}

impl Isolator for LinuxSeccomp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        _: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        let requested = config
            .container_info
            .as_ref()
            .and_then(|c| c.linux_info.as_ref())
            .and_then(|l| l.seccomp.as_ref());
        let profile = match requested {
            Some(s) if s.unconfined == Some(true) => {
                if s.profile_name.is_some() {
                    return Err(err(
                        "a seccomp profile name and 'unconfined' cannot both be set".into(),
                    ));
                }
                None
            }
            Some(s) if s.profile_name.is_some() => {
                Some(self.load(s.profile_name.as_deref().unwrap_or_default())?)
            }
            _ => self.default_profile.clone(),
        };
        Ok(profile.map(|p| ContainerLaunchInfo {
            seccomp_profile: Some(p),
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
    fn profile_names_stay_in_the_config_dir_and_are_checked() {
        let dir = std::env::temp_dir().join(format!("seccomp-iso-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bad.json"), "{").unwrap();
        std::fs::write(
            dir.join("unknown.json"),
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["frobnicate"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        let iso = LinuxSeccomp::new(Some(dir.clone()), None).unwrap();
        assert!(
            iso.load("../etc/passwd")
                .unwrap_err()
                .reason
                .contains("invalid")
        );
        assert!(
            iso.load("bad.json")
                .unwrap_err()
                .reason
                .contains("not JSON")
        );
        assert!(
            iso.load("unknown.json")
                .unwrap_err()
                .reason
                .contains("frobnicate")
        );
        assert!(
            iso.load("missing.json")
                .unwrap_err()
                .reason
                .contains("cannot read")
        );
        let e = LinuxSeccomp::new(Some(dir.clone()), Some("bad.json")).unwrap_err();
        assert!(e.reason.contains("not JSON"), "{e}");
        assert!(LinuxSeccomp::new(None, None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
