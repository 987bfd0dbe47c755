//! The agent's total resources: `--resources`, plus what it leaves out detected
//! from the host as Mesos's `Containerizer::resources` does:
//!
//! - `cpus`: the number of processors (`/proc/cpuinfo`);
//! - `mem`: total memory minus 1 GB when there are at least 2 GB, else half;
//! - `disk`: size of the file system holding `--work_dir` minus 5 GB when it
//!   has at least 10 GB, else half;
//! - `ports`: `[31000-32000]`.
//!
//! The arithmetic is pure ([`complete`]); [`HostFacts::read`] does the I/O.

use std::path::Path;

use mesos_common::resources::{Resources, parse_resource, parse_resources, validate_command_line};

use crate::constants::{DEFAULT_PORTS, DISK_RESERVE_MB, MEM_RESERVE_MB};
use crate::error::AgentError;

/// What resource detection needs to know about the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostFacts {
    pub cpus: f64,
    pub mem_total_mb: u64,
    pub disk_total_mb: u64,
}

impl HostFacts {
    /// Reads `/proc/cpuinfo`, `/proc/meminfo` and the work directory's file system.
    pub fn read(work_dir: &Path) -> Result<HostFacts, AgentError> {
        use procfs::Current;
        let cpus = procfs::CpuInfo::current()
            .map(|c| c.num_cores())
            .map_err(|e| AgentError::Discovery(format!("/proc/cpuinfo: {e}")))?
            .max(1) as f64;
        let mem = procfs::Meminfo::current()
            .map_err(|e| AgentError::Discovery(format!("/proc/meminfo: {e}")))?;
        let stat = rustix::fs::statvfs(work_dir)
            .map_err(|e| AgentError::Discovery(format!("statvfs '{}': {e}", work_dir.display())))?;
        let disk_bytes = stat.f_blocks.saturating_mul(stat.f_frsize);
        Ok(HostFacts {
            cpus,
            mem_total_mb: mem.mem_total / (1024 * 1024),
            disk_total_mb: disk_bytes / (1024 * 1024),
        })
    }
}

/// Memory offered: all but 1 GB on hosts with 2 GB or more, else half.
pub fn offered_mem_mb(total_mb: u64) -> u64 {
    if total_mb >= 2 * MEM_RESERVE_MB {
        total_mb - MEM_RESERVE_MB
    } else {
        total_mb / 2
    }
}

/// Disk offered: all but 5 GB on file systems of 10 GB or more, else half.
pub fn offered_disk_mb(total_mb: u64) -> u64 {
    if total_mb >= 2 * DISK_RESERVE_MB {
        total_mb - DISK_RESERVE_MB
    } else {
        total_mb / 2
    }
}

/// Parses `--resources` and fills in what it leaves out from `facts`.
pub fn complete(
    flag: Option<&str>,
    default_role: &str,
    facts: &HostFacts,
) -> Result<Resources, AgentError> {
    let mut resources = match flag {
        Some(text) if !text.trim().is_empty() => parse_resources(text, default_role)?,
        _ => Resources::default(),
    };
    validate_command_line(&resources)?;
    let names: std::collections::BTreeSet<String> =
        resources.names().into_iter().map(str::to_string).collect();
    let mut add = |name: &str, value: String| -> Result<(), AgentError> {
        if !names.contains(name) {
            resources.add(parse_resource(name, &value, default_role)?);
        }
        Ok(())
    };
    add("cpus", format!("{}", facts.cpus))?;
    add("mem", format!("{}", offered_mem_mb(facts.mem_total_mb)))?;
    add("disk", format!("{}", offered_disk_mb(facts.disk_total_mb)))?;
    add("ports", DEFAULT_PORTS.to_string())?;
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACTS: HostFacts = HostFacts {
        cpus: 8.0,
        mem_total_mb: 16 * 1024,
        disk_total_mb: 100 * 1024,
    };

    #[test]
    fn fills_in_what_the_flag_leaves_out() {
        let r = complete(Some("cpus:2;gpus:0"), "*", &FACTS).unwrap();
        assert_eq!(r.cpus(), Some(2.0));
        assert_eq!(r.mem().map(|b| b.megabytes()), Some(15 * 1024));
        assert_eq!(r.disk().map(|b| b.megabytes()), Some(95 * 1024));
        assert_eq!(
            r.ports().map(|p| p.to_string()).as_deref(),
            Some("[31000-32000]")
        );
        let all = complete(None, "*", &FACTS).unwrap();
        assert_eq!(all.cpus(), Some(8.0));
    }

    #[test]
    fn small_hosts_keep_half() {
        assert_eq!(offered_mem_mb(1024), 512);
        assert_eq!(offered_mem_mb(2048), 1024);
        assert_eq!(offered_disk_mb(8 * 1024), 4 * 1024);
        assert_eq!(offered_disk_mb(10 * 1024), 5 * 1024);
    }

    #[test]
    fn bad_resources_are_typed_errors() {
        for bad in ["cpus:-1", "cpus:abc", "ports:[10-5]", "mem", "cpus(:1"] {
            assert!(
                matches!(
                    complete(Some(bad), "*", &FACTS),
                    Err(AgentError::Resources(_))
                ),
                "{bad}"
            );
        }
    }
}
