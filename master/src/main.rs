//! `mesos-master`: parse flags, start the runtime and the master, wait.

use mesos_common::flags::FlagsLoader;
use mesos_master::{MasterFlags, MasterOptions, logging, runtime_config, start_master};

/// mimalloc, not glibc's malloc: a new leader rebuilding 40k agents' tasks
/// allocates and frees millions of small objects in seconds, and glibc's
/// free-list searches and arena trimming took about a quarter of its
/// actor thread (see the README's failover figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    mesos_master::malloc::delay_purge();
    let loaded = match FlagsLoader::new()
        .env_prefix("MESOS_")
        .load_from_process::<MasterFlags>()
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "{e}\n\n{}",
                mesos_common::flags::usage::<MasterFlags>("Usage: mesos-master [options]", None)
            );
            std::process::exit(1);
        }
    };
    if loaded.help {
        println!("{}", loaded.usage(None));
        return;
    }
    if loaded.flags.version {
        println!(
            "mesos {} (mesos-rs {})",
            mesos_master::MESOS_VERSION,
            mesos_master::PROJECT_VERSION
        );
        return;
    }
    if let Err(e) = logging::init(&loaded.flags) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    for w in &loaded.warnings {
        tracing::warn!("{}", w.message);
    }
    let config = match runtime_config(&loaded.flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let runtime = match libprocess::Runtime::bind(config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Failed to start libprocess: {e}");
            std::process::exit(1);
        }
    };
    let mut options = MasterOptions::new(loaded.flags.clone());
    options.flag_values = Some(loaded.effective_values());
    // Like Mesos: a master that loses leadership exits, for its supervisor
    // to restart it as a new candidate.
    options.on_leadership_lost = mesos_master::leader::LostAction::Exit;
    let master = match start_master(&runtime.handle(), options) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    tracing::info!(pid = %master.upid(), "mesos-master running");
    libprocess::block_on(master.terminated());
    runtime.shutdown();
}
