//! Isolators with their own file, one per isolation mechanism (the
//! `posix/cpu` and `posix/mem` hooks are in `super::isolator` with the
//! trait).
//!
//! | File | Isolator |
//! |---|---|
//! | `filesystem_posix` | `filesystem/posix`: persistent volumes linked into sandboxes |
//! | `posix_rlimits` | `posix/rlimits`: `ContainerInfo.rlimit_info` set before exec |
//! | `linux_nnp` | `linux/nnp`: `no_new_privs` before exec |
//! | `namespaces_pid` | `namespaces/pid`: own pid namespace and `/proc` |
//! | `linux_capabilities` | `linux/capabilities`: effective and bounding capability sets |
//! | `linux_seccomp` | `linux/seccomp`: per-container seccomp profiles |
//! | `namespaces_ipc` | `namespaces/ipc`: own IPC namespace |
//! | `cgroups_pids` | `cgroups/pids`: a pids cgroup per container (process count), v1 or v2 |
//! | `disk_du` | `disk/du`: sandbox usage by `du`, quota enforcement |
//! | `cgroups_cpu` | `cgroups/cpu`: v1 shares and CFS quota (`cpu`, `cpuacct`) or v2 `cpu.weight`/`cpu.max`; cpu usage |
//! | `cgroups_mem` | `cgroups/mem`: memory limits, OOM limitation, memory usage (v1 `memory` or v2 `memory.low`/`memory.max`) |

pub mod cgroups_cpu;
pub mod cgroups_mem;
pub mod cgroups_pids;
pub mod disk_du;
pub mod filesystem_posix;
pub mod linux_capabilities;
pub mod linux_nnp;
pub mod linux_seccomp;
pub mod namespaces_ipc;
pub mod namespaces_pid;
pub mod posix_rlimits;
