//! Builders for v1 scheduler calls, and `V0Scheduler`: a process that plays
//! a v0 driver (it receives the master's `mesos.internal.*` messages into a
//! channel and sends calls from its own pid).

use std::sync::mpsc;

use libprocess::{Context, Install, LocalPid, Process, Runtime, RuntimeConfig, Upid};
use mesos_common::proto::{internal, v0, v1};

use v1::scheduler::call::Type;

pub fn framework_info(name: &str) -> v1::FrameworkInfo {
    v1::FrameworkInfo {
        user: "test".into(),
        name: name.into(),
        ..Default::default()
    }
}

pub fn with_capabilities(
    mut info: v1::FrameworkInfo,
    caps: &[v1::framework_info::capability::Type],
) -> v1::FrameworkInfo {
    info.capabilities = caps
        .iter()
        .map(|t| v1::framework_info::Capability {
            r#type: Some(*t as i32),
        })
        .collect();
    info
}

fn call(kind: Type, framework_id: Option<&str>) -> v1::scheduler::Call {
    v1::scheduler::Call {
        r#type: Some(kind as i32),
        framework_id: framework_id.map(|v| v1::FrameworkId { value: v.into() }),
        ..Default::default()
    }
}

pub fn subscribe(info: v1::FrameworkInfo) -> v1::scheduler::Call {
    let mut c = call(Type::Subscribe, None);
    c.framework_id = info.id.clone();
    c.subscribe = Some(v1::scheduler::call::Subscribe {
        framework_info: info,
        ..Default::default()
    });
    c
}

/// A command task using `resources` of `agent`.
pub fn command_task(id: &str, agent: &str, resources: &str, command: &str) -> v1::TaskInfo {
    let parsed = mesos_common::resources::parse_resources(resources, "*").expect("valid resources");
    v1::TaskInfo {
        name: id.into(),
        task_id: v1::TaskId { value: id.into() },
        agent_id: v1::AgentId {
            value: agent.into(),
        },
        resources: mesos_common::resources::proto::v1::resources_to(
            &parsed,
            mesos_common::resources::ResourceFormat::PreReservationRefinement,
        )
        .expect("convertible"),
        command: Some(v1::CommandInfo {
            value: Some(command.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn accept(framework: &str, offers: &[&str], tasks: Vec<v1::TaskInfo>) -> v1::scheduler::Call {
    let mut c = call(Type::Accept, Some(framework));
    c.accept = Some(v1::scheduler::call::Accept {
        offer_ids: offers
            .iter()
            .map(|o| v1::OfferId {
                value: o.to_string(),
            })
            .collect(),
        operations: vec![v1::offer::Operation {
            r#type: Some(v1::offer::operation::Type::Launch as i32),
            launch: Some(v1::offer::operation::Launch { task_infos: tasks }),
            ..Default::default()
        }],
        filters: None,
    });
    c
}

pub fn decline(framework: &str, offers: &[&str], refuse_seconds: f64) -> v1::scheduler::Call {
    let mut c = call(Type::Decline, Some(framework));
    c.decline = Some(v1::scheduler::call::Decline {
        offer_ids: offers
            .iter()
            .map(|o| v1::OfferId {
                value: o.to_string(),
            })
            .collect(),
        filters: Some(v1::Filters {
            refuse_seconds: Some(refuse_seconds),
        }),
    });
    c
}

pub fn acknowledge(framework: &str, status: &v1::TaskStatus) -> v1::scheduler::Call {
    let mut c = call(Type::Acknowledge, Some(framework));
    c.acknowledge = Some(v1::scheduler::call::Acknowledge {
        agent_id: status.agent_id.clone().unwrap_or_default(),
        task_id: status.task_id.clone(),
        uuid: status.uuid.clone().unwrap_or_default(),
    });
    c
}

pub fn reconcile(framework: &str, tasks: &[(&str, Option<&str>)]) -> v1::scheduler::Call {
    let mut c = call(Type::Reconcile, Some(framework));
    c.reconcile = Some(v1::scheduler::call::Reconcile {
        tasks: tasks
            .iter()
            .map(|(t, a)| v1::scheduler::call::reconcile::Task {
                task_id: v1::TaskId {
                    value: t.to_string(),
                },
                agent_id: a.map(|a| v1::AgentId { value: a.into() }),
            })
            .collect(),
    });
    c
}

pub fn simple(kind: Type, framework: &str) -> v1::scheduler::Call {
    call(kind, Some(framework))
}

/// What a v0 driver received.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum V0Event {
    Registered(internal::FrameworkRegisteredMessage),
    Reregistered(internal::FrameworkReregisteredMessage),
    Offers(internal::ResourceOffersMessage),
    Rescind(internal::RescindResourceOfferMessage),
    Update(internal::StatusUpdateMessage),
    Error(internal::FrameworkErrorMessage),
    LostAgent(internal::LostSlaveMessage),
}

/// A v0 driver stand-in.
pub struct V0Scheduler {
    tx: mpsc::Sender<V0Event>,
}

impl Process for V0Scheduler {
    fn install(t: &mut Install<Self>) {
        t.message::<internal::FrameworkRegisteredMessage, _>(|s: &mut Self, _, m, _| {
            let _ = s.tx.send(V0Event::Registered(m));
        })
        .message::<internal::FrameworkReregisteredMessage, _>(|s: &mut Self, _, m, _| {
            let _ = s.tx.send(V0Event::Reregistered(m));
        })
        .message::<internal::ResourceOffersMessage, _>(|s: &mut Self, _, m, _| {
            let _ = s.tx.send(V0Event::Offers(m));
        })
        .message::<internal::RescindResourceOfferMessage, _>(|s: &mut Self, _, m, _| {
            let _ = s.tx.send(V0Event::Rescind(m));
        })
        .message::<internal::StatusUpdateMessage, _>(|s: &mut Self, _, m, _| {
            let _ = s.tx.send(V0Event::Update(m));
        })
        .message::<internal::FrameworkErrorMessage, _>(|s: &mut Self, _, m, _| {
            let _ = s.tx.send(V0Event::Error(m));
        })
        .message::<internal::LostSlaveMessage, _>(|s: &mut Self, _, m, _| {
            let _ = s.tx.send(V0Event::LostAgent(m));
        });
    }
}

/// A v0 scheduler in a runtime of its own.
pub struct V0Handle {
    pub runtime: Runtime,
    pub pid: LocalPid<V0Scheduler>,
    pub events: mpsc::Receiver<V0Event>,
}

impl V0Handle {
    pub fn start() -> V0Handle {
        let runtime = Runtime::bind(RuntimeConfig::local()).expect("bind");
        let (tx, events) = mpsc::channel();
        let id = format!("scheduler-{}", uuid::Uuid::new_v4());
        let pid = runtime.spawn(&id, V0Scheduler { tx }).expect("spawn");
        V0Handle {
            runtime,
            pid,
            events,
        }
    }

    pub fn upid(&self) -> &Upid {
        self.pid.upid()
    }

    /// Sends `msg` to `to` from this scheduler's pid.
    pub fn send<M: prost::Message + prost::Name + Send + 'static>(&self, to: &Upid, msg: M) {
        let to = to.clone();
        self.pid.dispatch(move |_, ctx: &mut Context<V0Scheduler>| {
            ctx.link(&to);
            ctx.send(&to, &msg)
        });
    }

    pub fn next(&self) -> Option<V0Event> {
        self.events.recv_timeout(crate::http::WAIT).ok()
    }

    /// Subscribes with a v0 `mesos.scheduler.Call`.
    pub fn subscribe(&self, master: &Upid, info: v0::FrameworkInfo, force: bool) {
        let call = v0::scheduler::Call {
            framework_id: info.id.clone(),
            r#type: Some(v0::scheduler::call::Type::Subscribe as i32),
            subscribe: Some(v0::scheduler::call::Subscribe {
                framework_info: info,
                force: Some(force),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.send(master, call);
    }
}
