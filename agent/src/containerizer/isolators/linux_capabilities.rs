//! `linux/capabilities`: a container's effective and bounding capability
//! sets (Mesos `linux/capabilities.cpp`).
//!
//! The request comes from `LinuxInfo.effective_capabilities` (or the older
//! `capability_info`, not both) and `LinuxInfo.bounding_capabilities`; the
//! agent's `--effective_capabilities` and `--bounding_capabilities` are the
//! defaults and the allowed sets: a bounding request outside the agent's
//! bounding set, or an effective request outside the bounding set, fails the
//! launch with Mesos's message. Without an explicit bounding set the
//! effective set bounds the container.
//!
//! The launch helper applies them (see [`apply_before_user_switch`] and
//! [`apply_after_user_switch`]): it drops every capability outside the
//! bounding set and keeps its permitted set across the user switch, then
//! makes the effective set the container's effective, permitted, inheritable
//! and ambient sets (and clips inheritable to the bounding set). A setuid
//! binary run later gains no more than the bounding set.

use std::collections::BTreeSet;

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{CapabilityInfo, Resource, ResourceStatistics, capability_info};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};

/// The name in `--isolation`.
pub const NAME: &str = "linux/capabilities";

/// `CapabilityInfo.Capability` values are the kernel's numbers plus this.
const CAPABILITY_BASE: i32 = 1000;

/// A capability set by Mesos's enum values (ordered as Mesos prints them).
pub type CapabilitySet = BTreeSet<i32>;

/// The set a `CapabilityInfo` names.
pub fn capability_set(info: &CapabilityInfo) -> CapabilitySet {
    info.capabilities.iter().copied().collect()
}

/// `{ NET_RAW, SYS_ADMIN }`, as Mesos stringifies a set of capabilities.
pub fn describe(set: &CapabilitySet) -> String {
    let names: Vec<&str> = set
        .iter()
        .map(|c| {
            capability_info::Capability::try_from(*c)
                .map(|c| c.as_str_name())
                .unwrap_or("UNKNOWN")
        })
        .collect();
    format!("{{ {} }}", names.join(", "))
}

/// Parses a `--effective_capabilities`/`--bounding_capabilities` value: a
/// JSON `CapabilityInfo` (`{"capabilities": ["NET_RAW"]}`).
pub fn parse_flag(text: &str) -> Result<CapabilityInfo, String> {
    // Read by hand: an unknown capability name must be an error, not a
    // silently dropped enum value.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a CapabilityInfo: {e}"))?;
    let list = match value.get("capabilities") {
        None => return Ok(CapabilityInfo::default()),
        Some(serde_json::Value::Array(list)) => list,
        Some(other) => return Err(format!("'capabilities' must be an array, not {other}")),
    };
    let mut capabilities = Vec::with_capacity(list.len());
    for item in list {
        let name = item
            .as_str()
            .ok_or_else(|| format!("capability names are strings, not {item}"))?;
        let cap = capability_info::Capability::from_str_name(name)
            .ok_or_else(|| format!("unknown capability '{name}'"))?;
        capabilities.push(cap as i32);
    }
    Ok(CapabilityInfo { capabilities })
}

/// The sets to launch a container with, or why it may not run (see the
/// module docs). `None`: no capability handling for this container.
pub fn resolve(
    config: &ContainerConfig,
    allowed_effective: Option<&CapabilityInfo>,
    allowed_bounding: Option<&CapabilityInfo>,
) -> Result<Option<(Option<CapabilitySet>, CapabilitySet)>, String> {
    let linux = config
        .container_info
        .as_ref()
        .and_then(|c| c.linux_info.as_ref());
    let mut effective = None;
    let mut bounding = None;
    // `capability_info` is deprecated but still honoured, as in Mesos.
    #[allow(deprecated)]
    if let Some(linux) = linux {
        if linux.capability_info.is_some() && linux.effective_capabilities.is_some() {
            return Err(
                "Only one of 'capability_info' or 'effective_capabilities' is allowed".into(),
            );
        }
        effective = linux
            .capability_info
            .as_ref()
            .or(linux.effective_capabilities.as_ref())
            .map(capability_set);
        bounding = linux.bounding_capabilities.as_ref().map(capability_set);
    }
    if effective.is_none() {
        effective = allowed_effective.map(capability_set);
    }
    if let (Some(requested), Some(allowed)) = (&bounding, allowed_bounding) {
        let allowed = capability_set(allowed);
        if !requested.is_subset(&allowed) {
            return Err(format!(
                "Bounding capabilities '{}', but only '{}' are allowed",
                describe(requested),
                describe(&allowed)
            ));
        }
    }
    if bounding.is_none() {
        bounding = allowed_bounding.map(capability_set);
    }
    if bounding.is_none() {
        bounding = effective.clone();
    }
    let Some(bounding) = bounding else {
        return Ok(None);
    };
    if let Some(requested) = &effective
        && !requested.is_subset(&bounding)
    {
        return Err(format!(
            "Requested capabilities '{}', but only '{}' are allowed",
            describe(requested),
            describe(&bounding)
        ));
    }
    Ok(Some((effective, bounding)))
}

fn to_caps(set: &CapabilitySet) -> caps::CapsHashSet {
    caps::all()
        .into_iter()
        .filter(|c| set.contains(&(CAPABILITY_BASE + i32::from(c.index()))))
        .collect()
}

/// The highest capability the running kernel knows.
fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(40)
}

/// In the helper, as root, before the user switch: drops every capability
/// outside `bounding` from the bounding set and keeps the permitted set
/// across `setuid`.
pub fn apply_before_user_switch(bounding: &CapabilitySet) -> Result<(), String> {
    let keep = to_caps(bounding);
    let last = last_cap();
    for cap in caps::all() {
        if cap.index() <= last && !keep.contains(&cap) {
            caps::drop(None, caps::CapSet::Bounding, cap)
                .map_err(|e| format!("failed to drop {cap} from the bounding set: {e}"))?;
        }
    }
    caps::securebits::set_keepcaps(true).map_err(|e| format!("failed to keep capabilities: {e}"))
}

/// In the process about to exec, after the user switch: the effective set
/// becomes the effective, permitted, inheritable and ambient sets (Mesos
/// grants it to all of them); without one, inheritable is clipped to the
/// bounding set.
pub fn apply_after_user_switch(
    effective: Option<&CapabilitySet>,
    bounding: &CapabilitySet,
) -> Result<(), String> {
    use caps::CapSet;
    let fail = |what: &str, e: caps::errors::CapsError| format!("failed to set {what}: {e}");
    match effective {
        Some(effective) => {
            let target = to_caps(effective);
            caps::set(None, CapSet::Effective, &target).map_err(|e| fail("effective", e))?;
            caps::set(None, CapSet::Permitted, &target).map_err(|e| fail("permitted", e))?;
            caps::set(None, CapSet::Inheritable, &target).map_err(|e| fail("inheritable", e))?;
            caps::set(None, CapSet::Ambient, &target).map_err(|e| fail("ambient", e))?;
        }
        None => {
            let inheritable = caps::read(None, CapSet::Inheritable)
                .map_err(|e| fail("inheritable", e))?
                .intersection(&to_caps(bounding))
                .copied()
                .collect();
            caps::set(None, CapSet::Inheritable, &inheritable)
                .map_err(|e| fail("inheritable", e))?;
        }
    }
    Ok(())
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct LinuxCapabilities {
    effective: Option<CapabilityInfo>,
    bounding: Option<CapabilityInfo>,
}

impl LinuxCapabilities {
    /// Checks the agent's sets (effective within bounding) and that the
    /// agent can manage capabilities (root).
    pub fn new(
        effective: Option<CapabilityInfo>,
        bounding: Option<CapabilityInfo>,
    ) -> Result<LinuxCapabilities, IsolatorError> {
        let err = |reason: String| IsolatorError {
            isolator: NAME,
            reason,
        };
        if !rustix::process::geteuid().is_root() {
            return Err(err("the Linux capabilities isolator requires root".into()));
        }
        if let (Some(e), Some(b)) = (&effective, &bounding)
            && !capability_set(e).is_subset(&capability_set(b))
        {
            return Err(err(
                "Allowed capabilities are not a subset of the bounding capabilities".into(),
            ));
        }
        Ok(LinuxCapabilities {
            effective,
            bounding,
        })
    }
}

impl Isolator for LinuxCapabilities {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        _: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        let resolved =
            resolve(config, self.effective.as_ref(), self.bounding.as_ref()).map_err(|reason| {
                IsolatorError {
                    isolator: NAME,
                    reason,
                }
            })?;
        let Some((effective, bounding)) = resolved else {
            return Ok(None);
        };
        let info = |set: CapabilitySet| CapabilityInfo {
            capabilities: set.into_iter().collect(),
        };
        Ok(Some(ContainerLaunchInfo {
            effective_capabilities: effective.map(info),
            bounding_capabilities: Some(info(bounding)),
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
    use capability_info::Capability as C;
    use mesos_common::proto::v0::{ContainerInfo, LinuxInfo, container_info};

    fn set(caps: &[C]) -> CapabilityInfo {
        CapabilityInfo {
            capabilities: caps.iter().map(|c| *c as i32).collect(),
        }
    }

    fn config(linux: LinuxInfo) -> ContainerConfig {
        ContainerConfig {
            container_info: Some(ContainerInfo {
                r#type: container_info::Type::Mesos as i32,
                linux_info: Some(linux),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn requests_resolve_against_the_agent_sets_as_mesos_does() {
        // Nothing asked, nothing configured: no handling.
        assert_eq!(resolve(&ContainerConfig::default(), None, None), Ok(None));
        // Effective alone bounds itself.
        let c = config(LinuxInfo {
            effective_capabilities: Some(set(&[C::NetRaw])),
            ..Default::default()
        });
        let (e, b) = resolve(&c, None, None).unwrap().unwrap();
        assert_eq!(e, Some(capability_set(&set(&[C::NetRaw]))));
        assert_eq!(b, capability_set(&set(&[C::NetRaw])));
        // Beyond the agent's bounding set.
        let err = resolve(&c, None, Some(&set(&[C::Chown]))).unwrap_err();
        assert_eq!(
            err,
            "Requested capabilities '{ NET_RAW }', but only '{ CHOWN }' are allowed"
        );
        let c = config(LinuxInfo {
            bounding_capabilities: Some(set(&[C::NetRaw, C::SysAdmin])),
            ..Default::default()
        });
        let err = resolve(&c, None, Some(&set(&[C::NetRaw]))).unwrap_err();
        assert_eq!(
            err,
            "Bounding capabilities '{ NET_RAW, SYS_ADMIN }', but only '{ NET_RAW }' are allowed"
        );
        // Agent defaults apply to containers that ask nothing.
        let (e, b) = resolve(
            &ContainerConfig::default(),
            Some(&set(&[C::Chown])),
            Some(&set(&[C::Chown, C::Kill])),
        )
        .unwrap()
        .unwrap();
        assert_eq!(e, Some(capability_set(&set(&[C::Chown]))));
        assert_eq!(b, capability_set(&set(&[C::Chown, C::Kill])));
        // Both fields is an error.
        #[allow(deprecated)]
        let c = config(LinuxInfo {
            capability_info: Some(set(&[C::Chown])),
            effective_capabilities: Some(set(&[C::Chown])),
            ..Default::default()
        });
        assert!(resolve(&c, None, None).unwrap_err().contains("Only one of"));
    }

    #[test]
    fn flags_parse_json_and_name_bad_input() {
        assert_eq!(
            parse_flag(r#"{"capabilities":["NET_RAW","CHOWN"]}"#).unwrap(),
            set(&[C::NetRaw, C::Chown])
        );
        assert!(parse_flag(r#"{"capabilities":["NOT_A_CAP"]}"#).is_err());
        assert!(parse_flag("{").is_err());
    }

    #[test]
    fn enum_values_map_to_kernel_numbers() {
        let caps = to_caps(&capability_set(&set(&[C::NetRaw, C::SysAdmin])));
        assert!(caps.contains(&caps::Capability::CAP_NET_RAW));
        assert!(caps.contains(&caps::Capability::CAP_SYS_ADMIN));
        assert_eq!(caps.len(), 2);
    }
}
