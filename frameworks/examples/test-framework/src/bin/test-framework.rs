//! `test-framework`: see the `test_framework` crate docs.

use mesos_common::flags::FlagsLoader;
use test_framework::TestFlags;

fn main() {
    let loaded = match FlagsLoader::new()
        .env_prefix("MESOS_EXAMPLE_")
        .load_from_process::<TestFlags>()
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
    std::process::exit(test_framework::run(loaded.flags));
}
