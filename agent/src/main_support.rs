//! What the binaries share, so each `main` is a line: logging, flag loading
//! with `--help`/`--version`, signals, and the exit codes Mesos uses.
//!
//! - `mesos-agent` (and its alias `mesos-slave`): SIGTERM/SIGINT stop the agent
//!   and leave executors running (a restarted agent recovers them); SIGUSR1 shuts
//!   it down gracefully (executors killed, the master told).
//! - `mesos-executor`, `mesos-default-executor`: read `MESOS_*`, run, exit with
//!   the executor's code.
//! - `mesos-containerizer launch`: exec the container's command or exit 1.

use std::path::PathBuf;

use mesos_common::define_flags;
use mesos_common::flags::FlagsLoader;

use crate::agent::{Agent, runtime_config};
use crate::constants::MESOS_VERSION;
use crate::executor::command::CommandExecutor;
use crate::executor::default::DefaultExecutor;
use crate::executor::driver::HttpDriver;
use crate::executor::env::ExecutorEnv;
use crate::executor::v0::V0Driver;
use crate::flags::AgentFlags;

/// Logs to stderr; `RUST_LOG` picks levels (default `info`).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let base = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| EnvFilter::try_new(v).is_ok())
        .unwrap_or_else(|| "info".to_string());
    // The verbosity SET_LOGGING_LEVEL sets (glog's FLAGS_v): 0 keeps the
    // configured filter, 1 logs debug, 2 and above trace.
    let filter_for = |base: &str, level: u32| match level {
        0 => EnvFilter::try_new(base).unwrap_or_else(|_| EnvFilter::new("info")),
        1 => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter_for(&base, crate::agent::operator::verbosity()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter_reloading();
    let handle = builder.reload_handle();
    if builder.try_init().is_ok() {
        crate::agent::operator::set_log_reload(move |level| {
            handle
                .reload(filter_for(&base, level))
                .map_err(|e| e.to_string())
        });
    }
}

fn version_line(program: &str) -> String {
    format!(
        "{program} {MESOS_VERSION} (mesos-rs {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// `mesos-agent`'s main; returns the process exit code.
pub fn agent_main() -> i32 {
    let loaded = match FlagsLoader::new()
        .env_prefix("MESOS_")
        .load_from_process::<AgentFlags>()
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}\n\nSee --help for the list of flags");
            return 1;
        }
    };
    if loaded.help {
        print!("{}", loaded.usage(None));
        return 0;
    }
    if loaded.flags.version {
        println!("{}", version_line(&loaded.program_name));
        return 0;
    }
    init_logging();
    for w in &loaded.warnings {
        tracing::warn!("{}", w.message);
    }
    let flags = loaded.flags;
    let config = match runtime_config(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let runtime = match libprocess::Runtime::bind(config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return 1;
        }
    };
    let agent = match Agent::spawn(&runtime.handle(), flags) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cannot start the agent: {e}");
            return 1;
        }
    };
    tracing::info!(agent = %agent.upid(), "agent started");
    let signals = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the signal handler: {e}");
            return 1;
        }
    };
    signals.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(mut usr1)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::user_defined1()),
        ) else {
            agent.terminated().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping; executors keep running"),
            _ = int.recv() => tracing::info!("SIGINT: stopping; executors keep running"),
            _ = usr1.recv() => {
                tracing::info!("SIGUSR1: shutting down the agent and its executors");
                agent.shutdown();
                agent.terminated().await;
            }
            _ = agent.terminated() => tracing::info!("agent terminated"),
        }
    });
    agent.stop();
    runtime.shutdown();
    0
}

define_flags! {
    /// Flags Mesos passes its executors; unknown ones are ignored.
    #[derive(Debug, Clone)]
    pub struct ExecutorFlags {
        pub launcher_dir: Option<PathBuf> {
            help: "Directory of the Mesos helper binaries.",
        },
        pub sandbox_directory: Option<String> {
            help: "The sandbox path as the container sees it.",
        },
        pub user: Option<String> {
            help: "The user the task runs as.",
        },
    }
}

fn executor_setup() -> Result<ExecutorEnv, i32> {
    let loaded = FlagsLoader::new()
        .allow_unknown(true)
        .load_from_process::<ExecutorFlags>();
    if let Ok(l) = &loaded
        && l.help
    {
        print!("{}", l.usage(None));
        return Err(0);
    }
    init_logging();
    ExecutorEnv::from_process().map_err(|e| {
        eprintln!("{e}");
        1
    })
}

fn current_thread_runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("cannot start the executor runtime: {e}");
            1
        })
}

/// `mesos-executor`'s main.
pub fn command_executor_main() -> i32 {
    let env = match executor_setup() {
        Ok(e) => e,
        Err(code) => return code,
    };
    let rt = match current_thread_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let http = env.http_command_executor;
    rt.block_on(async move {
        let executor = CommandExecutor::new(env.clone());
        if http {
            let mut driver = HttpDriver::start(env);
            executor.run(&mut driver).await
        } else {
            match V0Driver::start(env) {
                Ok(mut driver) => executor.run(&mut driver).await,
                Err(e) => {
                    eprintln!("cannot start the executor driver: {e}");
                    1
                }
            }
        }
    })
}

/// `mesos-default-executor`'s main.
pub fn default_executor_main() -> i32 {
    let env = match executor_setup() {
        Ok(e) => e,
        Err(code) => return code,
    };
    let rt = match current_thread_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let mut driver = HttpDriver::start(env.clone());
        DefaultExecutor::new(env).run(&mut driver).await
    })
}

/// `mesos-containerizer`'s main: `launch` execs or fails.
pub fn containerizer_main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("launch") => {
            let mut launch_args = vec![format!("{} launch", args[0])];
            launch_args.extend(args[2..].iter().cloned());
            let error = crate::containerizer::launch::run(&launch_args);
            eprintln!("mesos-containerizer launch: {error}");
            1
        }
        Some("--help") | Some("help") => {
            println!(
                "Usage: {} launch --launch_info=<JSON ContainerLaunchInfo | file:///path>",
                args[0]
            );
            0
        }
        _ => {
            eprintln!(
                "Usage: {} launch --launch_info=<JSON ContainerLaunchInfo | file:///path>",
                args[0]
            );
            1
        }
    }
}
