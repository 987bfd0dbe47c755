//! v0 <-> v1 conversion: slave <-> agent fields survive, the explicit
//! special cases hold, and internal messages become the v1 events Mesos's
//! `evolve()` builds.

use mesos_common::convert::{self, DEFAULT_HEARTBEAT_INTERVAL_SECONDS, Devolve, Evolve};
use mesos_common::proto::{internal, v0, v1};

fn slave_id(v: &str) -> v0::SlaveId {
    v0::SlaveId { value: v.into() }
}

fn v0_status() -> v0::TaskStatus {
    v0::TaskStatus {
        task_id: v0::TaskId { value: "t1".into() },
        state: v0::TaskState::TaskRunning as i32,
        slave_id: Some(slave_id("S1")),
        executor_id: Some(v0::ExecutorId { value: "e1".into() }),
        uuid: Some(vec![7; 16]),
        data: Some(b"payload".to_vec()),
        reason: Some(v0::task_status::Reason::Reconciliation as i32),
        ..Default::default()
    }
}

#[test]
fn slave_id_becomes_agent_id_and_back() {
    let status = v0_status();
    let v1_status: v1::TaskStatus = status.evolve();
    assert_eq!(v1_status.agent_id.as_ref().unwrap().value, "S1");
    assert_eq!(v1_status.state, v1::TaskState::TaskRunning as i32);
    assert_eq!(v1_status.data.as_deref(), Some(&b"payload"[..]));
    assert_eq!(v1_status.devolve(), status);

    let offer = v0::Offer {
        id: v0::OfferId { value: "o".into() },
        framework_id: v0::FrameworkId { value: "f".into() },
        slave_id: slave_id("S2"),
        hostname: "h".into(),
        resources: vec![v0::Resource {
            name: "cpus".into(),
            r#type: v0::value::Type::Scalar as i32,
            scalar: Some(v0::value::Scalar { value: 1.5 }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let v1_offer: v1::Offer = offer.evolve();
    assert_eq!(v1_offer.agent_id.value, "S2");
    assert_eq!(v1_offer.resources[0].scalar.unwrap().value, 1.5);
    assert_eq!(v1_offer.devolve(), offer);

    let task = v1::TaskInfo {
        name: "n".into(),
        task_id: v1::TaskId { value: "t".into() },
        agent_id: v1::AgentId { value: "S3".into() },
        ..Default::default()
    };
    let v0_task: v0::TaskInfo = task.devolve();
    assert_eq!(v0_task.slave_id.value, "S3");
    assert_eq!(v0_task.evolve(), task);

    // The generic functions do the same for any pair.
    let id: v1::AgentId = convert::evolve(&slave_id("S4")).unwrap();
    assert_eq!(id.value, "S4");
    let back: v0::SlaveId = convert::devolve(&id).unwrap();
    assert_eq!(back, slave_id("S4"));
    // Types that do not share a layout are a typed error, not garbage.
    let wrong: Result<v1::TaskStatus, _> = convert::evolve(&v0::Value {
        r#type: 1,
        scalar: Some(v0::value::Scalar { value: 1.0 }),
        ..Default::default()
    });
    assert!(wrong.is_err());
}

#[test]
fn agent_info_devolves_with_checkpoint_set() {
    let info = v1::AgentInfo {
        hostname: "h".into(),
        id: Some(v1::AgentId { value: "S1".into() }),
        port: Some(5051),
        ..Default::default()
    };
    let slave: v0::SlaveInfo = info.devolve();
    assert_eq!(slave.checkpoint, Some(true));
    assert_eq!(slave.id.as_ref().unwrap().value, "S1");
    assert_eq!(slave.evolve(), info);
}

#[test]
fn scheduler_subscribe_fields_move_between_numbers() {
    let call = v1::scheduler::Call {
        r#type: Some(v1::scheduler::call::Type::Subscribe as i32),
        subscribe: Some(v1::scheduler::call::Subscribe {
            framework_info: v1::FrameworkInfo {
                user: "u".into(),
                name: "n".into(),
                ..Default::default()
            },
            suppressed_roles: vec!["r1".into(), "r2".into()],
            offer_constraints: Some(v1::scheduler::OfferConstraints::default()),
        }),
        ..Default::default()
    };
    let v0_call: v0::scheduler::Call = call.devolve();
    let sub = v0_call.subscribe.as_ref().unwrap();
    assert_eq!(sub.suppressed_roles, vec!["r1", "r2"]);
    assert_eq!(sub.force, None, "v1 roles must not leak into v0 force");
    assert!(sub.offer_constraints.is_some());
    assert_eq!(v0_call.evolve(), call);

    // A v0 driver's failover flag has no v1 field and is dropped.
    let mut forced = v0_call.clone();
    forced.subscribe.as_mut().unwrap().force = Some(true);
    assert_eq!(forced.evolve(), call);
}

#[test]
fn operation_status_and_acknowledge_keep_agent_ids() {
    let call = v1::scheduler::Call {
        r#type: Some(v1::scheduler::call::Type::AcknowledgeOperationStatus as i32),
        acknowledge_operation_status: Some(v1::scheduler::call::AcknowledgeOperationStatus {
            agent_id: Some(v1::AgentId { value: "S9".into() }),
            uuid: vec![1; 16],
            operation_id: v1::OperationId { value: "op".into() },
            ..Default::default()
        }),
        ..Default::default()
    };
    let v0_call: v0::scheduler::Call = call.devolve();
    let ack = v0_call.acknowledge_operation_status.as_ref().unwrap();
    assert_eq!(ack.slave_id.as_ref().unwrap().value, "S9");

    let status = v0::OperationStatus {
        state: v0::OperationState::OperationFinished as i32,
        slave_id: Some(slave_id("S5")),
        ..Default::default()
    };
    let v1_status: v1::OperationStatus = status.evolve();
    assert_eq!(v1_status.agent_id.unwrap().value, "S5");
}

#[test]
fn drain_agent_grace_period_converts_units() {
    let call = v1::master::Call {
        r#type: Some(v1::master::call::Type::DrainAgent as i32),
        drain_agent: Some(v1::master::call::DrainAgent {
            agent_id: v1::AgentId { value: "S1".into() },
            max_grace_period: Some(prost_types::Duration {
                seconds: 90,
                nanos: 500,
            }),
            mark_gone: Some(true),
        }),
        ..Default::default()
    };
    let v0_call: v0::master::Call = call.devolve();
    let drain = v0_call.drain_agent.as_ref().unwrap();
    assert_eq!(
        drain.max_grace_period.as_ref().unwrap().nanoseconds,
        90_000_000_500
    );
    assert_eq!(drain.slave_id.value, "S1");
    assert_eq!(v0_call.evolve(), call);
}

#[test]
fn status_update_message_becomes_update_event() {
    let update = internal::StatusUpdate {
        framework_id: v0::FrameworkId { value: "f".into() },
        executor_id: Some(v0::ExecutorId {
            value: "e-update".into(),
        }),
        slave_id: Some(slave_id("S-update")),
        status: v0::TaskStatus {
            slave_id: None,
            executor_id: None,
            uuid: None,
            ..v0_status()
        },
        timestamp: 1234.5,
        uuid: Some(vec![9; 16]),
        latest_state: None,
    };
    let from_agent = internal::StatusUpdateMessage {
        update: update.clone(),
        pid: Some("slave(1)@10.0.0.1:5051".into()),
    };
    let event = convert::update_event(&from_agent);
    assert_eq!(
        event.r#type,
        Some(v1::scheduler::event::Type::Update as i32)
    );
    let status = event.update.unwrap().status;
    assert_eq!(status.agent_id.unwrap().value, "S-update");
    assert_eq!(status.executor_id.unwrap().value, "e-update");
    assert_eq!(status.timestamp, Some(1234.5));
    assert_eq!(
        status.uuid,
        Some(vec![9; 16]),
        "agent updates must be acknowledged"
    );

    // Master-made updates (no pid) and updates without a uuid carry none.
    for (pid, uuid) in [
        (None, Some(vec![9; 16])),
        (Some(String::new()), Some(vec![9; 16])),
        (Some("slave(1)@10.0.0.1:5051".into()), Some(vec![])),
    ] {
        let msg = internal::StatusUpdateMessage {
            update: internal::StatusUpdate {
                uuid,
                ..update.clone()
            },
            pid,
        };
        assert_eq!(
            convert::update_event(&msg).update.unwrap().status.uuid,
            None
        );
    }
}

#[test]
fn scheduler_messages_become_events() {
    let master_info = v0::MasterInfo {
        id: "m".into(),
        ip: 1,
        port: 5050,
        hostname: Some("master".into()),
        ..Default::default()
    };
    let registered = internal::FrameworkRegisteredMessage {
        framework_id: v0::FrameworkId { value: "f".into() },
        master_info: master_info.clone(),
    };
    let e = convert::subscribed_event(&registered, DEFAULT_HEARTBEAT_INTERVAL_SECONDS);
    let s = e.subscribed.unwrap();
    assert_eq!(
        e.r#type,
        Some(v1::scheduler::event::Type::Subscribed as i32)
    );
    assert_eq!(
        (s.framework_id.value.as_str(), s.heartbeat_interval_seconds),
        ("f", Some(15.0))
    );
    assert_eq!(s.master_info.unwrap().hostname.as_deref(), Some("master"));
    let re = internal::FrameworkReregisteredMessage {
        framework_id: v0::FrameworkId { value: "f".into() },
        master_info,
    };
    assert_eq!(
        convert::resubscribed_event(&re, 15.0).r#type,
        Some(v1::scheduler::event::Type::Subscribed as i32)
    );

    let offers = internal::ResourceOffersMessage {
        offers: vec![v0::Offer {
            slave_id: slave_id("S1"),
            ..Default::default()
        }],
        pids: vec!["slave(1)@1.2.3.4:5051".into()],
    };
    let e = convert::offers_event(&offers);
    assert_eq!(e.offers.unwrap().offers[0].agent_id.value, "S1");

    let lost = convert::agent_failure_event(&internal::LostSlaveMessage {
        slave_id: slave_id("S2"),
    });
    let f = lost.failure.unwrap();
    assert_eq!(
        (f.agent_id.unwrap().value.as_str(), f.executor_id, f.status),
        ("S2", None, None)
    );

    let exited = convert::executor_failure_event(&internal::ExitedExecutorMessage {
        slave_id: slave_id("S3"),
        framework_id: v0::FrameworkId { value: "f".into() },
        executor_id: v0::ExecutorId { value: "e".into() },
        status: 9,
    });
    let f = exited.failure.unwrap();
    assert_eq!(f.agent_id.unwrap().value, "S3");
    assert_eq!(
        (f.executor_id.unwrap().value.as_str(), f.status),
        ("e", Some(9))
    );

    let message = convert::message_event(&internal::ExecutorToFrameworkMessage {
        slave_id: slave_id("S4"),
        framework_id: v0::FrameworkId { value: "f".into() },
        executor_id: v0::ExecutorId { value: "e".into() },
        data: b"hi".to_vec(),
    });
    let m = message.message.unwrap();
    assert_eq!(
        (m.agent_id.value.as_str(), m.data.as_slice()),
        ("S4", &b"hi"[..])
    );

    let error = convert::error_event(&internal::FrameworkErrorMessage {
        message: "boom".into(),
    });
    assert_eq!(error.error.unwrap().message, "boom");

    let rescind = convert::rescind_event(&internal::RescindResourceOfferMessage {
        offer_id: v0::OfferId { value: "o".into() },
    });
    assert_eq!(rescind.rescind.unwrap().offer_id.value, "o");
    let inverse = convert::inverse_offers_event(&internal::InverseOffersMessage {
        inverse_offers: vec![v0::InverseOffer {
            slave_id: Some(slave_id("S5")),
            ..Default::default()
        }],
        pids: vec![],
    });
    assert_eq!(
        inverse.inverse_offers.unwrap().inverse_offers[0]
            .agent_id
            .as_ref()
            .unwrap()
            .value,
        "S5"
    );
    let rescind_inverse =
        convert::rescind_inverse_offer_event(&internal::RescindInverseOfferMessage {
            inverse_offer_id: v0::OfferId { value: "io".into() },
        });
    assert_eq!(
        rescind_inverse
            .rescind_inverse_offer
            .unwrap()
            .inverse_offer_id
            .value,
        "io"
    );
    let op = convert::update_operation_status_event(&internal::UpdateOperationStatusMessage {
        status: v0::OperationStatus {
            slave_id: Some(slave_id("S6")),
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(
        op.update_operation_status
            .unwrap()
            .status
            .agent_id
            .unwrap()
            .value,
        "S6"
    );
}

#[test]
fn executor_messages_become_events() {
    let registered = internal::ExecutorRegisteredMessage {
        executor_info: v0::ExecutorInfo {
            executor_id: v0::ExecutorId { value: "e".into() },
            ..Default::default()
        },
        framework_id: v0::FrameworkId { value: "f".into() },
        framework_info: v0::FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            ..Default::default()
        },
        slave_id: slave_id("S1"),
        slave_info: v0::SlaveInfo {
            hostname: "h".into(),
            id: Some(slave_id("S1")),
            checkpoint: Some(true),
            ..Default::default()
        },
    };
    let e = convert::executor_subscribed_event(&registered);
    let s = e.subscribed.unwrap();
    assert_eq!(s.agent_info.id.unwrap().value, "S1");
    assert_eq!(s.executor_info.executor_id.value, "e");

    let launch = convert::launch_event(&internal::RunTaskMessage {
        task: v0::TaskInfo {
            slave_id: slave_id("S2"),
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(launch.launch.unwrap().task.agent_id.value, "S2");

    let kill = convert::kill_event(&internal::KillTaskMessage {
        framework_id: v0::FrameworkId { value: "f".into() },
        task_id: v0::TaskId { value: "t".into() },
        kill_policy: Some(v0::KillPolicy {
            grace_period: Some(v0::DurationInfo { nanoseconds: 5 }),
        }),
    });
    let k = kill.kill.unwrap();
    assert_eq!(k.task_id.value, "t");
    assert_eq!(k.kill_policy.unwrap().grace_period.unwrap().nanoseconds, 5);

    let msg = convert::executor_message_event(&internal::FrameworkToExecutorMessage {
        data: b"x".to_vec(),
        ..Default::default()
    });
    assert_eq!(msg.message.unwrap().data, b"x");
    let shutdown = convert::shutdown_event(&internal::ShutdownExecutorMessage::default());
    assert_eq!(
        shutdown.r#type,
        Some(v1::executor::event::Type::Shutdown as i32)
    );
    let ack = convert::acknowledged_event(&internal::StatusUpdateAcknowledgementMessage {
        slave_id: slave_id("S1"),
        framework_id: v0::FrameworkId { value: "f".into() },
        task_id: v0::TaskId { value: "t".into() },
        uuid: vec![3; 16],
    });
    let a = ack.acknowledged.unwrap();
    assert_eq!((a.task_id.value.as_str(), a.uuid), ("t", vec![3; 16]));
}

#[test]
fn executor_and_operator_calls_round_trip_between_versions() {
    let call = v1::executor::Call {
        executor_id: v1::ExecutorId { value: "e".into() },
        framework_id: v1::FrameworkId { value: "f".into() },
        r#type: Some(v1::executor::call::Type::Update as i32),
        update: Some(v1::executor::call::Update {
            status: v1::TaskStatus {
                task_id: v1::TaskId { value: "t".into() },
                state: v1::TaskState::TaskFinished as i32,
                agent_id: Some(v1::AgentId { value: "S1".into() }),
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    let v0_call: v0::executor::Call = call.devolve();
    assert_eq!(
        v0_call
            .update
            .as_ref()
            .unwrap()
            .status
            .slave_id
            .as_ref()
            .unwrap()
            .value,
        "S1"
    );
    assert_eq!(v0_call.evolve(), call);

    let response = v0::master::Response {
        r#type: Some(v0::master::response::Type::GetHealth as i32),
        get_health: Some(v0::master::response::GetHealth { healthy: true }),
        ..Default::default()
    };
    let v1_response: v1::master::Response = response.evolve();
    assert!(v1_response.get_health.unwrap().healthy);
}
