//! Each command of `mesos`: the operator calls it makes and what it prints.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::http::request;
use super::{Args, CliError, USAGE, master_addresses, table};

/// How much `cat` and `tail` read per `/files/read` request.
pub const READ_CHUNK_BYTES: u64 = 64 * 1024;

/// How often `tail -f` asks for new data.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

/// Runs `args`' command, printing to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let print = |out: &mut dyn Write, text: &str| {
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| CliError::Http {
                address: "stdout".into(),
                reason: e.to_string(),
            })
    };
    match args.command.as_str() {
        "help" => return print(out, &format!("{USAGE}\n")),
        "execute" => return execute(args),
        _ => {}
    }
    let leader = resolve(&master_addresses(args)?)?;
    let text = match args.command.as_str() {
        "resolve" => format!("{leader}\n"),
        "agents" => agents(&leader, args.json)?,
        "frameworks" => frameworks(&leader, args.json)?,
        "tasks" => tasks(&leader, args)?,
        "roles" => roles(&leader, args.json)?,
        "quota" => quota(&leader, args.json)?,
        "ps" => ps(&leader, args.json)?,
        "cat" => {
            let [task, file] = two(&args.rest, "cat TASK FILE")?;
            let (agent, path) = sandbox_file(&leader, task, file)?;
            let mut offset = 0;
            loop {
                let (data, _) = read_file(&agent, &path, offset, READ_CHUNK_BYTES)?;
                if data.is_empty() {
                    break;
                }
                offset += data.len() as u64;
                print(out, &data)?;
            }
            return Ok(());
        }
        "tail" => return tail(&leader, args, out),
        other => return Err(CliError::Usage(format!("unknown command '{other}'"))),
    };
    print(out, &text)
}

fn two<'a>(rest: &'a [String], usage: &str) -> Result<[&'a str; 2], CliError> {
    match rest {
        [a, b] => Ok([a.as_str(), b.as_str()]),
        _ => Err(CliError::Usage(format!("usage: mesos {usage}"))),
    }
}

/// How long `resolve` waits for a detector (etcd) to name the leader.
pub const DETECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The leader for a detection URL (`etcd://h:2379/prefix`, `file:///path`)
/// through mesos-detector, as `host:port`.
fn detect(url: &str) -> Result<String, CliError> {
    let mut detector = mesos_detector::create(url).map_err(|e| CliError::Detector {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(futures::executor::block_on(detector.detect(None)));
    });
    match rx.recv_timeout(DETECT_TIMEOUT) {
        Ok(Ok(Some(info))) => mesos_detector::master_info::pid(&info)
            .map(|pid| pid.rsplit('@').next().unwrap_or_default().to_string())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| CliError::NoLeader(url.to_string())),
        Ok(Ok(None)) | Err(_) => Err(CliError::NoLeader(url.to_string())),
        Ok(Err(e)) => Err(CliError::Detector {
            url: url.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// The leader among `addresses`: a detection URL goes to mesos-detector;
/// else each `host:port` of the comma-separated list is asked for
/// `/master/redirect`, whose `Location` names the leader.
pub fn resolve(addresses: &str) -> Result<String, CliError> {
    if addresses.contains("://") && !addresses.starts_with("http://") {
        return detect(addresses);
    }
    let mut last = None;
    for address in addresses
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let address = address
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        match request(&address, "GET", "/master/redirect", &[], b"") {
            Ok(r) if r.status == 307 => {
                if let Some(leader) = r.header("Location").and_then(location_address) {
                    return Ok(leader);
                }
                last = Some(CliError::Parse {
                    what: format!("{address}/master/redirect"),
                    reason: "no usable Location".into(),
                });
            }
            Ok(r) => {
                last = Some(CliError::Status {
                    what: format!("{address}/master/redirect"),
                    status: r.status,
                    body: r.text(),
                })
            }
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) if !addresses.contains(',') => Err(e),
        _ => Err(CliError::NoLeader(addresses.to_string())),
    }
}

/// `//host:port/master` (or with a scheme) -> `host:port`.
fn location_address(location: &str) -> Option<String> {
    let rest = location
        .split_once("//")
        .map(|(_, r)| r)
        .unwrap_or(location);
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| host.to_string())
}

/// POSTs `{"type": kind}` to the leader's `/api/v1`; the response's
/// payload field.
pub fn operator_call(leader: &str, kind: &str) -> Result<Json, CliError> {
    let body = json!({ "type": kind }).to_string();
    let r = request(
        leader,
        "POST",
        "/api/v1",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        body.as_bytes(),
    )?;
    if r.status != 200 {
        return Err(CliError::Status {
            what: kind.to_string(),
            status: r.status,
            body: r.text(),
        });
    }
    let mut v: Json = serde_json::from_slice(&r.body).map_err(|e| CliError::Parse {
        what: kind.to_string(),
        reason: e.to_string(),
    })?;
    Ok(v[kind.to_ascii_lowercase()].take())
}

fn get_json(address: &str, path: &str) -> Result<Json, CliError> {
    let r = request(address, "GET", path, &[], b"")?;
    if r.status != 200 {
        return Err(CliError::Status {
            what: format!("{address}{path}"),
            status: r.status,
            body: r.text(),
        });
    }
    serde_json::from_slice(&r.body).map_err(|e| CliError::Parse {
        what: format!("{address}{path}"),
        reason: e.to_string(),
    })
}

fn pretty(v: &Json) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}

fn s(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn list(v: &Json) -> &[Json] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The sum of the scalar resources called `name`.
fn scalar(resources: &Json, name: &str) -> f64 {
    list(resources)
        .iter()
        .filter(|r| r["name"] == name)
        .filter_map(|r| r["scalar"]["value"].as_f64())
        .fold(0.0, |total, v| total + v)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// `slave(1)@10.0.0.1:5051` -> `10.0.0.1:5051`.
fn pid_address(pid: &Json) -> String {
    s(pid).rsplit('@').next().unwrap_or_default().to_string()
}

fn agents(leader: &str, as_json: bool) -> Result<String, CliError> {
    let agents = operator_call(leader, "GET_AGENTS")?["agents"].take();
    if as_json {
        return Ok(pretty(&agents));
    }
    let rows: Vec<Vec<String>> = list(&agents)
        .iter()
        .map(|a| {
            vec![
                s(&a["agent_info"]["id"]["value"]),
                s(&a["agent_info"]["hostname"]),
                pid_address(&a["pid"]),
                s(&a["active"]),
                number(scalar(&a["total_resources"], "cpus")),
                number(scalar(&a["total_resources"], "mem")),
                number(scalar(&a["total_resources"], "disk")),
            ]
        })
        .collect();
    Ok(table::render(
        &["ID", "HOSTNAME", "ADDRESS", "ACTIVE", "CPUS", "MEM", "DISK"],
        &rows,
    ))
}

fn frameworks(leader: &str, as_json: bool) -> Result<String, CliError> {
    let frameworks = operator_call(leader, "GET_FRAMEWORKS")?["frameworks"].take();
    if as_json {
        return Ok(pretty(&frameworks));
    }
    let rows: Vec<Vec<String>> = list(&frameworks)
        .iter()
        .map(|f| {
            let info = &f["framework_info"];
            let roles: Vec<String> = list(&info["roles"]).iter().map(s).collect();
            let roles = if roles.is_empty() {
                s(&info["role"])
            } else {
                roles.join(",")
            };
            vec![
                s(&info["id"]["value"]),
                s(&info["name"]),
                roles,
                s(&f["active"]),
                s(&f["connected"]),
            ]
        })
        .collect();
    Ok(table::render(
        &["ID", "NAME", "ROLES", "ACTIVE", "CONNECTED"],
        &rows,
    ))
}

fn task_rows(tasks: &[&Json]) -> Vec<Vec<String>> {
    tasks
        .iter()
        .map(|t| {
            vec![
                s(&t["task_id"]["value"]),
                s(&t["name"]),
                s(&t["state"]),
                s(&t["framework_id"]["value"]),
                s(&t["agent_id"]["value"]),
            ]
        })
        .collect()
}

fn tasks(leader: &str, args: &Args) -> Result<String, CliError> {
    let all = match args.rest.as_slice() {
        [] => false,
        [a] if a == "--all" => true,
        _ => return Err(CliError::Usage("usage: mesos tasks [--all]".into())),
    };
    let response = operator_call(leader, "GET_TASKS")?;
    let mut tasks: Vec<&Json> = list(&response["tasks"]).iter().collect();
    if all {
        tasks.extend(list(&response["completed_tasks"]));
    }
    if args.json {
        return Ok(pretty(&Json::Array(tasks.into_iter().cloned().collect())));
    }
    Ok(table::render(
        &["ID", "NAME", "STATE", "FRAMEWORK", "AGENT"],
        &task_rows(&tasks),
    ))
}

fn roles(leader: &str, as_json: bool) -> Result<String, CliError> {
    let roles = operator_call(leader, "GET_ROLES")?["roles"].take();
    if as_json {
        return Ok(pretty(&roles));
    }
    let rows: Vec<Vec<String>> = list(&roles)
        .iter()
        .map(|r| {
            vec![
                s(&r["name"]),
                number(r["weight"].as_f64().unwrap_or(1.0)),
                list(&r["frameworks"]).len().to_string(),
                number(scalar(&r["resources"], "cpus")),
                number(scalar(&r["resources"], "mem")),
            ]
        })
        .collect();
    Ok(table::render(
        &["NAME", "WEIGHT", "FRAMEWORKS", "CPUS", "MEM"],
        &rows,
    ))
}

/// `{"cpus": {"value": 1}, ...}` -> `cpus:1;mem:128`.
fn quantities(v: &Json) -> String {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, q)| format!("{k}:{}", number(q["value"].as_f64().unwrap_or(0.0))))
                .collect::<Vec<_>>()
                .join(";")
        })
        .unwrap_or_default()
}

fn quota(leader: &str, as_json: bool) -> Result<String, CliError> {
    let status = operator_call(leader, "GET_QUOTA")?["status"].take();
    if as_json {
        return Ok(pretty(&status));
    }
    let rows: Vec<Vec<String>> = list(&status["configs"])
        .iter()
        .map(|c| {
            vec![
                s(&c["role"]),
                quantities(&c["guarantees"]),
                quantities(&c["limits"]),
            ]
        })
        .collect();
    Ok(table::render(&["ROLE", "GUARANTEES", "LIMITS"], &rows))
}

const ACTIVE_STATES: [&str; 5] = [
    "TASK_STAGING",
    "TASK_STARTING",
    "TASK_RUNNING",
    "TASK_KILLING",
    "TASK_UNREACHABLE",
];

fn ps(leader: &str, as_json: bool) -> Result<String, CliError> {
    let tasks = operator_call(leader, "GET_TASKS")?["tasks"].take();
    let agents = operator_call(leader, "GET_AGENTS")?["agents"].take();
    let hostname = |id: &Json| {
        list(&agents)
            .iter()
            .find(|a| a["agent_info"]["id"]["value"] == *id)
            .map(|a| s(&a["agent_info"]["hostname"]))
            .unwrap_or_default()
    };
    let active: Vec<&Json> = list(&tasks)
        .iter()
        .filter(|t| ACTIVE_STATES.iter().any(|a| t["state"] == *a))
        .collect();
    if as_json {
        return Ok(pretty(&Json::Array(active.into_iter().cloned().collect())));
    }
    let rows: Vec<Vec<String>> = active
        .iter()
        .map(|t| {
            vec![
                s(&t["task_id"]["value"]),
                s(&t["state"]),
                number(scalar(&t["resources"], "cpus")),
                number(scalar(&t["resources"], "mem")),
                hostname(&t["agent_id"]["value"]),
                s(&t["framework_id"]["value"]),
            ]
        })
        .collect();
    Ok(table::render(
        &["ID", "STATE", "CPUS", "MEM", "HOST", "FRAMEWORK"],
        &rows,
    ))
}

/// The agent's address and the path of `file` in `task`'s sandbox.
fn sandbox_file(leader: &str, task: &str, file: &str) -> Result<(String, String), CliError> {
    let response = operator_call(leader, "GET_TASKS")?;
    let found = list(&response["tasks"])
        .iter()
        .chain(list(&response["completed_tasks"]))
        .find(|t| t["task_id"]["value"] == task)
        .ok_or_else(|| CliError::NotFound(format!("no task '{task}'")))?;
    let agent_id = found["agent_id"]["value"].clone();
    let agents = operator_call(leader, "GET_AGENTS")?["agents"].take();
    let agent = list(&agents)
        .iter()
        .find(|a| a["agent_info"]["id"]["value"] == agent_id)
        .map(|a| pid_address(&a["pid"]))
        .ok_or_else(|| CliError::NotFound(format!("the agent of task '{task}' is gone")))?;
    let state = get_json(&agent, "/state")?;
    let has_task = |e: &Json| {
        ["tasks", "queued_tasks", "completed_tasks"]
            .iter()
            .any(|k| list(&e[*k]).iter().any(|t| t["id"] == task))
    };
    let directory = ["frameworks", "completed_frameworks"]
        .iter()
        .flat_map(|k| list(&state[*k]))
        .flat_map(|f| {
            list(&f["executors"])
                .iter()
                .chain(list(&f["completed_executors"]))
        })
        .find(|e| has_task(e))
        .map(|e| s(&e["directory"]))
        .ok_or_else(|| CliError::NotFound(format!("no sandbox of task '{task}' on {agent}")))?;
    Ok((
        agent,
        format!("{directory}/{}", file.trim_start_matches('/')),
    ))
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/files/read` of `path` on `agent`: the data and the file's size
/// (`offset` -1 reads only the size).
fn read_file(agent: &str, path: &str, offset: u64, length: u64) -> Result<(String, u64), CliError> {
    let v = get_json(
        agent,
        &format!(
            "/files/read?path={}&offset={offset}&length={length}",
            percent_encode(path)
        ),
    )?;
    Ok((s(&v["data"]), v["offset"].as_u64().unwrap_or(0)))
}

fn file_size(agent: &str, path: &str) -> Result<u64, CliError> {
    let v = get_json(
        agent,
        &format!("/files/read?path={}&offset=-1", percent_encode(path)),
    )?;
    Ok(v["offset"].as_u64().unwrap_or(0))
}

fn tail(leader: &str, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let mut follow = false;
    let mut lines = 10usize;
    let mut positional = Vec::new();
    let mut it = args.rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" | "--follow" => follow = true,
            "-n" => {
                lines = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| CliError::Usage("-n needs a number of lines".into()))?
            }
            _ => positional.push(a.clone()),
        }
    }
    let [task, file] = two(&positional, "tail [-f] [-n LINES] TASK FILE")?;
    let (agent, path) = sandbox_file(leader, task, file)?;
    let size = file_size(&agent, &path)?;
    let start = size.saturating_sub(READ_CHUNK_BYTES);
    let mut text = String::new();
    let mut offset = start;
    while offset < size {
        let (data, _) = read_file(&agent, &path, offset, size - offset)?;
        if data.is_empty() {
            break;
        }
        offset += data.len() as u64;
        text.push_str(&data);
    }
    let write = |out: &mut dyn Write, text: &str| {
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| CliError::Http {
                address: "stdout".into(),
                reason: e.to_string(),
            })
    };
    write(out, &last_lines(&text, lines))?;
    if !follow {
        return Ok(());
    }
    loop {
        std::thread::sleep(FOLLOW_INTERVAL);
        loop {
            let (data, _) = read_file(&agent, &path, offset, READ_CHUNK_BYTES)?;
            if data.is_empty() {
                break;
            }
            offset += data.len() as u64;
            write(out, &data)?;
        }
    }
}

/// The last `n` lines of `text` (a final newline ends a line, not starts one).
fn last_lines(text: &str, n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    let cut = body
        .rmatch_indices('\n')
        .nth(n - 1)
        .map(|(i, _)| i + 1)
        .unwrap_or(0);
    text[cut..].to_string()
}

/// Runs `mesos-execute` from this program's directory with the arguments,
/// adding `--master` (the leader) unless given.
fn execute(args: &Args) -> Result<(), CliError> {
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("mesos-execute")))
        .filter(|p| p.exists())
        .ok_or_else(|| CliError::Exec {
            program: "mesos-execute".into(),
            reason: "it is not installed next to mesos".into(),
        })?;
    let mut command = std::process::Command::new(&program);
    if !args.rest.iter().any(|a| a.starts_with("--master")) {
        command.arg(format!("--master={}", resolve(&master_addresses(args)?)?));
    }
    let status = command
        .args(&args.rest)
        .status()
        .map_err(|e| CliError::Exec {
            program: program.display().to_string(),
            reason: e.to_string(),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::Exec {
            program: program.display().to_string(),
            reason: format!("it exited with {status}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_counts_from_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(last_lines("a\nb\n", 5), "a\nb\n");
        assert_eq!(last_lines("a\n", 0), "");
    }

    #[test]
    fn locations_and_pids_give_addresses() {
        assert_eq!(
            location_address("//m1:5050/master").as_deref(),
            Some("m1:5050")
        );
        assert_eq!(
            location_address("http://m1:5050/master").as_deref(),
            Some("m1:5050")
        );
        assert_eq!(location_address("//").as_deref(), None);
        assert_eq!(
            pid_address(&json!("slave(1)@10.0.0.1:5051")),
            "10.0.0.1:5051"
        );
        assert_eq!(percent_encode("/a b/std%out"), "/a%20b/std%25out");
    }

    #[test]
    fn resources_sum_by_name() {
        let r = json!([
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.5}},
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 128}},
        ]);
        assert_eq!(number(scalar(&r, "cpus")), "2");
        assert_eq!(number(scalar(&r, "mem")), "128");
        assert_eq!(number(scalar(&r, "gpus")), "0");
        assert_eq!(
            quantities(&json!({"cpus": {"value": 1}, "mem": {"value": 0.5}})),
            "cpus:1;mem:0.50"
        );
    }
}
