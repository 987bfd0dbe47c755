//! What the reservation, volume, quota and weights scenarios share: a v1
//! framework driven from the test thread, builders for offer operations and
//! their resources, the legacy form-encoded operator endpoints, and a look
//! at an agent's checkpointed resources on disk.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;

use cluster_tests::Cluster;
use cluster_tests::http::{EventStream, HttpResponse, request, scheduler_call};
use cluster_tests::scheduler;
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::v1::{self, TaskState};
use mesos_common::resources::{self, ResourceFormat, Resources};

/// The agent of these scenarios.
pub const AGENT_RESOURCES: &str = "cpus:4;mem:4096;disk:1000;ports:[31000-32000]";

/// A subscribed v1 framework.
///
/// Events are read in the order the master sent them, but a scenario waits
/// for one kind at a time: what arrives meanwhile (an offer while waiting
/// for an update, task b's update while waiting for task a's) is kept, not
/// dropped, so the outcome does not depend on how the master interleaves
/// them (a dropped offer would hold its resources until it is rescinded).
pub struct Framework {
    pub stream: EventStream,
    pub id: String,
    pub stream_id: String,
    pub addr: SocketAddr,
    /// Events read while waiting for another kind, oldest first.
    pending: RefCell<VecDeque<v1::scheduler::Event>>,
    /// Every task status seen so far (acknowledged), by task id.
    statuses: RefCell<HashMap<String, Vec<v1::TaskStatus>>>,
}

/// A framework in `role` (single role, as most frameworks are) with
/// `caps`.
pub fn role_info(
    name: &str,
    role: &str,
    caps: &[v1::framework_info::capability::Type],
) -> v1::FrameworkInfo {
    let mut info = scheduler::with_capabilities(scheduler::framework_info(name), caps);
    #[allow(deprecated)]
    {
        info.role = Some(role.into());
    }
    info
}

impl Framework {
    pub fn subscribe(cluster: &Cluster, info: v1::FrameworkInfo) -> Framework {
        let stream = EventStream::subscribe(
            cluster.address(),
            &scheduler::subscribe(info),
            ContentType::Json,
        );
        assert_eq!(stream.status, 200);
        let stream_id = stream.stream_id.clone().expect("stream id");
        let subscribed = stream.next_of(E::Subscribed).expect("SUBSCRIBED");
        let id = subscribed.subscribed.unwrap().framework_id.value;
        Framework {
            stream,
            id,
            stream_id,
            addr: cluster.address(),
            pending: RefCell::default(),
            statuses: RefCell::default(),
        }
    }

    /// The oldest unconsumed event of `kind`: a kept one, else the next
    /// read from the stream (others read meanwhile are kept; heartbeats are
    /// dropped).
    fn next_of(&self, kind: E) -> v1::scheduler::Event {
        let want = Some(kind as i32);
        let kept = {
            let mut pending = self.pending.borrow_mut();
            let at = pending.iter().position(|e| e.r#type == want);
            at.and_then(|i| pending.remove(i))
        };
        if let Some(e) = kept {
            return e;
        }
        // Heartbeats keep the stream alive: bound the whole wait, not each read.
        let deadline = std::time::Instant::now() + cluster_tests::http::WAIT;
        loop {
            let e = self
                .stream
                .next()
                .filter(|_| std::time::Instant::now() < deadline)
                .unwrap_or_else(|| panic!("no {kind:?} event in time"));
            if e.r#type == want {
                return e;
            }
            if e.r#type != Some(E::Heartbeat as i32) {
                self.pending.borrow_mut().push_back(e);
            }
        }
    }

    pub fn call(&self, call: &v1::scheduler::Call) {
        let r = scheduler_call(self.addr, call, Some(&self.stream_id));
        assert_eq!(r.status, 202, "{}", r.text());
    }

    /// The next offer.
    pub fn offer(&self) -> v1::Offer {
        let offers = self.next_of(E::Offers).offers.unwrap().offers;
        offers.into_iter().next().expect("an offer")
    }

    /// Offers until one satisfies `pred`; the others are declined without
    /// a filter.
    pub fn offer_where(&self, pred: impl Fn(&Resources) -> bool) -> v1::Offer {
        loop {
            let offer = self.offer();
            if pred(&offered(&offer)) {
                return offer;
            }
            self.call(&scheduler::decline(&self.id, &[&offer.id.value], 0.0));
        }
    }

    /// ACCEPT of `offer` with `operations`; what they leave is declined
    /// for `refuse_seconds`.
    pub fn accept(
        &self,
        offer: &v1::Offer,
        operations: Vec<v1::offer::Operation>,
        refuse_seconds: f64,
    ) {
        let mut call = scheduler::accept(&self.id, &[&offer.id.value], Vec::new());
        if let Some(a) = &mut call.accept {
            a.operations = operations;
            a.filters = Some(v1::Filters {
                refuse_seconds: Some(refuse_seconds),
            });
        }
        self.call(&call);
    }

    /// The next task update (acknowledged when it carries a uuid).
    pub fn update(&self) -> v1::TaskStatus {
        let event = self.next_of(E::Update);
        let status = event.update.unwrap().status;
        if status.uuid.is_some() {
            self.call(&scheduler::acknowledge(&self.id, &status));
        }
        self.statuses
            .borrow_mut()
            .entry(status.task_id.value.clone())
            .or_default()
            .push(status.clone());
        status
    }

    /// The first status of `task` seen (now or later) that `pred` accepts.
    fn status_where(&self, task: &str, pred: impl Fn(&v1::TaskStatus) -> bool) -> v1::TaskStatus {
        let seen = |fw: &Framework| {
            fw.statuses
                .borrow()
                .get(task)
                .and_then(|all| all.iter().find(|s| pred(s)).cloned())
        };
        loop {
            if let Some(s) = seen(self) {
                return s;
            }
            self.update();
        }
    }

    /// Updates until `task` reaches a terminal state, which is returned.
    pub fn terminal(&self, task: &str) -> v1::TaskStatus {
        self.status_where(task, |s| is_terminal(s.state))
    }

    /// Updates until `task` is running.
    pub fn running(&self, task: &str) {
        let s = self.status_where(task, |s| {
            s.state == TaskState::TaskRunning as i32 || is_terminal(s.state)
        });
        assert!(!is_terminal(s.state), "{task} ended: {s:?}");
    }
}

pub fn is_terminal(state: i32) -> bool {
    matches!(
        TaskState::try_from(state),
        Ok(TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskLost
            | TaskState::TaskError
            | TaskState::TaskDropped
            | TaskState::TaskGone)
    )
}

/// An offer's resources, validated (without allocation info).
pub fn offered(offer: &v1::Offer) -> Resources {
    let mut r = resources::proto::v1::resources_from(&offer.resources).expect("valid offer");
    r.unallocate();
    r
}

/// `text` (`cpus:1;mem:128`) dynamically reserved to `role`, in the
/// post-refinement format.
pub fn reserved(text: &str, role: &str) -> Vec<v1::Resource> {
    let r = resources::parse_resources(text, "*")
        .expect("valid")
        .push_reservation(&resources::Reservation::new_dynamic(
            mesos_common::roles::Role::new(role).expect("role"),
            None,
        ))
        .expect("reservable");
    resources::proto::v1::resources_to(&r, ResourceFormat::PostReservationRefinement)
        .expect("convertible")
}

/// Reserved resources as the collection tests compare against.
pub fn reserved_set(text: &str, role: &str) -> Resources {
    resources::proto::v1::resources_from(&reserved(text, role)).unwrap()
}

/// A persistent volume `id` of `mb` on disk reserved to `role`, mounted at
/// `container_path` in sandboxes.
pub fn volume(role: &str, id: &str, mb: f64, container_path: &str, shared: bool) -> v1::Resource {
    let json = serde_json::json!([{
        "name": "disk", "type": "SCALAR", "scalar": {"value": mb},
        "reservations": [{"type": "DYNAMIC", "role": role}],
        "disk": {"persistence": {"id": id},
                 "volume": {"container_path": container_path, "mode": "RW"}},
    }]);
    let mut r: Vec<v1::Resource> =
        mesos_common::json::from_slice_array(json.to_string().as_bytes()).expect("json");
    if shared {
        r[0].shared = Some(Default::default());
    }
    r.remove(0)
}

fn op(kind: v1::offer::operation::Type) -> v1::offer::Operation {
    v1::offer::Operation {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

pub fn reserve(resources: Vec<v1::Resource>) -> v1::offer::Operation {
    let mut o = op(v1::offer::operation::Type::Reserve);
    o.reserve = Some(v1::offer::operation::Reserve {
        source: Vec::new(),
        resources,
    });
    o
}

pub fn unreserve(resources: Vec<v1::Resource>) -> v1::offer::Operation {
    let mut o = op(v1::offer::operation::Type::Unreserve);
    o.unreserve = Some(v1::offer::operation::Unreserve { resources });
    o
}

pub fn create(volumes: Vec<v1::Resource>) -> v1::offer::Operation {
    let mut o = op(v1::offer::operation::Type::Create);
    o.create = Some(v1::offer::operation::Create { volumes });
    o
}

pub fn destroy(volumes: Vec<v1::Resource>) -> v1::offer::Operation {
    let mut o = op(v1::offer::operation::Type::Destroy);
    o.destroy = Some(v1::offer::operation::Destroy { volumes });
    o
}

pub fn launch(tasks: Vec<v1::TaskInfo>) -> v1::offer::Operation {
    let mut o = op(v1::offer::operation::Type::Launch);
    o.launch = Some(v1::offer::operation::Launch { task_infos: tasks });
    o
}

/// A command task of `agent` with `resources` plus `extra` (e.g. a
/// volume).
pub fn task_with(
    id: &str,
    agent: &str,
    resources: &str,
    extra: Vec<v1::Resource>,
    command: &str,
) -> v1::TaskInfo {
    let mut t = scheduler::command_task(id, agent, resources, command);
    t.resources.extend(extra);
    t
}

/// `application/x-www-form-urlencoded`, every byte but `[A-Za-z0-9-_.~]`
/// escaped.
pub fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let escape = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// POSTs a form to the master.
pub fn post_form(cluster: &Cluster, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    request(
        cluster.address(),
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(pairs),
    )
}

/// Resources as the JSON array the legacy endpoints take.
pub fn json_array(resources: &[v1::Resource]) -> String {
    let values: Vec<serde_json::Value> =
        resources.iter().map(mesos_common::json::to_value).collect();
    serde_json::Value::Array(values).to_string()
}

/// What the agent with work directory `work` has checkpointed
/// (`meta/resources/resources_and_operations.state`, one record).
pub fn agent_checkpoint(work: &Path) -> Resources {
    let path = work.join("meta/resources/resources_and_operations.state");
    let Ok(bytes) = std::fs::read(&path) else {
        return Resources::new();
    };
    assert!(bytes.len() >= 4, "truncated {}", path.display());
    let len = u32::from_ne_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(bytes.len(), 4 + len, "one record in {}", path.display());
    let state: mesos_common::proto::internal::slave::ResourceState =
        prost::Message::decode(&bytes[4..]).expect("ResourceState");
    resources::proto::v0::resources_from(&state.resources).expect("valid")
}

/// The master's `reserved_resources` of its only agent, per role.
pub fn master_reserved(cluster: &Cluster) -> serde_json::Value {
    let r = request(cluster.address(), "GET", "/master/slaves", &[], b"");
    assert_eq!(r.status, 200);
    r.json()["slaves"][0]["reserved_resources"].clone()
}

/// Waits until `cond` holds of the agent's checkpoint, re-reading it after
/// every change of the agent's state (no polling).
pub fn wait_checkpoint(
    agent: &cluster_tests::agent_cluster::RealAgent,
    work: &Path,
    cond: impl Fn(&Resources) -> bool + Send + 'static,
) -> Resources {
    let work = work.to_path_buf();
    let dir = work.clone();
    agent.wait_state(move |_| cond(&agent_checkpoint(&dir)));
    agent_checkpoint(&work)
}
