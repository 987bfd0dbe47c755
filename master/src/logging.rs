//! Logging as the master's flags ask: `--logging_level` (INFO, WARNING,
//! ERROR), `--quiet` (nothing on stderr), `--log_dir` (a `mesos-master.log`
//! file there). `RUST_LOG` overrides the level for finer filtering.
//!
//! The verbosity (glog's `FLAGS_v`, which GET_LOGGING_LEVEL and
//! SET_LOGGING_LEVEL read and write) is process-wide as in Mesos: level 0
//! keeps the configured filter, 1 logs debug, 2 and above trace. `init`
//! installs the subscriber with a reload handle so a change applies at
//! once; an embedded master without `init` only records the level.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::error::MasterError;
use crate::flags::MasterFlags;

fn level(name: &str) -> &'static str {
    match name {
        "WARNING" => "warn",
        "ERROR" => "error",
        _ => "info",
    }
}

/// The verbosity a process starts with (glog's default `FLAGS_v`).
pub const ORIGINAL_VERBOSITY: u32 = 0;

static VERBOSITY: AtomicU32 = AtomicU32::new(ORIGINAL_VERBOSITY);

type Reload = Box<dyn Fn(u32) -> Result<(), String> + Send + Sync>;

static RELOAD: OnceLock<Reload> = OnceLock::new();

/// The current verbosity level.
pub fn verbosity() -> u32 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// Sets the verbosity and, if this process's subscriber was installed by
/// [`init`], its filter.
pub fn set_verbosity(level: u32) {
    let before = VERBOSITY.swap(level, Ordering::Relaxed);
    if before != level {
        tracing::info!(from = before, to = level, "setting verbose logging level");
        if let Some(reload) = RELOAD.get()
            && let Err(e) = reload(level)
        {
            tracing::warn!(error = %e, "cannot change the log filter");
        }
    }
}

/// The filter for `level` on top of the configured `base` directive.
fn filter_for(base: &str, level: u32) -> EnvFilter {
    match level {
        0 => EnvFilter::try_new(base).unwrap_or_else(|_| EnvFilter::new("info")),
        1 => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    }
}

/// Installs the global subscriber (once per process).
pub fn init(flags: &MasterFlags) -> Result<(), MasterError> {
    let base = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| EnvFilter::try_new(v).is_ok())
        .unwrap_or_else(|| level(&flags.logging_level).to_string());
    let filter = filter_for(&base, verbosity());
    let file = match &flags.log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| MasterError::Logging(format!("{dir}: {e}")))?;
            let path = std::path::Path::new(dir).join("mesos-master.log");
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| MasterError::Logging(format!("{}: {e}", path.display())))?;
            Some(Mutex::new(f))
        }
        None => None,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // The reloading layer must be the last change: its type names the
    // formatter, which the writer is part of.
    macro_rules! install {
        ($builder:expr) => {{
            let builder = $builder.with_filter_reloading();
            let handle = builder.reload_handle();
            let base = base.clone();
            let _ = RELOAD.set(Box::new(move |level| {
                handle
                    .reload(filter_for(&base, level))
                    .map_err(|e| e.to_string())
            }));
            builder.try_init()
        }};
    }
    let result = match (flags.quiet, file) {
        (false, None) => install!(builder.with_writer(std::io::stderr)),
        (true, None) => install!(builder.with_writer(std::io::sink)),
        (false, Some(f)) => install!(builder.with_ansi(false).with_writer(std::io::stderr.and(f))),
        (true, Some(f)) => install!(builder.with_ansi(false).with_writer(f)),
    };
    result.map_err(|e| MasterError::Logging(e.to_string()))
}

/// The master's log file (`--external_log_file`, else the file `--log_dir`
/// holds), served as `/master/log`.
pub fn log_file(flags: &MasterFlags) -> Option<std::path::PathBuf> {
    match (&flags.external_log_file, &flags.log_dir) {
        (Some(f), _) => Some(f.into()),
        (None, Some(dir)) => Some(std::path::Path::new(dir).join("mesos-master.log")),
        (None, None) => None,
    }
}
