//! `mesos-executor`: see `mesos_agent::main_support`.

fn main() {
    std::process::exit(mesos_agent::main_support::command_executor_main());
}
