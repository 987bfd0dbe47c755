//! `mesos-execute`: see `mesos_cli::execute`.

fn main() {
    std::process::exit(mesos_cli::execute::execute_main());
}
