//! The binaries' `main`s, so each binary is one line.

use crate::local::{LocalCluster, LocalFlags};

/// `mesos-local`: starts the cluster, prints where it listens, runs until
/// SIGINT or SIGTERM, then shuts the agents (and their executors) down.
pub fn local_main() -> i32 {
    let loaded = match LocalFlags::load_from_process() {
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
    mesos_agent::main_support::init_logging();
    let flags = loaded.flags;
    let cluster = match LocalCluster::start(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mesos-local: {e}");
            return 1;
        }
    };
    let master = cluster.master_upid().clone();
    println!(
        "mesos-local: master {master} listening on http://{}",
        master.address()
    );
    for agent in &cluster.agents {
        println!(
            "mesos-local: agent {} (http://{}/state)",
            agent.upid(),
            agent.upid().address()
        );
    }
    println!("mesos-local: work directory {}", flags.work_dir);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mesos-local: {e}");
            return 1;
        }
    };
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => futures::future::pending::<()>().await,
        }
    });
    println!("mesos-local: shutting down");
    cluster.shutdown();
    0
}
