//! Which cgroup version each controller is on, and where a container's
//! cgroups are for one isolator ([`Layout`]).
//!
//! A host may have v1 hierarchies, the v2 unified hierarchy, or both (a
//! "hybrid" host: v1 controllers under `/sys/fs/cgroup/<controller>` plus a
//! cgroup2 mount at `/sys/fs/cgroup/unified`; a pure v2 host has the cgroup2
//! mount at `/sys/fs/cgroup` itself). A controller is bound to at most one
//! hierarchy at a time, so per controller: if a v1 hierarchy mounted at or
//! below `--cgroups_hierarchy` carries it (`/proc/self/mountinfo`), it is
//! used there; otherwise, if the cgroup2 mount at or below
//! `--cgroups_hierarchy` lists it in `cgroup.controllers`, it is used on v2;
//! otherwise the agent refuses to start, naming the controller and what it
//! looked at (`/proc/cgroups` says whether the kernel has it at all).
//!
//! When a cgroups isolator's controllers are all on v1 and a writable
//! cgroup2 mount exists (hybrid), the container still gets a v2 cgroup with
//! no controllers enabled, as systemd's hybrid mode does: it holds every
//! process of the container, so a destroy (`cgroup.kill`) reaches processes
//! that left the v1 cgroups' view, and `/proc/<pid>/cgroup` names the
//! container on both.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::cgroups::{self, CgroupError, CgroupsV1};
use super::cgroups2;

/// One cgroup mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    pub mount_point: PathBuf,
    /// `true` for `cgroup2`, `false` for a v1 `cgroup` hierarchy.
    pub v2: bool,
    /// v1: the controllers bound to the hierarchy (from the super options).
    pub controllers: Vec<String>,
    pub read_only: bool,
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Ok(b) = u8::try_from(value) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cgroup mounts in a `/proc/<pid>/mountinfo` text; other mounts and
/// lines that do not parse are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            let fstype = right.next()?;
            let _source = right.next()?;
            let super_options = right.next().unwrap_or("");
            let mount_point = PathBuf::from(unescape(left.get(4)?));
            let read_only = left.get(5)?.split(',').any(|o| o == "ro");
            match fstype {
                "cgroup2" => Some(CgroupMount {
                    mount_point,
                    v2: true,
                    controllers: Vec::new(),
                    read_only,
                }),
                "cgroup" => Some(CgroupMount {
                    mount_point,
                    v2: false,
                    controllers: super_options
                        .split(',')
                        .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                        .map(str::to_string)
                        .collect(),
                    read_only,
                }),
                _ => None,
            }
        })
        .collect()
}

/// A controller's line in `/proc/cgroups`: its v1 hierarchy id (0: none,
/// so free for v2) and whether the kernel enables it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelController {
    pub hierarchy: u32,
    pub enabled: bool,
}

/// Looks a controller up in a `/proc/cgroups` text.
pub fn proc_cgroups_entry(text: &str, controller: &str) -> Option<KernelController> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.first() == Some(&controller)).then(|| KernelController {
                hierarchy: f.get(1).and_then(|v| v.parse().ok()).unwrap_or(0),
                enabled: f.get(3) == Some(&"1"),
            })
        })
}

/// Where one controller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// In the v1 hierarchy mounted here.
    V1(PathBuf),
    /// In the cgroup2 hierarchy mounted here.
    V2(PathBuf),
}

/// What the host shows about its cgroups (the inputs of the detection, so
/// it can be tested on fixture text).
#[derive(Debug, Clone, Default)]
pub struct HostCgroups {
    /// Cgroup mounts at or below `--cgroups_hierarchy`.
    pub mounts: Vec<CgroupMount>,
    /// `/proc/cgroups`.
    pub proc_cgroups: String,
    /// The cgroup2 mount's `cgroup.controllers`, if there is one.
    pub v2_controllers: Vec<String>,
}

impl HostCgroups {
    /// From mountinfo text, keeping the mounts at or below `hierarchy`.
    pub fn from_texts(
        hierarchy: &Path,
        mountinfo: &str,
        proc_cgroups: &str,
        v2_controllers: &str,
    ) -> HostCgroups {
        HostCgroups {
            mounts: parse_mountinfo(mountinfo)
                .into_iter()
                .filter(|m| m.mount_point.starts_with(hierarchy))
                .collect(),
            proc_cgroups: proc_cgroups.to_string(),
            v2_controllers: cgroups2::parse_controllers(v2_controllers),
        }
    }

    /// Reads this host's: `/proc/self/mountinfo`, `/proc/cgroups` and the
    /// `cgroup.controllers` of the cgroup2 mount found.
    pub fn read(hierarchy: &Path) -> Result<HostCgroups, CgroupError> {
        let mountinfo = cgroups::read(Path::new("/proc/self"), "mountinfo")?;
        let proc_cgroups = cgroups::read(Path::new("/proc"), "cgroups").unwrap_or_default();
        let mut host = HostCgroups::from_texts(hierarchy, &mountinfo, &proc_cgroups, "");
        if let Some(mount) = host.v2_mount() {
            let text = cgroups::read(&mount.mount_point, "cgroup.controllers")?;
            host.v2_controllers = cgroups2::parse_controllers(&text);
        }
        Ok(host)
    }

    /// The cgroup2 mount (the first at or below `--cgroups_hierarchy`).
    pub fn v2_mount(&self) -> Option<&CgroupMount> {
        self.mounts.iter().find(|m| m.v2)
    }

    /// Where `controller` is (see the module docs), or why it is nowhere.
    pub fn place(&self, hierarchy: &Path, controller: &str) -> Result<Placement, CgroupError> {
        let v1: Vec<&CgroupMount> = self
            .mounts
            .iter()
            .filter(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))
            .collect();
        // The conventional `<hierarchy>/<controller>` first (it may be a
        // symlink to a co-mounted `cpu,cpuacct`).
        let conventional = hierarchy.join(controller);
        let conventional = std::fs::canonicalize(&conventional).unwrap_or(conventional);
        if let Some(m) = v1
            .iter()
            .find(|m| m.mount_point == conventional)
            .or(v1.first())
        {
            return Ok(Placement::V1(m.mount_point.clone()));
        }
        if let Some(m) = self.v2_mount()
            && self.v2_controllers.iter().any(|c| c == controller)
        {
            return Ok(Placement::V2(m.mount_point.clone()));
        }
        let kernel = match proc_cgroups_entry(&self.proc_cgroups, controller) {
            None => "not listed in /proc/cgroups".to_string(),
            Some(k) if !k.enabled => "disabled in the kernel (/proc/cgroups)".to_string(),
            Some(k) => format!("in /proc/cgroups: hierarchy {}, enabled", k.hierarchy),
        };
        let v2 = match self.v2_mount() {
            Some(m) => format!(
                "the cgroup2 mount {} offers only [{}] in cgroup.controllers",
                m.mount_point.display(),
                self.v2_controllers.join(" ")
            ),
            None => "there is no cgroup2 mount there".to_string(),
        };
        Err(CgroupError::ControllerMissing {
            controller: controller.to_string(),
            looked_at: format!(
                "no cgroup v1 hierarchy at or below {} carries it (/proc/self/mountinfo), {v2}; {kernel}",
                hierarchy.display()
            ),
        })
    }
}

/// Where one isolator's container cgroups are, decided at start-up: its
/// controllers on v1 (each with its hierarchy) or on v2, plus the v2 cgroup
/// that holds the container's processes on a hybrid host.
#[derive(Debug, Clone)]
pub struct Layout {
    root: String,
    /// v1 controllers and their hierarchy's mount point.
    v1: Vec<(String, PathBuf)>,
    /// The cgroup2 mount the container's v2 cgroup is in, if any.
    v2: Option<PathBuf>,
    /// Controllers of this isolator that are on v2 (enabled down to the
    /// container cgroups).
    v2_controllers: Vec<String>,
}

impl Layout {
    /// Places `controller` and, when it is on v1, the `v1_companions` it
    /// needs there (`cpuacct` for `cpu`: v2's cpu controller has both).
    pub fn resolve(
        config: &CgroupsV1,
        host: &HostCgroups,
        controller: &str,
        v1_companions: &[&str],
    ) -> Result<Layout, CgroupError> {
        let writable_v2 = host
            .v2_mount()
            .filter(|m| !m.read_only)
            .map(|m| m.mount_point.clone());
        match host.place(&config.hierarchy, controller)? {
            Placement::V2(mount) => Ok(Layout {
                root: config.root.clone(),
                v1: Vec::new(),
                v2: Some(mount),
                v2_controllers: vec![controller.to_string()],
            }),
            Placement::V1(mount) => {
                let mut v1 = vec![(controller.to_string(), mount)];
                for companion in v1_companions {
                    match host.place(&config.hierarchy, companion)? {
                        Placement::V1(m) => v1.push((companion.to_string(), m)),
                        Placement::V2(_) => {
                            return Err(CgroupError::ControllerMissing {
                                controller: companion.to_string(),
                                looked_at: format!(
                                    "'{controller}' is on cgroup v1, so '{companion}' must be too, but it is only on cgroup v2"
                                ),
                            });
                        }
                    }
                }
                Ok(Layout {
                    root: config.root.clone(),
                    v1,
                    v2: writable_v2,
                    v2_controllers: Vec::new(),
                })
            }
        }
    }

    /// [`resolve`](Self::resolve) on this host, then makes the agent's v2
    /// root with the controllers enabled (a controller on v2 that cannot be
    /// enabled is a start-up error; a v2 cgroup only for holding processes
    /// that cannot be made is dropped with a warning).
    pub fn detect(
        config: &CgroupsV1,
        controller: &str,
        v1_companions: &[&str],
    ) -> Result<Layout, CgroupError> {
        let host = HostCgroups::read(&config.hierarchy)?;
        let mut layout = Layout::resolve(config, &host, controller, v1_companions)?;
        if let Some(mount) = layout.v2.clone() {
            let root = mount.join(&layout.root);
            let prepared = std::fs::create_dir_all(&root)
                .map_err(|source| CgroupError::Io {
                    op: "create",
                    path: root.clone(),
                    source,
                })
                .and_then(|()| cgroups2::enable_controllers(&mount, &root, &layout.v2_controllers));
            match prepared {
                Ok(()) => {}
                Err(e) if !layout.v2_controllers.is_empty() => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "not holding containers in a cgroup v2 cgroup");
                    layout.v2 = None;
                }
            }
        }
        tracing::info!(controller, layout = %layout.describe(), "cgroups detected");
        Ok(layout)
    }

    /// Whether `controller` is used on v2.
    pub fn on_v2(&self, controller: &str) -> bool {
        self.v2_controllers.iter().any(|c| c == controller)
    }

    /// The mount point of `controller`'s v1 hierarchy.
    pub fn v1_mount(&self, controller: &str) -> Option<PathBuf> {
        self.v1
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, m)| m.clone())
    }

    /// The agent's root in the cgroup2 mount.
    pub fn v2_root(&self) -> Option<PathBuf> {
        self.v2.as_ref().map(|m| m.join(&self.root))
    }

    /// A container's v2 cgroup, if it has one.
    pub fn v2_dir(&self, container_id: &str) -> Option<PathBuf> {
        self.v2_root().map(|r| r.join(container_id))
    }

    /// The cgroup holding `controller`'s files for a container.
    pub fn dir(&self, controller: &str, container_id: &str) -> Option<PathBuf> {
        if let Some((_, mount)) = self.v1.iter().find(|(c, _)| c == controller) {
            return Some(mount.join(&self.root).join(container_id));
        }
        if self.on_v2(controller) {
            return self.v2_dir(container_id);
        }
        None
    }

    /// Every cgroup of a container (v1 ones, then the v2 one), each once:
    /// the launch helper joins them all.
    pub fn dirs(&self, container_id: &str) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (_, mount) in &self.v1 {
            let d = mount.join(&self.root).join(container_id);
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
        dirs.extend(self.v2_dir(container_id));
        dirs
    }

    /// Creates a container's cgroups (v2: with this isolator's controllers
    /// enabled in its ancestors).
    pub fn create(&self, container_id: &str) -> Result<(), CgroupError> {
        for (_, mount) in &self.v1 {
            let d = mount.join(&self.root).join(container_id);
            std::fs::create_dir_all(&d).map_err(|source| CgroupError::Io {
                op: "create",
                path: d.clone(),
                source,
            })?;
        }
        if let (Some(mount), Some(dir)) = (&self.v2, self.v2_dir(container_id)) {
            cgroups2::create(mount, &dir, &self.v2_controllers)?;
        }
        Ok(())
    }

    /// Whether the container has its cgroups (after a restart).
    pub fn exists(&self, container_id: &str) -> bool {
        self.dirs(container_id).first().is_some_and(|d| d.is_dir())
    }

    /// Kills a container's processes and removes its cgroups: the v2 one
    /// first (`cgroup.kill` takes the whole container at once), then the v1
    /// ones.
    pub fn destroy(&self, container_id: &str) -> Result<(), CgroupError> {
        if let Some(dir) = self.v2_dir(container_id) {
            cgroups2::destroy(&dir)?;
        }
        for (_, mount) in &self.v1 {
            cgroups::destroy(&mount.join(&self.root).join(container_id))?;
        }
        Ok(())
    }

    /// The container cgroups under the agent's roots (for orphan cleanup).
    pub fn list(&self) -> BTreeSet<String> {
        let mut roots: Vec<PathBuf> = self.v1.iter().map(|(_, m)| m.join(&self.root)).collect();
        roots.extend(self.v2_root());
        let mut found = BTreeSet::new();
        for root in roots {
            let Ok(entries) = std::fs::read_dir(&root) else {
                continue;
            };
            found.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter_map(|e| e.file_name().into_string().ok()),
            );
        }
        found
    }

    /// One line for the logs: `cpu=v1:/sys/fs/cgroup/cpu v2:/sys/fs/cgroup/unified[]`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .v1
            .iter()
            .map(|(c, m)| format!("{c}=v1:{}", m.display()))
            .collect();
        if let Some(m) = &self.v2 {
            parts.push(format!(
                "v2:{}[{}]",
                m.display(),
                self.v2_controllers.join(",")
            ));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This host's shape: v1 controllers plus a cgroup2 mount offering only
    /// hugetlb (a systemd hybrid layout).
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A pure v2 host (Debian 12, Ubuntu 22.04+).
    const PURE_V2: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
27 22 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
29 27 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    const PROC_CGROUPS: &str = "\
#subsys_name\thierarchy\tnum_cgroups\tenabled
cpu\t1\t1\t1
cpuacct\t2\t1\t1
memory\t4\t46\t1
hugetlb\t0\t1\t1
pids\t8\t1\t1
rdma\t0\t1\t0
";

    fn config() -> CgroupsV1 {
        CgroupsV1::new("/sys/fs/cgroup", "mesos")
    }

    #[test]
    fn mountinfo_yields_the_cgroup_mounts_with_their_controllers() {
        let mounts = parse_mountinfo(HYBRID);
        assert_eq!(mounts.len(), 6);
        assert_eq!(mounts[0].mount_point, PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(mounts[0].controllers, ["cpu"]);
        assert!(!mounts[0].v2);
        // name=systemd is a named hierarchy, not a controller.
        assert!(mounts[4].controllers.is_empty());
        assert!(mounts[5].v2);
        let escaped =
            "50 31 0:40 / /mnt/my\\040cgroup ro,relatime - cgroup2 cgroup2 rw\nnot a line\n";
        let m = parse_mountinfo(escaped);
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt/my cgroup"));
        assert!(m[0].read_only);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn on_a_hybrid_host_v1_controllers_stay_on_v1_and_containers_get_a_v2_cgroup() {
        let host = HostCgroups::from_texts(
            Path::new("/sys/fs/cgroup"),
            HYBRID,
            PROC_CGROUPS,
            "hugetlb\n",
        );
        assert_eq!(
            host.place(Path::new("/sys/fs/cgroup"), "memory").unwrap(),
            Placement::V1("/sys/fs/cgroup/memory".into())
        );
        assert_eq!(
            host.place(Path::new("/sys/fs/cgroup"), "hugetlb").unwrap(),
            Placement::V2("/sys/fs/cgroup/unified".into())
        );
        let cpu = Layout::resolve(&config(), &host, "cpu", &["cpuacct"]).unwrap();
        assert!(!cpu.on_v2("cpu"));
        assert_eq!(
            cpu.dirs("c1"),
            [
                PathBuf::from("/sys/fs/cgroup/cpu/mesos/c1"),
                PathBuf::from("/sys/fs/cgroup/cpuacct/mesos/c1"),
                PathBuf::from("/sys/fs/cgroup/unified/mesos/c1"),
            ]
        );
        assert_eq!(
            cpu.dir("cpuacct", "c1"),
            Some(PathBuf::from("/sys/fs/cgroup/cpuacct/mesos/c1"))
        );
    }

    #[test]
    fn on_a_pure_v2_host_every_controller_is_on_v2_in_one_cgroup() {
        let host = HostCgroups::from_texts(
            Path::new("/sys/fs/cgroup"),
            PURE_V2,
            "",
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        );
        for controller in ["cpu", "memory", "pids"] {
            let layout = Layout::resolve(&config(), &host, controller, &["cpuacct"]).unwrap();
            assert!(layout.on_v2(controller));
            assert_eq!(
                layout.dirs("c1"),
                [PathBuf::from("/sys/fs/cgroup/mesos/c1")]
            );
            assert_eq!(
                layout.dir(controller, "c1"),
                Some(PathBuf::from("/sys/fs/cgroup/mesos/c1"))
            );
        }
        // A controller the kernel does not offer there is a start-up error.
        let err = Layout::resolve(&config(), &host, "net_cls", &[]).unwrap_err();
        assert!(err.to_string().contains("'net_cls'"), "{err}");
    }

    #[test]
    fn a_missing_controller_names_what_was_looked_at() {
        // pids neither on v1 nor offered by the cgroup2 mount.
        let no_pids: String = HYBRID
            .lines()
            .filter(|l| !l.contains("pids"))
            .collect::<Vec<_>>()
            .join("\n");
        let host = HostCgroups::from_texts(
            Path::new("/sys/fs/cgroup"),
            &no_pids,
            PROC_CGROUPS,
            "hugetlb\n",
        );
        let err = Layout::resolve(&config(), &host, "pids", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("'pids'"), "{err}");
        assert!(err.contains("/proc/self/mountinfo"), "{err}");
        assert!(
            err.contains("/sys/fs/cgroup/unified offers only [hugetlb]"),
            "{err}"
        );
        assert!(err.contains("hierarchy 8, enabled"), "{err}");
        // Nothing mounted under the hierarchy given.
        let host = HostCgroups::from_texts(Path::new("/elsewhere"), HYBRID, PROC_CGROUPS, "");
        let err = host
            .place(Path::new("/elsewhere"), "rdma")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no cgroup2 mount"), "{err}");
        assert!(err.contains("disabled in the kernel"), "{err}");
        // cpu on v1 without cpuacct anywhere.
        let no_acct: String = HYBRID
            .lines()
            .filter(|l| !l.contains("cpuacct"))
            .collect::<Vec<_>>()
            .join("\n");
        let host = HostCgroups::from_texts(Path::new("/sys/fs/cgroup"), &no_acct, "", "cpuacct");
        let err = Layout::resolve(&config(), &host, "cpu", &["cpuacct"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("'cpuacct'"), "{err}");
    }

    #[test]
    fn co_mounted_controllers_share_one_directory() {
        let text = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let host = HostCgroups::from_texts(Path::new("/sys/fs/cgroup"), text, "", "");
        let layout = Layout::resolve(&config(), &host, "cpu", &["cpuacct"]).unwrap();
        assert_eq!(
            layout.dirs("c"),
            [PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/mesos/c")]
        );
    }

    #[test]
    fn proc_cgroups_entries_parse() {
        assert_eq!(
            proc_cgroups_entry(PROC_CGROUPS, "pids"),
            Some(KernelController {
                hierarchy: 8,
                enabled: true
            })
        );
        assert_eq!(proc_cgroups_entry(PROC_CGROUPS, "nope"), None);
    }
}
