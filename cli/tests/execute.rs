//! `mesos-execute`: flag validation as Mesos's, and runs against a
//! `mesos-local` cluster (a master and a real agent with real executors)
//! whose exit code is the task's outcome.

use std::path::PathBuf;
use std::process::Output;

use mesos_cli::execute::{ExecuteError, ExecuteFlags, Launch, Plan, demand_of, fit};
use mesos_cli::{LocalCluster, LocalFlags};
use mesos_common::flags::FlagsLoader;
use mesos_common::proto::v1;

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|p| p.parent()).unwrap().to_path_buf()
}

/// The agent binaries and `mesos-execute`, built once.
fn binaries() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        // ci/test builds every binary of the workspace first (one feature
        // resolution for all); a per-package build here would resolve
        // features differently and rebuild dependencies.
        if std::env::var_os("MESOS_RS_PREBUILT").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "mesos-agent",
                "--bins",
                "-p",
                "mesos-cli",
                "--bin",
                "mesos-execute",
            ])
            .status()
            .unwrap();
        assert!(status.success());
    });
    target_dir()
}

fn flags(args: &[&str]) -> Result<ExecuteFlags, String> {
    let mut argv = vec!["mesos-execute"];
    argv.extend_from_slice(args);
    FlagsLoader::new()
        .load::<ExecuteFlags>(&argv, std::iter::empty())
        .map(|l| l.flags)
        .map_err(|e| e.to_string())
}

fn plan(args: &[&str]) -> Result<Plan, ExecuteError> {
    Plan::from_flags(&flags(args).expect("flags parse"))
}

#[test]
fn flags_are_checked_as_mesos_does() {
    let p = plan(&[
        "--master=127.0.0.1:5050",
        "--name=t",
        "--command=echo hi",
        "--env={\"A\":\"1\"}",
    ])
    .unwrap();
    let Launch::Task(task) = &p.launch else {
        panic!()
    };
    assert_eq!(task.task_id.value, "t");
    let command = task.command.as_ref().unwrap();
    assert_eq!(command.shell, Some(true));
    assert_eq!(command.environment.as_ref().unwrap().variables[0].name, "A");
    assert_eq!(demand_of(&task.resources).cpus, 1.0);
    assert_eq!(demand_of(&task.resources).mem, 128.0);
    assert!(!p.json);
    let caps: Vec<i32> = p
        .framework
        .capabilities
        .iter()
        .filter_map(|c| c.r#type)
        .collect();
    assert!(caps.contains(&(v1::framework_info::capability::Type::PartitionAware as i32)));

    assert_eq!(
        plan(&["--master=m:1", "--command=x"]).unwrap_err(),
        ExecuteError::Usage("Missing required option --name".into())
    );
    assert_eq!(
        plan(&["--master=m:1", "--name=x"]).unwrap_err(),
        ExecuteError::Usage("Missing required option --command".into())
    );
    assert!(matches!(
        plan(&["--master=m:1", "--task={}", "--task_group={}"]).unwrap_err(),
        ExecuteError::Usage(m) if m.contains("not both")
    ));
    assert!(matches!(
        plan(&["--master=m:1", "--name=x", "--task_group={\"tasks\":[]}"]).unwrap_err(),
        ExecuteError::Usage(_)
    ));
    let err = plan(&[
        "--master=m:1",
        "--name=x",
        "--command=y",
        "--docker_image=busybox",
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "'--docker_image' is not supported by mesos-rs: no image provisioner"
    );
    assert!(matches!(
        plan(&[
            "--master=m:1",
            "--name=x",
            "--command=y",
            "--content_type=xml"
        ])
        .unwrap_err(),
        ExecuteError::Invalid {
            flag: "content_type",
            ..
        }
    ));
    assert!(matches!(
        plan(&[
            "--master=m:1",
            "--name=x",
            "--command=y",
            "--resources=cpus:lots"
        ])
        .unwrap_err(),
        ExecuteError::Invalid {
            flag: "resources",
            ..
        }
    ));
    assert!(matches!(
        plan(&["--master=m:1", "--name=x", "--command=y", "--framework_capabilities=NOPE"]).unwrap_err(),
        ExecuteError::Invalid { flag: "framework_capabilities", reason } if reason.contains("unknown")
    ));
    assert!(matches!(
        plan(&["--master=m:1", "--task_group={\"tasks\":[]}"]).unwrap_err(),
        ExecuteError::Invalid {
            flag: "task_group",
            ..
        }
    ));
    assert!(matches!(
        plan(&["--master=m:1", "--task_group={\"tasks\": 7}"]).unwrap_err(),
        ExecuteError::Invalid {
            flag: "task_group",
            ..
        }
    ));
    // A task group from a file.
    let file = std::env::temp_dir().join(format!("tg-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, TASK_GROUP).unwrap();
    let p = plan(&["--master=m:1", &format!("--task_group={}", file.display())]).unwrap();
    assert!(matches!(&p.launch, Launch::Group(ts) if ts.len() == 2));
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_plan_fits_only_offers_with_room() {
    let p = plan(&[
        "--master=m:1",
        "--name=x",
        "--command=y",
        "--resources=cpus:1;mem:64",
    ])
    .unwrap();
    let fid = v1::FrameworkId { value: "f".into() };
    let small = v1::Offer {
        agent_id: v1::AgentId { value: "a".into() },
        resources: mesos_framework::builders::Resources::new()
            .cpus(0.5)
            .mem(1024.0)
            .build(),
        ..Default::default()
    };
    assert!(fit(&p.launch, &small, "*", &fid).is_none());
    let big = v1::Offer {
        resources: mesos_framework::builders::Resources::new()
            .cpus(2.0)
            .mem(1024.0)
            .build(),
        ..small.clone()
    };
    let op = fit(&p.launch, &big, "*", &fid).unwrap();
    assert_eq!(op.launch.unwrap().task_infos[0].agent_id.value, "a");
}

const TASK_GROUP: &str = r#"{"tasks": [
  {"name": "g1", "task_id": {"value": "g1"}, "agent_id": {"value": ""},
   "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                 {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
   "command": {"value": "echo one"}},
  {"name": "g2", "task_id": {"value": "g2"}, "agent_id": {"value": ""},
   "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                 {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
   "command": {"value": "echo two"}}
]}"#;

fn execute(dir: &std::path::Path, master: &str, args: &[&str]) -> (Output, String) {
    let out = std::process::Command::new(dir.join("mesos-execute"))
        .arg(format!("--master={master}"))
        .args(args)
        .output()
        .expect("run mesos-execute");
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[test]
fn runs_on_mesos_local_and_exits_with_the_tasks_outcome() {
    let dir = binaries();
    let work = std::env::temp_dir().join(format!(
        "mesos-execute-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let cluster = LocalCluster::start(&LocalFlags {
        num_agents: 1,
        work_dir: work.display().to_string(),
        ip: Some("127.0.0.1".into()),
        port: 0,
        hostname: Some("localhost".into()),
        resources: Some("cpus:4;mem:2048;disk:1024".into()),
        launcher_dir: Some(dir.clone()),
        ..LocalFlags::default()
    })
    .expect("local cluster");
    for agent in &cluster.agents {
        assert!(futures::executor::block_on(agent.clone().wait_registered()));
    }
    let master = cluster.master_upid().address().to_string();

    let (out, text) = execute(
        &dir,
        &master,
        &[
            "--name=ok",
            "--command=echo fine",
            "--resources=cpus:0.1;mem:32",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    for line in [
        "Subscribed with ID ",
        "Submitted task 'ok' to agent '",
        "Received status update TASK_RUNNING for task 'ok'",
        "Received status update TASK_FINISHED for task 'ok'",
    ] {
        assert!(text.contains(line), "missing '{line}' in {text}");
    }

    let (out, text) = execute(
        &dir,
        &master,
        &[
            "--name=bad",
            "--command=exit 3",
            "--resources=cpus:0.1;mem:32",
            "--content_type=json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Received status update TASK_FAILED for task 'bad'"),
        "{text}"
    );

    let (out, text) = execute(
        &dir,
        &master,
        &[
            "--name=slow",
            "--command=sleep 600",
            "--resources=cpus:0.1;mem:32",
            "--kill_after=200ms",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Asked to kill task 'slow'"), "{text}");
    assert!(text.contains("TASK_KILLED for task 'slow'"), "{text}");

    let (out, text) = execute(&dir, &master, &[&format!("--task_group={TASK_GROUP}")]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Submitted task group with tasks [ g1, g2 ]"),
        "{text}"
    );
    assert!(
        text.contains("TASK_FINISHED for task 'g1'")
            && text.contains("TASK_FINISHED for task 'g2'"),
        "{text}"
    );

    let (out, text) = execute(
        &dir,
        &master,
        &["--name=d", "--command=true", "--docker_image=busybox"],
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("'--docker_image' is not supported"), "{text}");

    cluster.shutdown();
    let _ = std::fs::remove_dir_all(work);
}
