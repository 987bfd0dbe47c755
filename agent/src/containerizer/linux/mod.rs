//! Linux kernel interfaces the isolators and the launch helper use.
//!
//! | File | What |
//! |---|---|
//! | `seccomp` | Docker-format profiles to `ContainerSeccompProfile` to installed BPF filters |
//! | `cgroups` | cgroup v1 controllers and the v2 unified hierarchy: create, join, limit, read, kill and remove a container's cgroups; find orphans |

pub mod cgroups;
pub mod seccomp;
