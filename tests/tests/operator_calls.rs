//! Every operator call of the master's `/api/v1`, in JSON and in protobuf,
//! against a real master with an agent and a framework running a task:
//! the status each Mesos handler answers and what the response shows.

mod operator_support;

use cluster_tests::cluster::test_flags;
use mesos_common::http::ContentType;
use mesos_common::proto::v1;
use mesos_common::proto::v1::master::call::Type;
use operator_support::*;

fn agent(id: &str) -> v1::AgentId {
    v1::AgentId { value: id.into() }
}

fn log_dir(tag: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mesos-rs-operator-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mesos-master.log"), b"hello log\n").unwrap();
    dir
}

#[test]
#[allow(deprecated)]
fn every_call_in_json_and_in_protobuf() {
    let _serial = cluster_tests::serial();
    for content in [ContentType::Json, ContentType::Protobuf] {
        let tag = if content == ContentType::Json {
            "json"
        } else {
            "proto"
        };
        let dir = log_dir(tag);
        let mut flags = test_flags();
        flags.log_dir = Some(dir.display().to_string());
        let s = Scenario::start(flags);
        let addr = s.addr();

        // Introspection.
        let r = query(addr, content, Type::GetHealth);
        assert!(r.get_health.unwrap().healthy);
        let flags = query(addr, content, Type::GetFlags)
            .get_flags
            .unwrap()
            .flags;
        assert!(
            flags.iter().any(|f| f.name == "allocation_interval"),
            "{flags:?}"
        );
        let version = query(addr, content, Type::GetVersion)
            .get_version
            .unwrap()
            .version_info;
        assert_eq!(version.version, "1.11.0");
        let mut metrics_call = call(Type::GetMetrics);
        metrics_call.get_metrics = Some(v1::master::call::GetMetrics {
            timeout: Some(v1::DurationInfo {
                nanoseconds: 1_000_000_000,
            }),
        });
        let metrics = decode(content, &post(addr, content, &metrics_call))
            .get_metrics
            .unwrap()
            .metrics;
        assert!(
            metrics.iter().any(|m| m.name == "master/uptime_secs"),
            "{metrics:?}"
        );
        assert!(
            metrics
                .iter()
                .any(|m| m.name == "master/operator_event_stream_subscribers")
        );

        // Logging level: set for an hour, read back, set back.
        assert_eq!(
            query(addr, content, Type::GetLoggingLevel)
                .get_logging_level
                .unwrap()
                .level,
            0
        );
        let mut set = call(Type::SetLoggingLevel);
        set.set_logging_level = Some(v1::master::call::SetLoggingLevel {
            level: 2,
            duration: v1::DurationInfo {
                nanoseconds: 3_600_000_000_000,
            },
        });
        let r = post(addr, content, &set);
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.body.is_empty());
        assert_eq!(
            query(addr, content, Type::GetLoggingLevel)
                .get_logging_level
                .unwrap()
                .level,
            2
        );
        set.set_logging_level.as_mut().unwrap().level = 0;
        assert_eq!(post(addr, content, &set).status, 200);
        assert_eq!(
            query(addr, content, Type::GetLoggingLevel)
                .get_logging_level
                .unwrap()
                .level,
            0
        );

        // Files: the master's log.
        let mut list = call(Type::ListFiles);
        list.list_files = Some(v1::master::call::ListFiles {
            path: "/master/log".into(),
        });
        let listed = decode(content, &post(addr, content, &list))
            .list_files
            .unwrap();
        assert!(
            listed.file_infos.is_empty(),
            "a file lists as empty, as in Mesos"
        );
        list.list_files = Some(v1::master::call::ListFiles {
            path: "/no/such/path".into(),
        });
        assert_eq!(post(addr, content, &list).status, 404);
        let mut read = call(Type::ReadFile);
        read.read_file = Some(v1::master::call::ReadFile {
            path: "/master/log".into(),
            offset: 0,
            length: None,
        });
        let file = decode(content, &post(addr, content, &read))
            .read_file
            .unwrap();
        assert_eq!((file.size, file.data.as_slice()), (10, &b"hello log\n"[..]));
        read.read_file = Some(v1::master::call::ReadFile {
            path: "/master/log".into(),
            offset: 6,
            length: Some(3),
        });
        assert_eq!(
            decode(content, &post(addr, content, &read))
                .read_file
                .unwrap()
                .data,
            b"log"
        );
        read.read_file = Some(v1::master::call::ReadFile {
            path: "/master/nothing".into(),
            offset: 0,
            length: None,
        });
        assert_eq!(post(addr, content, &read).status, 404);

        // State.
        let state = query(addr, content, Type::GetState).get_state.unwrap();
        let tasks = state.get_tasks.unwrap();
        assert_eq!(tasks.tasks.len(), 1);
        assert_eq!(tasks.tasks[0].task_id.value, "t1");
        assert_eq!(tasks.tasks[0].agent_id.value, s.agent_id);
        assert_eq!(tasks.tasks[0].state, v1::TaskState::TaskRunning as i32);
        let frameworks = state.get_frameworks.unwrap().frameworks;
        assert_eq!(
            frameworks[0].framework_info.id.as_ref().unwrap().value,
            s.framework_id
        );
        assert!(frameworks[0].active && frameworks[0].connected);
        assert!(!frameworks[0].allocated_resources.is_empty());
        let agents = state.get_agents.unwrap().agents;
        assert_eq!(agents.len(), 1);
        assert_eq!(agents[0].agent_info.id.as_ref().unwrap().value, s.agent_id);
        assert!(agents[0].active);
        assert_eq!(state.get_executors.unwrap().executors.len(), 0);

        let agents = query(addr, content, Type::GetAgents).get_agents.unwrap();
        assert_eq!(agents.agents.len(), 1);
        assert!(agents.recovered_agents.is_empty());
        let frameworks = query(addr, content, Type::GetFrameworks)
            .get_frameworks
            .unwrap();
        assert_eq!(frameworks.frameworks.len(), 1);
        assert!(
            query(addr, content, Type::GetExecutors)
                .get_executors
                .unwrap()
                .executors
                .is_empty()
        );
        let tasks = query(addr, content, Type::GetTasks).get_tasks.unwrap();
        assert_eq!(tasks.tasks[0].task_id.value, "t1");
        assert!(
            query(addr, content, Type::GetOperations)
                .get_operations
                .unwrap()
                .operations
                .is_empty()
        );
        let roles = query(addr, content, Type::GetRoles)
            .get_roles
            .unwrap()
            .roles;
        let star = roles.iter().find(|r| r.name == "*").expect("role *");
        assert_eq!(star.frameworks[0].value, s.framework_id);
        assert!(star.resources.iter().any(|r| r.name == "cpus"));
        let master = query(addr, content, Type::GetMaster).get_master.unwrap();
        assert_eq!(master.master_info.unwrap().id, s.cluster.master.info().id);
        assert!(master.elected_time.is_some());

        // Weights.
        let mut update = call(Type::UpdateWeights);
        update.update_weights = Some(v1::master::call::UpdateWeights {
            weight_infos: vec![v1::WeightInfo {
                weight: 2.5,
                role: Some("dev".into()),
            }],
        });
        assert_eq!(post(addr, content, &update).status, 200);
        let weights = query(addr, content, Type::GetWeights)
            .get_weights
            .unwrap()
            .weight_infos;
        assert!(
            weights
                .iter()
                .any(|w| w.role.as_deref() == Some("dev") && w.weight == 2.5)
        );

        // Quota (v2 and the deprecated v1 calls).
        let mut update = call(Type::UpdateQuota);
        update.update_quota = Some(v1::master::call::UpdateQuota {
            force: Some(true),
            quota_configs: vec![v1::quota::QuotaConfig {
                role: "dev".into(),
                guarantees: [("cpus".to_string(), v1::value::Scalar { value: 1.0 })].into(),
                limits: [("cpus".to_string(), v1::value::Scalar { value: 2.0 })].into(),
            }],
        });
        let r = post(addr, content, &update);
        assert_eq!(r.status, 200, "{}", r.text());
        let quota = query(addr, content, Type::GetQuota)
            .get_quota
            .unwrap()
            .status;
        assert!(
            quota.infos.iter().any(|i| i.role.as_deref() == Some("dev")),
            "{quota:?}"
        );
        let mut remove = call(Type::RemoveQuota);
        remove.remove_quota = Some(v1::master::call::RemoveQuota { role: "dev".into() });
        assert_eq!(post(addr, content, &remove).status, 200);
        let mut set = call(Type::SetQuota);
        set.set_quota = Some(v1::master::call::SetQuota {
            quota_request: v1::quota::QuotaRequest {
                force: Some(true),
                role: Some("ops".into()),
                guarantee: reserved("cpus:1", "ops")
                    .into_iter()
                    .map(|mut r| {
                        r.reservations.clear();
                        r
                    })
                    .collect(),
            },
        });
        let r = post(addr, content, &set);
        assert_eq!(r.status, 200, "{}", r.text());

        // Reservations and volumes (202: accepted by the master).
        let mut reserve = call(Type::ReserveResources);
        reserve.reserve_resources = Some(v1::master::call::ReserveResources {
            agent_id: agent(&s.agent_id),
            source: Vec::new(),
            resources: reserved("disk:100", "dev"),
        });
        let r = post(addr, content, &reserve);
        assert_eq!(r.status, 202, "{}", r.text());
        let volume = volume("dev", &format!("vol-{tag}"), 50.0);
        let mut create = call(Type::CreateVolumes);
        create.create_volumes = Some(v1::master::call::CreateVolumes {
            agent_id: agent(&s.agent_id),
            volumes: vec![volume.clone()],
        });
        let r = post(addr, content, &create);
        assert_eq!(r.status, 202, "{}", r.text());
        // The test agent cannot resize volumes: Mesos refuses with 400.
        let mut grow = call(Type::GrowVolume);
        grow.grow_volume = Some(v1::master::call::GrowVolume {
            agent_id: Some(agent(&s.agent_id)),
            volume: volume.clone(),
            addition: reserved("disk:10", "dev").remove(0),
        });
        let r = post(addr, content, &grow);
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("RESIZE_VOLUME"), "{}", r.text());
        let mut shrink = call(Type::ShrinkVolume);
        shrink.shrink_volume = Some(v1::master::call::ShrinkVolume {
            agent_id: Some(agent(&s.agent_id)),
            volume: volume.clone(),
            subtract: v1::value::Scalar { value: 10.0 },
        });
        let r = post(addr, content, &shrink);
        assert_eq!(r.status, 400, "{}", r.text());
        let mut destroy = call(Type::DestroyVolumes);
        destroy.destroy_volumes = Some(v1::master::call::DestroyVolumes {
            agent_id: agent(&s.agent_id),
            volumes: vec![volume],
        });
        let r = post(addr, content, &destroy);
        assert_eq!(r.status, 202, "{}", r.text());
        let mut unreserve = call(Type::UnreserveResources);
        unreserve.unreserve_resources = Some(v1::master::call::UnreserveResources {
            agent_id: agent(&s.agent_id),
            resources: reserved("disk:100", "dev"),
        });
        let r = post(addr, content, &unreserve);
        assert_eq!(r.status, 202, "{}", r.text());

        // Maintenance: schedule the agent's machine, then clear it.
        // The test agent's machine: hostname `localhost`, its pid's IP.
        let machine = v1::MachineId {
            hostname: Some("localhost".into()),
            ip: Some("127.0.0.1".into()),
        };
        let mut schedule = call(Type::UpdateMaintenanceSchedule);
        schedule.update_maintenance_schedule = Some(v1::master::call::UpdateMaintenanceSchedule {
            schedule: v1::maintenance::Schedule {
                windows: vec![v1::maintenance::Window {
                    machine_ids: vec![machine.clone()],
                    unavailability: v1::Unavailability {
                        start: v1::TimeInfo {
                            nanoseconds: 4_000_000_000_000_000_000,
                        },
                        duration: None,
                    },
                }],
            },
        });
        let r = post(addr, content, &schedule);
        assert_eq!(r.status, 200, "{}", r.text());
        let got = query(addr, content, Type::GetMaintenanceSchedule)
            .get_maintenance_schedule
            .unwrap()
            .schedule;
        assert_eq!(got.windows[0].machine_ids, vec![machine.clone()]);
        let status = query(addr, content, Type::GetMaintenanceStatus)
            .get_maintenance_status
            .unwrap()
            .status;
        assert_eq!(status.draining_machines[0].id, machine);
        let mut start = call(Type::StartMaintenance);
        start.start_maintenance = Some(v1::master::call::StartMaintenance {
            machines: vec![v1::MachineId {
                hostname: Some("elsewhere".into()),
                ip: Some("10.9.9.9".into()),
            }],
        });
        let r = post(addr, content, &start);
        assert_eq!(r.status, 400);
        assert!(
            r.text().contains("is not part of a maintenance schedule"),
            "{}",
            r.text()
        );
        let mut stop = call(Type::StopMaintenance);
        stop.stop_maintenance = Some(v1::master::call::StopMaintenance {
            machines: vec![machine.clone()],
        });
        let r = post(addr, content, &stop);
        assert_eq!(r.status, 400, "a DRAINING machine cannot be brought up");
        schedule
            .update_maintenance_schedule
            .as_mut()
            .unwrap()
            .schedule
            .windows
            .clear();
        assert_eq!(post(addr, content, &schedule).status, 200);
        assert!(
            query(addr, content, Type::GetMaintenanceSchedule)
                .get_maintenance_schedule
                .unwrap()
                .schedule
                .windows
                .is_empty()
        );

        // Agents: the test agent cannot drain; deactivate and reactivate it.
        let mut drain = call(Type::DrainAgent);
        drain.drain_agent = Some(v1::master::call::DrainAgent {
            agent_id: agent(&s.agent_id),
            max_grace_period: None,
            mark_gone: None,
        });
        let r = post(addr, content, &drain);
        assert_eq!(r.status, 400);
        assert!(
            r.text().contains("is not capable of draining"),
            "{}",
            r.text()
        );
        let mut deactivate = call(Type::DeactivateAgent);
        deactivate.deactivate_agent = Some(v1::master::call::DeactivateAgent {
            agent_id: agent(&s.agent_id),
        });
        assert_eq!(post(addr, content, &deactivate).status, 200);
        let agents = query(addr, content, Type::GetAgents)
            .get_agents
            .unwrap()
            .agents;
        assert!(!agents[0].active);
        assert_eq!(agents[0].deactivated, Some(true));
        let mut reactivate = call(Type::ReactivateAgent);
        reactivate.reactivate_agent = Some(v1::master::call::ReactivateAgent {
            agent_id: agent(&s.agent_id),
        });
        assert_eq!(post(addr, content, &reactivate).status, 200);
        let agents = query(addr, content, Type::GetAgents)
            .get_agents
            .unwrap()
            .agents;
        assert!(agents[0].active);
        assert_eq!(agents[0].deactivated, Some(false));

        // TEARDOWN, then MARK_AGENT_GONE.
        let mut teardown = call(Type::Teardown);
        teardown.teardown = Some(v1::master::call::Teardown {
            framework_id: v1::FrameworkId {
                value: s.framework_id.clone(),
            },
        });
        assert_eq!(post(addr, content, &teardown).status, 200);
        let frameworks = query(addr, content, Type::GetFrameworks)
            .get_frameworks
            .unwrap();
        assert!(frameworks.frameworks.is_empty());
        assert_eq!(frameworks.completed_frameworks.len(), 1);
        let mut gone = call(Type::MarkAgentGone);
        gone.mark_agent_gone = Some(v1::master::call::MarkAgentGone {
            agent_id: agent(&s.agent_id),
        });
        assert_eq!(post(addr, content, &gone).status, 200);
        assert!(
            query(addr, content, Type::GetAgents)
                .get_agents
                .unwrap()
                .agents
                .is_empty()
        );
        assert_eq!(
            post(addr, content, &gone).status,
            200,
            "marking a gone agent again is fine"
        );
        cluster_tests::eventually(|| {
            s.agent.call(|a, _| a.shutdown_message.clone()).as_deref()
                == Some("Agent has been marked gone")
        });

        // UNKNOWN.
        let r = post(addr, content, &call(Type::Unknown));
        assert_eq!(r.status, 501);
        // The same route under /api/v1/operator.
        let r = post_to(addr, "/api/v1/operator", content, &call(Type::GetHealth));
        assert!(decode(content, &r).get_health.unwrap().healthy);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
