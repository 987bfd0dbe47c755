//! Bad input to the master's `/api/v1`: the dispatcher's checks in Mesos's
//! order (method, Content-Type, body, validation, Accept), every call
//! without its payload, bad resources, unknown ids, refused transitions,
//! the authorization seam, and standby masters; each answered with the
//! status Mesos answers and a reason.

mod operator_support;

use std::sync::Arc;

use cluster_tests::cluster::test_flags;
use cluster_tests::http::request;
use mesos_common::http::ContentType;
use mesos_common::proto::v1;
use mesos_common::proto::v1::master::call::Type;
use mesos_master::http::operator::authz::{Action, DenyActions};
use mesos_master::master::Leadership;
use operator_support::*;

fn agent(id: &str) -> v1::AgentId {
    v1::AgentId { value: id.into() }
}

#[test]
fn the_dispatcher_checks_method_media_types_body_and_accept_in_order() {
    let _serial = cluster_tests::serial();
    let s = Scenario::start(test_flags());
    let addr = s.addr();
    let body = mesos_common::json::to_vec(&call(Type::GetHealth));

    let r = request(addr, "GET", "/api/v1", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("POST"));
    let r = request(addr, "POST", "/api/v1", &[], &body);
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "Expecting 'Content-Type' to be present")
    );
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[("Content-Type", "text/plain")],
        &body,
    );
    assert_eq!(r.status, 415);
    assert!(
        r.text()
            .contains("application/json or application/x-protobuf")
    );
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json; charset=utf-8")],
        &body,
    );
    assert_eq!(r.status, 415, "Content-Type is compared exactly");
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json")],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().starts_with("Failed to parse body into JSON"),
        "{}",
        r.text()
    );
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json")],
        br#"{"type":5}"#,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Failed to convert JSON into Call protobuf"),
        "{}",
        r.text()
    );
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[("Content-Type", "application/x-protobuf")],
        b"\xff\xff\xff",
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Failed to parse body into Call protobuf"),
        "{}",
        r.text()
    );
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to validate master::Call: Expecting 'type' to be present"
        )
    );
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json")],
        br#"{"type":"NO_SUCH_CALL"}"#,
    );
    assert_eq!(r.status, 400, "an unknown call type is a missing type");
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "text/html"),
        ],
        &body,
    );
    assert_eq!(r.status, 406);
    assert!(
        r.text().contains("Expecting 'Accept' to allow"),
        "{}",
        r.text()
    );
    // q=0 refuses JSON; protobuf is then chosen.
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json;q=0, application/x-protobuf"),
        ],
        &body,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/x-protobuf"));
    let big = vec![b' '; mesos_master::http::operator::OPERATOR_CALL_BODY_BYTES_MAX + 1];
    let r = request(
        addr,
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json")],
        &big,
    );
    assert_eq!(r.status, 400);
}

#[test]
#[allow(deprecated)]
fn every_call_needs_its_payload_in_both_media_types() {
    let _serial = cluster_tests::serial();
    let s = Scenario::start(test_flags());
    let needs = [
        (Type::GetMetrics, "get_metrics"),
        (Type::SetLoggingLevel, "set_logging_level"),
        (Type::ListFiles, "list_files"),
        (Type::ReadFile, "read_file"),
        (Type::UpdateWeights, "update_weights"),
        (Type::ReserveResources, "reserve_resources"),
        (Type::UnreserveResources, "unreserve_resources"),
        (Type::CreateVolumes, "create_volumes"),
        (Type::DestroyVolumes, "destroy_volumes"),
        (Type::GrowVolume, "grow_volume"),
        (Type::ShrinkVolume, "shrink_volume"),
        (
            Type::UpdateMaintenanceSchedule,
            "update_maintenance_schedule",
        ),
        (Type::StartMaintenance, "start_maintenance"),
        (Type::StopMaintenance, "stop_maintenance"),
        (Type::DrainAgent, "drain_agent"),
        (Type::DeactivateAgent, "deactivate_agent"),
        (Type::ReactivateAgent, "reactivate_agent"),
        (Type::UpdateQuota, "update_quota"),
        (Type::SetQuota, "set_quota"),
        (Type::RemoveQuota, "remove_quota"),
        (Type::Teardown, "teardown"),
        (Type::MarkAgentGone, "mark_agent_gone"),
    ];
    for content in [ContentType::Json, ContentType::Protobuf] {
        for (kind, field) in needs {
            let r = post(s.addr(), content, &call(kind));
            assert_eq!(r.status, 400, "{kind:?} {content}");
            assert_eq!(
                r.text(),
                format!("Failed to validate master::Call: Expecting '{field}' to be present")
            );
        }
    }
}

#[test]
fn unknown_ids_bad_resources_and_refused_transitions() {
    let _serial = cluster_tests::serial();
    let s = Scenario::start(test_flags());
    let addr = s.addr();
    for content in [ContentType::Json, ContentType::Protobuf] {
        let expect = |c: &v1::master::Call, status: u16, reason: &str| {
            let r = post(addr, content, c);
            assert_eq!(r.status, status, "{:?}: {}", c.r#type, r.text());
            assert!(
                r.text().contains(reason),
                "{:?}: {} lacks {reason}",
                c.r#type,
                r.text()
            );
        };
        let mut drain = call(Type::DrainAgent);
        drain.drain_agent = Some(v1::master::call::DrainAgent {
            agent_id: agent("no-such-agent"),
            max_grace_period: None,
            mark_gone: None,
        });
        expect(&drain, 400, "Unknown agent");
        let mut deactivate = call(Type::DeactivateAgent);
        deactivate.deactivate_agent = Some(v1::master::call::DeactivateAgent {
            agent_id: agent("no-such-agent"),
        });
        expect(&deactivate, 400, "Unknown agent");
        let mut reactivate = call(Type::ReactivateAgent);
        reactivate.reactivate_agent = Some(v1::master::call::ReactivateAgent {
            agent_id: agent(&s.agent_id),
        });
        expect(&reactivate, 400, "Agent is not deactivated");
        let mut gone = call(Type::MarkAgentGone);
        gone.mark_agent_gone = Some(v1::master::call::MarkAgentGone {
            agent_id: agent("no-such-agent"),
        });
        expect(&gone, 404, "'no-such-agent' not found");
        let mut teardown = call(Type::Teardown);
        teardown.teardown = Some(v1::master::call::Teardown {
            framework_id: v1::FrameworkId {
                value: "no-such-framework".into(),
            },
        });
        expect(&teardown, 400, "No framework found with specified ID");
        let mut reserve = call(Type::ReserveResources);
        reserve.reserve_resources = Some(v1::master::call::ReserveResources {
            agent_id: agent(&s.agent_id),
            source: Vec::new(),
            resources: vec![v1::Resource {
                name: "cpus".into(),
                r#type: v1::value::Type::Scalar as i32,
                scalar: Some(v1::value::Scalar { value: -2.0 }),
                ..Default::default()
            }],
        });
        expect(&reserve, 400, "Failed to validate master::Call");
        let mut set = call(Type::SetLoggingLevel);
        set.set_logging_level = Some(v1::master::call::SetLoggingLevel {
            level: 1,
            duration: v1::DurationInfo { nanoseconds: -1 },
        });
        expect(&set, 400, "Invalid duration");
        let mut weights = call(Type::UpdateWeights);
        weights.update_weights = Some(v1::master::call::UpdateWeights {
            weight_infos: vec![v1::WeightInfo {
                weight: -1.0,
                role: Some("dev".into()),
            }],
        });
        expect(&weights, 400, "");
        let mut start = call(Type::StartMaintenance);
        start.start_maintenance = Some(v1::master::call::StartMaintenance {
            machines: Vec::new(),
        });
        expect(&start, 400, "List of machines is empty");
        start.start_maintenance = Some(v1::master::call::StartMaintenance {
            machines: vec![v1::MachineId {
                hostname: None,
                ip: None,
            }],
        });
        expect(
            &start,
            400,
            "Both 'hostname' and 'ip' for a machine are empty",
        );
        let mut schedule = call(Type::UpdateMaintenanceSchedule);
        schedule.update_maintenance_schedule = Some(v1::master::call::UpdateMaintenanceSchedule {
            schedule: v1::maintenance::Schedule {
                windows: vec![v1::maintenance::Window {
                    machine_ids: vec![v1::MachineId {
                        hostname: Some("h".into()),
                        ip: Some("1.2.3.4".into()),
                    }],
                    unavailability: v1::Unavailability {
                        start: v1::TimeInfo { nanoseconds: 0 },
                        duration: Some(v1::DurationInfo { nanoseconds: -5 }),
                    },
                }],
            },
        });
        expect(&schedule, 400, "Unavailability 'duration' is negative");
        schedule.update_maintenance_schedule = Some(v1::master::call::UpdateMaintenanceSchedule {
            schedule: v1::maintenance::Schedule {
                windows: vec![v1::maintenance::Window {
                    machine_ids: vec![v1::MachineId {
                        hostname: None,
                        ip: Some("999.1.1.1".into()),
                    }],
                    unavailability: v1::Unavailability {
                        start: v1::TimeInfo { nanoseconds: 0 },
                        duration: None,
                    },
                }],
            },
        });
        expect(&schedule, 400, "999.1.1.1");
        let mut read = call(Type::ReadFile);
        read.read_file = Some(v1::master::call::ReadFile {
            path: "/master/../etc/passwd".into(),
            offset: 0,
            length: None,
        });
        expect(&read, 400, "Invalid path");
    }
}

#[test]
fn the_authorizer_is_asked_and_its_refusals_are_403() {
    let _serial = cluster_tests::serial();
    let s = Scenario::start(test_flags());
    let addr = s.addr();
    s.cluster.call(|m, _| {
        m.set_authorizer(Arc::new(DenyActions(vec![
            Action::ViewFlags,
            Action::SetLogLevel,
            Action::Subscribe,
            Action::DeactivateAgent,
            Action::MarkAgentGone,
            Action::TeardownFramework,
            Action::ViewMetrics,
        ])))
    });
    let mut set = call(Type::SetLoggingLevel);
    set.set_logging_level = Some(v1::master::call::SetLoggingLevel {
        level: 1,
        duration: v1::DurationInfo { nanoseconds: 1 },
    });
    let mut deactivate = call(Type::DeactivateAgent);
    deactivate.deactivate_agent = Some(v1::master::call::DeactivateAgent {
        agent_id: agent(&s.agent_id),
    });
    let mut gone = call(Type::MarkAgentGone);
    gone.mark_agent_gone = Some(v1::master::call::MarkAgentGone {
        agent_id: agent(&s.agent_id),
    });
    let mut teardown = call(Type::Teardown);
    teardown.teardown = Some(v1::master::call::Teardown {
        framework_id: v1::FrameworkId {
            value: s.framework_id.clone(),
        },
    });
    let mut metrics = call(Type::GetMetrics);
    metrics.get_metrics = Some(Default::default());
    for c in [
        call(Type::GetFlags),
        set,
        call(Type::Subscribe),
        deactivate,
        gone,
        teardown,
        metrics,
    ] {
        let r = post(addr, ContentType::Json, &c);
        assert_eq!(r.status, 403, "{:?}", c.r#type);
    }
    // Nothing happened.
    let agents = query(addr, ContentType::Json, Type::GetAgents)
        .get_agents
        .unwrap()
        .agents;
    assert!(agents[0].active);
    assert_eq!(
        query(addr, ContentType::Json, Type::GetFrameworks)
            .get_frameworks
            .unwrap()
            .frameworks
            .len(),
        1
    );
}

#[test]
fn a_standby_redirects_to_the_leader_or_answers_503() {
    let _serial = cluster_tests::serial();
    let s = Scenario::start(test_flags());
    let addr = s.addr();
    let mut leader = s.cluster.master.info().clone();
    leader.hostname = Some("leader.example".into());
    leader.port = 5050;
    s.cluster.call(move |m, _| {
        m.set_leadership(Leadership::Standby {
            leader: Some(leader),
        })
    });
    let r = post(addr, ContentType::Json, &call(Type::GetHealth));
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("Location"),
        Some("//leader.example:5050/master/api/v1")
    );
    s.cluster
        .call(|m, _| m.set_leadership(Leadership::Standby { leader: None }));
    assert_eq!(
        post(addr, ContentType::Json, &call(Type::GetHealth)).status,
        503
    );
    s.cluster
        .call(|m, _| m.set_leadership(Leadership::Leading { recovered: false }));
    let r = post(addr, ContentType::Json, &call(Type::GetHealth));
    assert_eq!(
        (r.status, r.text().as_str()),
        (503, "Master has not finished recovery")
    );
    s.cluster
        .call(|m, _| m.set_leadership(Leadership::Leading { recovered: true }));
}
