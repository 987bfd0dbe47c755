//! Fixed values the agent shares with Mesos (`src/slave/constants.hpp`) and the
//! bounds this implementation adds. Flag defaults live in [`crate::flags`].

use std::time::Duration;

/// What `MasterInfo.version`-style fields and `/state` report (the Mesos
/// compatibility level, not this project's version).
pub const MESOS_VERSION: &str = "1.11.0";

/// First status update retry; doubles up to [`STATUS_UPDATE_RETRY_INTERVAL_MAX`].
pub const STATUS_UPDATE_RETRY_INTERVAL_MIN: Duration = Duration::from_secs(10);
pub const STATUS_UPDATE_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(10 * 60);

/// Cap of the randomized (re)registration backoff.
pub const REGISTER_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(60);

/// How long the agent waits for a ping before re-detecting the master, until the
/// master announces `total_ping_timeout_seconds` (15 s x 5 pings).
pub const DEFAULT_MASTER_PING_TIMEOUT: Duration = Duration::from_secs(75);

/// HEARTBEAT events to v1 executors.
pub const EXECUTOR_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// Resources every generated command executor adds to its task.
pub const DEFAULT_EXECUTOR_CPUS: f64 = 0.1;
pub const DEFAULT_EXECUTOR_MEM_MB: f64 = 32.0;

/// Resource auto-detection (`Containerizer::resources` in Mesos).
pub const DEFAULT_PORTS: &str = "[31000-32000]";
/// Memory kept for the host: 1 GB when the machine has at least 2 GB, else half.
pub const MEM_RESERVE_MB: u64 = 1024;
/// Disk kept for the host: 5 GB when the disk has at least 10 GB, else half.
pub const DISK_RESERVE_MB: u64 = 5 * 1024;

/// Binaries the agent starts, looked up in `--launcher_dir`.
pub const MESOS_EXECUTOR: &str = "mesos-executor";
pub const MESOS_DEFAULT_EXECUTOR: &str = "mesos-default-executor";
pub const MESOS_CONTAINERIZER: &str = "mesos-containerizer";

/// Where Mesos installs its helpers when `--launcher_dir` is not given and the
/// running binary's own directory does not hold them.
pub const DEFAULT_LAUNCHER_DIR: &str = "/usr/local/libexec/mesos";

/// Completed tasks kept per completed executor (`MAX_COMPLETED_TASKS_PER_EXECUTOR`).
pub const MAX_COMPLETED_TASKS_PER_EXECUTOR: usize = 200;
/// Completed frameworks kept in memory for `/state`.
pub const MAX_COMPLETED_FRAMEWORKS: usize = 50;

/// Status updates queued per task stream before new ones are refused (a broken
/// executor looping on updates cannot exhaust memory or disk).
pub const STATUS_UPDATES_PER_STREAM_MAX: usize = 10_000;

/// Tasks a v1 executor may list as unacknowledged when it resubscribes, and
/// updates it may replay; larger SUBSCRIBE calls are refused with 400.
pub const EXECUTOR_RESUBSCRIBE_ITEMS_MAX: usize = 10_000;

/// Largest `--launch_info` passed inline to `mesos-containerizer launch`; larger
/// ones go through a file (`file://`), below Linux's 128 KiB per-argument limit.
pub const LAUNCH_INFO_INLINE_BYTES_MAX: usize = 64 * 1024;

/// `/files/read` returns at most this much per request (Mesos pages with
/// `length`; its UI asks for 50 KB at a time).
pub const FILES_READ_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Entries `/files/browse` lists at most.
pub const FILES_BROWSE_ENTRIES_MAX: usize = 100_000;
