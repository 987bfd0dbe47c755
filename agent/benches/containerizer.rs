//! Container launch and destroy rate through the containerizer alone (no
//! agent, no executor protocol), with full isolation and with none.
//!
//! Each container runs `/bin/sleep 3600` through `mesos-containerizer
//! launch`. "Launch" is prepare (isolators: cgroups created and limited,
//! profiles checked) + spawn of the helper + isolate, one after another;
//! "running" is until every container has exec'd its command (each helper
//! done: cgroups joined, namespaces, limits, filters); "destroy" is SIGKILL
//! to every container, waiting for every exit, and the isolators' cleanup
//! (cgroups killed and removed). Sandboxes are made before the clock starts
//! (the agent makes them before it asks the containerizer) and live under
//! `$TMPDIR`. Full isolation is `cgroups/cpu,cgroups/mem,cgroups/pids,
//! namespaces/pid,namespaces/ipc,posix/rlimits,linux/nnp,
//! linux/capabilities,linux/seccomp` with the shipped default seccomp
//! profile, an effective capability set and a hostname (own UTS
//! namespace); none is an empty `--isolation`. The isolation overhead is
//! the difference of the median per-launch times. Medians of `--runs` runs;
//! `--only full` (or `none`) runs one of the two.
//!
//! Mesos 1.7 reports 1,000 containers launched in 30.7 s (~33/s) and
//! destroyed in about 20 s (~50/s).
//!
//! ```sh
//! cargo bench -p mesos-agent --bench containerizer -- --containers 500 --runs 3
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mesos_agent::containerizer::isolator::IsolationOptions;
use mesos_agent::containerizer::isolators::linux_capabilities::parse_flag;
use mesos_agent::containerizer::linux::cgroups::CgroupsV1;
use mesos_agent::containerizer::linux::cgroups_detect::HostCgroups;
use mesos_agent::containerizer::{Containerizer, LaunchRequest};
use mesos_agent::protobuf_utils::scalar_resource;
use mesos_common::proto::v0::slave::ContainerConfig;
use mesos_common::proto::v0::{CommandInfo, ContainerInfo, container_info};

const FULL: &str = "cgroups/cpu,cgroups/mem,cgroups/pids,namespaces/pid,namespaces/ipc,\
                    posix/rlimits,linux/nnp,linux/capabilities,linux/seccomp";
const MESOS_LAUNCH_PER_S: f64 = 1000.0 / 30.7;
const MESOS_DESTROY_PER_S: f64 = 1000.0 / 20.0;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How long the containers may take to reach their command.
const RUNNING_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether the container's first process, or a child of it (the pid
/// namespace's first process), has exec'd `sleep`.
fn runs_sleep(pid: u32) -> bool {
    let comm = |p: &str| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
    let pid = pid.to_string();
    comm(&pid) == "sleep\n"
        || std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .any(|child| comm(child) == "sleep\n")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Run {
    launch_s: f64,
    /// From the first launch until every container runs its command.
    running_s: f64,
    destroy_s: f64,
    /// Removed after all runs (see `main`).
    base: PathBuf,
}

fn one_run(isolation: &str, containers: usize, run: usize) -> Run {
    let base = std::env::temp_dir().join(format!(
        "mesos-bench-containerizer-{}-{run}-{}",
        if isolation.is_empty() { "none" } else { "full" },
        std::process::id()
    ));
    let launcher_dir = Path::new(env!("CARGO_BIN_EXE_mesos-containerizer"))
        .parent()
        .expect("a directory")
        .to_path_buf();
    let root = format!("mesos-bench-{}-{run}", std::process::id());
    let options = IsolationOptions {
        cgroups: CgroupsV1::new("/sys/fs/cgroup", root),
        cgroups_enable_cfs: true,
        cgroups_limit_swap: false,
        effective_capabilities: Some(parse_flag(r#"{"capabilities":["CHOWN","KILL"]}"#).unwrap()),
        bounding_capabilities: Some(
            parse_flag(r#"{"capabilities":["CHOWN","KILL","NET_RAW"]}"#).unwrap(),
        ),
        seccomp_config_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conf/seccomp")),
        seccomp_profile_name: Some("default.json".into()),
        ..IsolationOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c =
            Containerizer::with_options(launcher_dir, base.join("runtime"), isolation, &options)
                .expect("containerizer");
        let ids: Vec<String> = (0..containers).map(|i| format!("c{i}")).collect();
        // The agent creates each sandbox before it asks the containerizer
        // for the container (as Mesos's agent does), so that is not timed.
        for id in &ids {
            std::fs::create_dir_all(base.join(id)).unwrap();
        }
        let start = Instant::now();
        for id in &ids {
            let sandbox = base.join(id);
            let config = ContainerConfig {
                command_info: CommandInfo {
                    shell: Some(false),
                    value: Some("/bin/sleep".into()),
                    arguments: vec!["sleep".into(), "3600".into()],
                    ..Default::default()
                },
                resources: vec![
                    scalar_resource("cpus", 0.1, None),
                    scalar_resource("mem", 32.0, None),
                ],
                directory: sandbox.display().to_string(),
                // Full isolation includes a UTS namespace with a hostname.
                container_info: (!isolation.is_empty()).then(|| ContainerInfo {
                    r#type: container_info::Type::Mesos as i32,
                    hostname: Some(id.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            c.launch(LaunchRequest {
                container_id: id.clone(),
                config,
                environment: BTreeMap::new(),
                forked_pid_path: None,
            })
            .expect("launch");
        }
        let launch_s = start.elapsed().as_secs_f64();
        // Until every helper has done its part (cgroups joined, namespaces,
        // limits, filters) and exec'd the command.
        let mut pending: Vec<u32> = ids
            .iter()
            .filter_map(|id| c.get(id))
            .map(|c| c.pid)
            .collect();
        let deadline = Instant::now() + RUNNING_WAIT;
        while !pending.is_empty() {
            pending.retain(|pid| !runs_sleep(*pid));
            assert!(
                Instant::now() < deadline,
                "{} containers never ran",
                pending.len()
            );
            if !pending.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        let running_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let waits: Vec<_> = ids.iter().map(|id| c.wait(id)).collect();
        for id in &ids {
            c.destroy(id);
        }
        let statuses = futures::future::join_all(waits).await;
        for (id, status) in ids.iter().zip(statuses) {
            c.terminated(id, status);
        }
        let destroy_s = start.elapsed().as_secs_f64();
        for controller in ["cpu", "cpuacct", "memory", "pids"] {
            let _ = std::fs::remove_dir(options.cgroups.root_dir(controller));
        }
        // Containers also get a cgroup v2 cgroup (holding their processes) when
        // the host has a cgroup2 mount: remove the run's root there too.
        if let Some(v2) = HostCgroups::read(&options.cgroups.hierarchy)
            .ok()
            .and_then(|h| h.v2_mount().map(|m| m.mount_point.clone()))
        {
            let _ = std::fs::remove_dir(v2.join(&options.cgroups.root));
        }
        Run {
            launch_s,
            running_s,
            destroy_s,
            base,
        }
    })
}

fn main() {
    let containers = arg("--containers", 500);
    let runs = arg("--runs", 3).max(1);
    let mut per_launch_ms = BTreeMap::new();
    // Sandboxes are removed only at the end. ext4 (as here) checks each
    // recently freed inode when it allocates a new one (`recently_deleted`
    // in `perf`), so removing a run's 1,500 files right before the next
    // run's launches made that run's log file creations the largest cost of
    // a launch, which an agent never sees (it removes sandboxes after
    // --gc_delay, not between launches).
    let mut leftovers = Vec::new();
    // `--only full` or `--only none` (e.g. to profile one of them).
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    for (label, isolation) in [("none", ""), ("full", FULL)] {
        if only.as_deref().is_some_and(|o| o != label) {
            continue;
        }
        let results: Vec<Run> = (0..runs)
            .map(|r| one_run(isolation, containers, r))
            .collect();
        leftovers.extend(results.iter().map(|r| r.base.clone()));
        let launch_per_s = median(
            results
                .iter()
                .map(|r| containers as f64 / r.launch_s)
                .collect(),
        );
        let destroy_per_s = median(
            results
                .iter()
                .map(|r| containers as f64 / r.destroy_s)
                .collect(),
        );
        let running_per_s = median(
            results
                .iter()
                .map(|r| containers as f64 / r.running_s)
                .collect(),
        );
        let launch_ms = 1000.0 / launch_per_s;
        per_launch_ms.insert(label, launch_ms);
        println!(
            "isolation {label}: {containers} containers launched at {launch_per_s:.0}/s \
             ({launch_ms:.2} ms each, {:.1}x Mesos 1.7), all running their command at \
             {running_per_s:.0}/s ({:.1}x), destroyed at {destroy_per_s:.0}/s \
             ({:.1}x Mesos 1.7); median of {runs} runs",
            launch_per_s / MESOS_LAUNCH_PER_S,
            running_per_s / MESOS_LAUNCH_PER_S,
            destroy_per_s / MESOS_DESTROY_PER_S,
        );
        println!(
            "{{\"bench\":\"container_launch_destroy\",\"isolation\":\"{label}\",\"containers\":{containers},\"runs\":{runs},\"median_launch_per_s\":{launch_per_s:.1},\"median_launch_ms\":{launch_ms:.3},\"median_running_per_s\":{running_per_s:.1},\"median_destroy_per_s\":{destroy_per_s:.1},\"launch_vs_mesos_1_7\":{:.2},\"destroy_vs_mesos_1_7\":{:.2}}}",
            launch_per_s / MESOS_LAUNCH_PER_S,
            destroy_per_s / MESOS_DESTROY_PER_S,
        );
    }
    for base in leftovers {
        let _ = std::fs::remove_dir_all(base);
    }
    if let (Some(full), Some(none)) = (per_launch_ms.get("full"), per_launch_ms.get("none")) {
        let overhead = full - none;
        println!("isolation overhead per launch: {overhead:.2} ms");
        println!(
            "{{\"bench\":\"isolation_overhead\",\"containers\":{containers},\"runs\":{runs},\"median_overhead_ms_per_launch\":{overhead:.3}}}"
        );
    }
}
