//! `posix/rlimits`: a container's `ContainerInfo.rlimit_info` becomes the
//! launch description's `rlimits`, which `mesos-containerizer launch` sets
//! with `setrlimit(2)` before it execs (Mesos `posix/rlimits.cpp`).
//!
//! Limits are checked here, before the fork, so a bad request fails the task
//! with a clear message instead of a helper that exits on its own.

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{RLimitInfo, Resource, ResourceStatistics, r_limit_info};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};

/// The name in `--isolation`.
pub const NAME: &str = "posix/rlimits";

/// A limit ready for `setrlimit`: `None` is unlimited (`RLIM_INFINITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RLimitSetting {
    pub resource: rustix::process::Resource,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// Translates one `RLimit`: both bounds or neither (unlimited), soft at most
/// hard, a known type. Errors are worded for the task's status message.
pub fn rlimit_setting(limit: &r_limit_info::RLimit) -> Result<RLimitSetting, String> {
    use r_limit_info::r_limit::Type;
    use rustix::process::Resource as R;
    let kind = Type::try_from(limit.r#type.unwrap_or(0)).unwrap_or(Type::Unknown);
    let resource = match kind {
        Type::RlmtAs => R::As,
        Type::RlmtCore => R::Core,
        Type::RlmtCpu => R::Cpu,
        Type::RlmtData => R::Data,
        Type::RlmtFsize => R::Fsize,
        Type::RlmtLocks => R::Locks,
        Type::RlmtMemlock => R::Memlock,
        Type::RlmtMsgqueue => R::Msgqueue,
        Type::RlmtNice => R::Nice,
        Type::RlmtNofile => R::Nofile,
        Type::RlmtNproc => R::Nproc,
        Type::RlmtRss => R::Rss,
        Type::RlmtRtprio => R::Rtprio,
        Type::RlmtRttime => R::Rttime,
        Type::RlmtSigpending => R::Sigpending,
        Type::RlmtStack => R::Stack,
        Type::Unknown => {
            return Err(format!("unknown rlimit type {}", limit.r#type.unwrap_or(0)));
        }
    };
    match (limit.soft, limit.hard) {
        (None, None) => Ok(RLimitSetting {
            resource,
            soft: None,
            hard: None,
        }),
        (Some(soft), Some(hard)) if soft <= hard => Ok(RLimitSetting {
            resource,
            soft: Some(soft),
            hard: Some(hard),
        }),
        (Some(soft), Some(hard)) => Err(format!(
            "invalid rlimit {}: soft limit {soft} is above the hard limit {hard}",
            kind.as_str_name()
        )),
        _ => Err(format!(
            "invalid rlimit {}: set both soft and hard limits, or neither for unlimited",
            kind.as_str_name()
        )),
    }
}

/// Every limit of an `RLimitInfo`, or the first error.
pub fn rlimit_settings(info: &RLimitInfo) -> Result<Vec<RLimitSetting>, String> {
    info.rlimits.iter().map(rlimit_setting).collect()
}

/// Applies limits to the calling process (the launch helper, before exec).
pub fn apply(settings: &[RLimitSetting]) -> Result<(), String> {
    for s in settings {
        rustix::process::setrlimit(
            s.resource,
            rustix::process::Rlimit {
                current: s.soft,
                maximum: s.hard,
            },
        )
        .map_err(|e| {
            format!(
                "failed to set {:?} to {:?}/{:?}: {e}",
                s.resource, s.soft, s.hard
            )
        })?;
    }
    Ok(())
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct PosixRlimits;

impl Isolator for PosixRlimits {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        _: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        let Some(info) = config
            .container_info
            .as_ref()
            .and_then(|c| c.rlimit_info.as_ref())
        else {
            return Ok(None);
        };
        rlimit_settings(info).map_err(|reason| IsolatorError {
            isolator: NAME,
            reason,
        })?;
        Ok(Some(ContainerLaunchInfo {
            rlimits: Some(info.clone()),
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
    use r_limit_info::{RLimit, r_limit::Type};

    fn limit(kind: Type, soft: Option<u64>, hard: Option<u64>) -> RLimit {
        RLimit {
            r#type: Some(kind as i32),
            soft,
            hard,
        }
    }

    #[test]
    fn limits_need_both_bounds_or_neither() {
        assert_eq!(
            rlimit_setting(&limit(Type::RlmtNofile, Some(10), Some(20))).unwrap(),
            RLimitSetting {
                resource: rustix::process::Resource::Nofile,
                soft: Some(10),
                hard: Some(20)
            }
        );
        let unlimited = rlimit_setting(&limit(Type::RlmtCore, None, None)).unwrap();
        assert_eq!((unlimited.soft, unlimited.hard), (None, None));
        let err = rlimit_setting(&limit(Type::RlmtNofile, Some(10), None)).unwrap_err();
        assert!(err.contains("RLMT_NOFILE") && err.contains("both"), "{err}");
        let err = rlimit_setting(&limit(Type::RlmtNofile, Some(30), Some(20))).unwrap_err();
        assert!(err.contains("above the hard limit"), "{err}");
        let err = rlimit_setting(&limit(Type::Unknown, None, None)).unwrap_err();
        assert!(err.contains("unknown rlimit type"), "{err}");
    }

    #[test]
    fn prepare_copies_the_container_limits() {
        let info = RLimitInfo {
            rlimits: vec![limit(Type::RlmtNofile, Some(64), Some(64))],
        };
        let config = ContainerConfig {
            container_info: Some(mesos_common::proto::v0::ContainerInfo {
                rlimit_info: Some(info.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let out = PosixRlimits.prepare("c", &config).unwrap().unwrap();
        assert_eq!(out.rlimits, Some(info));
        assert_eq!(
            PosixRlimits
                .prepare("c", &ContainerConfig::default())
                .unwrap(),
            None
        );
    }
}
