//! `mesos-slave`: see `mesos_agent::main_support`.

fn main() {
    std::process::exit(mesos_agent::main_support::agent_main());
}
