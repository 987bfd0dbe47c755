//! Control groups, as the cgroups isolators use them (Mesos `linux/cgroups.cpp`):
//! cgroup v1 and what both versions share. The v2 unified hierarchy is in
//! `cgroups2`, and which version each controller is on (and so where a
//! container's cgroups are) in `cgroups_detect`.
//!
//! On cgroup v1 each controller has its own hierarchy
//! (`<hierarchy>/<controller>`); a container's cgroup is
//! `<hierarchy>/<controller>/<cgroups_root>/<container id>` in every controller
//! an isolator uses. A process joins by writing its pid (or `0`, itself) to
//! the cgroup's `cgroup.procs` (the same on v2); the launch helper does that
//! as its first step, before it reads the launch description, so nothing the
//! container starts escapes.
//!
//! Removal kills what is left (SIGKILL to every pid in `cgroup.procs`, again
//! until the cgroup is empty) and then `rmdir`s it; a bounded number of
//! rounds ([`DESTROY_ROUNDS_MAX`]) keeps a stuck process from stalling the
//! agent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Kill-and-rmdir rounds before giving up on a cgroup.
pub const DESTROY_ROUNDS_MAX: u32 = 500;

/// Pause between rounds (killed processes need a moment to exit).
const DESTROY_ROUND_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

/// Why a cgroup operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("failed to {op} '{path}': {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the cgroup controller '{controller}' is not available: {looked_at}")]
    ControllerMissing {
        controller: String,
        looked_at: String,
    },
    #[error(
        "cgroup '{0}' still has processes after being killed (v1: {DESTROY_ROUNDS_MAX} rounds; v2: the drain timeout)"
    )]
    Busy(PathBuf),
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError {
    let path = path.to_path_buf();
    move |source| CgroupError::Io { op, path, source }
}

/// `--cgroups_hierarchy` and `--cgroups_root`: where the detection looks
/// (`cgroups_detect`), and the v1 paths `<hierarchy>/<controller>/<root>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupsV1 {
    /// `--cgroups_hierarchy` (`/sys/fs/cgroup`).
    pub hierarchy: PathBuf,
    /// `--cgroups_root` (`mesos`).
    pub root: String,
}

impl CgroupsV1 {
    pub fn new(hierarchy: impl Into<PathBuf>, root: impl Into<String>) -> CgroupsV1 {
        CgroupsV1 {
            hierarchy: hierarchy.into(),
            root: root.into(),
        }
    }

    /// The agent's directory in a controller's hierarchy.
    pub fn root_dir(&self, controller: &str) -> PathBuf {
        self.hierarchy.join(controller).join(&self.root)
    }

    /// A container's cgroup in a controller's hierarchy.
    pub fn container_dir(&self, controller: &str, container_id: &str) -> PathBuf {
        self.root_dir(controller).join(container_id)
    }

    /// Creates a container's cgroup (and the agent's root) in a controller.
    pub fn create(&self, controller: &str, container_id: &str) -> Result<PathBuf, CgroupError> {
        let dir = self.container_dir(controller, container_id);
        std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        Ok(dir)
    }

    /// The container cgroups found under the agent's root in a controller
    /// (for orphan cleanup after a restart).
    pub fn list(&self, controller: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.root_dir(controller)) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect()
    }
}

/// Writes one control file.
pub fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(io("write", &path))
}

/// Reads one control file.
pub fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).map_err(io("read", &path))
}

/// Reads a control file holding one number.
pub fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let text = read(dir, file)?;
    text.trim().parse().map_err(|_| CgroupError::Io {
        op: "parse",
        path: dir.join(file),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a number: '{}'", text.trim()),
        ),
    })
}

/// Parses a flat keyed file (`memory.stat`, `cpu.stat`, `cpuacct.stat`,
/// `memory.events`, `memory.oom_control`): `key value` lines; lines that do
/// not parse are skipped.
pub fn parse_flat_keyed(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let key = parts.next()?;
            let value = parts.next()?.parse().ok()?;
            Some((key.to_string(), value))
        })
        .collect()
}

/// Reads and parses a flat keyed file.
pub fn read_flat_keyed(dir: &Path, file: &str) -> Result<HashMap<String, u64>, CgroupError> {
    Ok(parse_flat_keyed(&read(dir, file)?))
}

/// The pids in a cgroup.
pub fn procs(dir: &Path) -> Vec<u32> {
    read(dir, "cgroup.procs")
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// SIGKILL to one process (gone already: nothing to do).
pub fn kill_pid(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// Kills every process of a cgroup and removes it (see the module docs). A
/// cgroup that does not exist is already destroyed.
pub fn destroy(dir: &Path) -> Result<(), CgroupError> {
    for _ in 0..DESTROY_ROUNDS_MAX {
        if !dir.exists() {
            return Ok(());
        }
        for pid in procs(dir) {
            kill_pid(pid);
        }
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error()) => {
                std::thread::sleep(DESTROY_ROUND_PAUSE);
            }
            Err(e) => return Err(io("remove", dir)(e)),
        }
    }
    Err(CgroupError::Busy(dir.to_path_buf()))
}

/// Bytes as stout prints them (`64MB`, `1536KB`, `100B`): the largest unit
/// that divides the value exactly, as Mesos's OOM message shows limits.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TB", 1 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_files_parse_and_skip_garbage() {
        let m = parse_flat_keyed("rss 4096\ncache 8192\nbad\nx y\n total_rss 1 \n");
        assert_eq!(m.get("rss"), Some(&4096));
        assert_eq!(m.get("cache"), Some(&8192));
        assert_eq!(m.get("total_rss"), Some(&1));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn bytes_print_as_stout_does() {
        assert_eq!(format_bytes(64 << 20), "64MB");
        assert_eq!(format_bytes(1536 << 10), "1536KB");
        assert_eq!(format_bytes(2 << 30), "2GB");
        assert_eq!(format_bytes(100), "100B");
        assert_eq!(format_bytes(0), "0B");
    }

    #[test]
    fn destroying_a_missing_cgroup_is_done_and_paths_nest_under_the_root() {
        let c = CgroupsV1::new("/sys/fs/cgroup", "mesos");
        assert_eq!(
            c.container_dir("memory", "abc"),
            PathBuf::from("/sys/fs/cgroup/memory/mesos/abc")
        );
        destroy(Path::new("/nonexistent/cgroup/dir")).unwrap();
        let tmp = std::env::temp_dir().join(format!("cg-test-{}", std::process::id()));
        let c = CgroupsV1::new(&tmp, "r");
        c.create("cpu", "x").unwrap();
        c.create("cpu", "y").unwrap();
        let mut found = c.list("cpu");
        found.sort();
        assert_eq!(found, ["x", "y"]);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
