//! The `mesos` command-line tool (the Mesos CLI's commands over the
//! operator API): `agents`, `frameworks`, `tasks`, `roles`, `quota`, `ps`,
//! `cat`, `tail [-f]`, `resolve` and `execute`, as tables or, with
//! `--json`, as the master's JSON.
//!
//! The master is `--master=host:port[,host:port...]`, else `MESOS_MASTER`,
//! else `[master] address` of the configuration file (see [`config`]); a
//! list is resolved to the leader through `/master/redirect`, an
//! `etcd://` or `file://` URL through mesos-detector.
//!
//! Files of this module: `mod.rs` (arguments, dispatch, errors), `http`
//! (the blocking HTTP client), `config` (the configuration file),
//! `commands` (each command), `table` (column output).

pub mod commands;
pub mod config;
pub mod http;
pub mod table;

use std::path::PathBuf;

/// Why a command failed; printed as `error: ...` with exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error("cannot read the configuration file {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error(
        "no master: pass --master=host:port, set MESOS_MASTER, or set [master] address in ~/.mesos/config.toml"
    )]
    NoMaster,
    #[error("cannot reach {address}: {reason}")]
    Http { address: String, reason: String },
    #[error("{what} answered {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("cannot parse the answer of {what}: {reason}")]
    Parse { what: String, reason: String },
    #[error("cannot detect the master from {url}: {reason}")]
    Detector { url: String, reason: String },
    #[error("no leading master among {0}")]
    NoLeader(String),
    #[error("{0}")]
    NotFound(String),
    #[error("cannot run {program}: {reason}")]
    Exec { program: String, reason: String },
}

pub const USAGE: &str = "\
Usage: mesos [--master=HOST:PORT[,HOST:PORT...]] [--json] COMMAND [ARGS]

Commands:
  agents                 list the agents
  frameworks             list the frameworks
  tasks [--all]          list the tasks (with --all, completed ones too)
  roles                  list the roles with their weights and allocations
  quota                  list the quota of every role
  ps                     list the running tasks with their resources and agents
  cat TASK FILE          print FILE of TASK's sandbox (e.g. stdout)
  tail [-f] [-n LINES] TASK FILE
                         print the last LINES (10) of FILE; -f follows it
  resolve                print the leading master's address
                         (--master may be etcd://HOST:PORT/PREFIX)
  execute ARGS...        run mesos-execute (next to this program) with ARGS

The master comes from --master, else MESOS_MASTER, else [master] address in
~/.mesos/config.toml (MESOS_CLI_CONFIG names another file).";

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub master: Option<String>,
    pub json: bool,
    pub command: String,
    pub rest: Vec<String>,
}

impl Args {
    pub fn parse(argv: &[String]) -> Result<Args, CliError> {
        let mut master = None;
        let mut json = false;
        let mut it = argv.iter();
        let command = loop {
            let Some(a) = it.next() else {
                return Err(CliError::Usage("missing a command".into()));
            };
            if let Some(v) = a.strip_prefix("--master=") {
                master = Some(v.to_string());
            } else if a == "--master" {
                master = Some(
                    it.next()
                        .ok_or_else(|| CliError::Usage("--master needs a value".into()))?
                        .clone(),
                );
            } else if a == "--json" {
                json = true;
            } else if a == "--help" || a == "-h" {
                break "help".to_string();
            } else if a.starts_with('-') {
                return Err(CliError::Usage(format!("unknown option '{a}'")));
            } else {
                break a.clone();
            }
        };
        let mut rest = Vec::new();
        for a in it {
            if a == "--json" && command != "execute" {
                json = true;
            } else {
                rest.push(a.clone());
            }
        }
        Ok(Args {
            master,
            json,
            command,
            rest,
        })
    }
}

/// Where the master is, from the flag, the environment, then the file.
pub fn master_addresses(args: &Args) -> Result<String, CliError> {
    if let Some(m) = &args.master {
        return Ok(m.clone());
    }
    if let Ok(m) = std::env::var("MESOS_MASTER")
        && !m.is_empty()
    {
        return Ok(m);
    }
    if let Some(path) = config::default_path()
        && let Some(a) = config::Config::load(&path)?.master_address()
    {
        return Ok(a.to_string());
    }
    Err(CliError::NoMaster)
}

/// Runs the command line; returns the exit status.
pub fn main(argv: &[String]) -> i32 {
    let result = Args::parse(argv).and_then(|args| {
        let mut out = std::io::stdout().lock();
        commands::run(&args, &mut out)
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_before_and_after_the_command() {
        let a = Args::parse(&argv("--master=m:5050 tasks --all --json")).unwrap();
        assert_eq!(a.master.as_deref(), Some("m:5050"));
        assert!(a.json);
        assert_eq!(
            (a.command.as_str(), a.rest.clone()),
            ("tasks", argv("--all"))
        );
        let a = Args::parse(&argv("--master m:1 execute --json x")).unwrap();
        assert!(!a.json, "execute passes its arguments through");
        assert_eq!(a.rest, argv("--json x"));
        assert!(matches!(Args::parse(&[]), Err(CliError::Usage(_))));
        assert!(matches!(
            Args::parse(&argv("--bogus agents")),
            Err(CliError::Usage(m)) if m == "unknown option '--bogus'"
        ));
        assert!(matches!(
            Args::parse(&argv("--master")),
            Err(CliError::Usage(_))
        ));
    }
}
