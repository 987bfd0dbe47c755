//! `long-lived-framework`: see the `long_lived_framework` crate docs.

use long_lived_framework::LongLivedFlags;
use mesos_common::flags::FlagsLoader;

fn main() {
    let loaded = match FlagsLoader::new()
        .env_prefix("MESOS_EXAMPLE_")
        .load_from_process::<LongLivedFlags>()
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
    std::process::exit(long_lived_framework::run(loaded.flags));
}
