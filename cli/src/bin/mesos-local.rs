//! `mesos-local`: see `mesos_cli::local`.

fn main() {
    std::process::exit(mesos_cli::main_support::local_main());
}
