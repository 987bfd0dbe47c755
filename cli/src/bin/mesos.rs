//! `mesos`: the Mesos command-line tool over the operator API (see
//! `cli/src/mesos/mod.rs` for the commands).

#[path = "../mesos/mod.rs"]
mod mesos;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(mesos::main(&argv));
}
