//! `cron`: see the `cron` crate docs.

use std::sync::Arc;

use cron::CronFlags;
use cron::scheduler::SystemClock;
use mesos_common::flags::FlagsLoader;

fn main() {
    let loaded = match FlagsLoader::new()
        .env_prefix("CRON_")
        .load_from_process::<CronFlags>()
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}\n\nSee --help for the list of flags");
            std::process::exit(1);
        }
    };
    if loaded.help {
        print!("{}", loaded.usage(None));
        return;
    }
    match cron::start(loaded.flags, Arc::new(SystemClock)) {
        Ok(running) => {
            println!("cron: REST API on http://{}/jobs", running.http);
            running.join();
        }
        Err(e) => {
            eprintln!("cron: {e}");
            std::process::exit(1);
        }
    }
}
