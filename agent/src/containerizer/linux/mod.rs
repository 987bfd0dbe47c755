//! Linux kernel interfaces the isolators and the launch helper use.
//!
//! | File | What |
//! |---|---|
//! | `seccomp` | Docker-format profiles to `ContainerSeccompProfile` to installed BPF filters |
//! | `cgroups` | cgroup v1: create, read, write, kill and remove a container's cgroups; shared file parsing |
//! | `cgroups2` | the v2 unified hierarchy: enable controllers down the tree, `cgroup.kill`, `cgroup.events`, v2 file parsing |
//! | `cgroups_detect` | which version each controller is on (mountinfo, `/proc/cgroups`, `cgroup.controllers`) and a container's cgroups across both (`Layout`) |

pub mod cgroups;
pub mod cgroups2;
pub mod cgroups_detect;
pub mod seccomp;
