//! `services`: see the `services` crate docs.

use mesos_common::flags::FlagsLoader;
use services::ServicesFlags;

fn main() {
    let loaded = match FlagsLoader::new()
        .env_prefix("SERVICES_")
        .load_from_process::<ServicesFlags>()
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
    match services::start(loaded.flags) {
        Ok(running) => {
            println!("services: REST API on http://{}/v2/apps", running.http);
            running.join();
        }
        Err(e) => {
            eprintln!("services: {e}");
            std::process::exit(1);
        }
    }
}
