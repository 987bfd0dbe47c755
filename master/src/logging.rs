//! Logging as the master's flags ask: `--logging_level` (INFO, WARNING,
//! ERROR), `--quiet` (nothing on stderr), `--log_dir` (a `mesos-master.log`
//! file there). `RUST_LOG` overrides the level for finer filtering.

use std::sync::Mutex;

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

/// Installs the global subscriber (once per process).
pub fn init(flags: &MasterFlags) -> Result<(), MasterError> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(level(&flags.logging_level)));
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
    let result = match (flags.quiet, file) {
        (false, None) => builder.with_writer(std::io::stderr).try_init(),
        (true, None) => builder.with_writer(std::io::sink).try_init(),
        (false, Some(f)) => builder
            .with_ansi(false)
            .with_writer(std::io::stderr.and(f))
            .try_init(),
        (true, Some(f)) => builder.with_ansi(false).with_writer(f).try_init(),
    };
    result.map_err(|e| MasterError::Logging(e.to_string()))
}
