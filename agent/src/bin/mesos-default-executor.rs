//! `mesos-default-executor`: see `mesos_agent::main_support`.

fn main() {
    std::process::exit(mesos_agent::main_support::default_executor_main());
}
