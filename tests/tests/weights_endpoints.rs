//! Weights through `/weights` and the v1 calls (GET_WEIGHTS,
//! UPDATE_WEIGHTS) against a real master and agent: frameworks in roles of
//! weight 1 and 3 launching real tasks one offer at a time end with 1:3 of
//! the cluster; Mesos's refusals; weights surviving a master restart (and
//! `--weights` yielding to the registry).

#[path = "reservations_support/mod.rs"]
mod support;

use std::sync::mpsc;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{HttpResponse, request};
use libprocess::Context;
use mesos_common::proto::v1;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_master::http::{ApiError, CallAnswer, CallFuture, weights};
use mesos_master::{Master, MasterFlags};

use support::*;

fn v1_call(
    cluster: &Cluster,
    f: impl FnOnce(&mut Master, &mut Context<Master>) -> CallFuture + Send + 'static,
) -> Result<CallAnswer, ApiError> {
    let future = cluster.call(f);
    cluster_tests::wait(future)
}

fn put_weights(cluster: &Cluster, body: &str) -> HttpResponse {
    request(
        cluster.address(),
        "PUT",
        "/master/weights",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// Tasks in an agent's `/state` that are TASK_FINISHED.
fn finished_tasks(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(o) => {
            let this = usize::from(
                o.contains_key("framework_id")
                    && o.get("state").is_some_and(|s| s == "TASK_FINISHED"),
            );
            this + o.values().map(finished_tasks).sum::<usize>()
        }
        serde_json::Value::Array(a) => a.iter().map(finished_tasks).sum(),
        _ => 0,
    }
}

/// The allocator's view of the roles.
fn allocator_roles(cluster: &Cluster) -> mesos_master::allocator::RolesSnapshot {
    let allocator = cluster.call(|m, _| m.allocator().expect("allocator"));
    cluster_tests::wait(async move { allocator.roles_info().await }).expect("roles")
}

/// `(role, weight)` pairs of `GET /weights`, sorted.
fn get_weights(cluster: &Cluster) -> Vec<(String, f64)> {
    let r = request(cluster.address(), "GET", "/master/weights", &[], b"");
    assert_eq!(r.status, 200);
    let mut out: Vec<(String, f64)> = r
        .json()
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|w| {
            (
                w["role"].as_str().unwrap().to_string(),
                w["weight"].as_f64().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A framework that launches one `cpus:1` task per offer and declines the
/// rest without a filter, so every allocation goes to the role the
/// allocator's weighted DRF picks next. Reports each launch on `launched`
/// until it is told to stop.
fn one_task_per_offer(
    fw: Framework,
    agent: String,
    command: String,
    launched: mpsc::Sender<(String, String)>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut n = 0;
        while let Some(event) = fw.stream.next_of(E::Offers) {
            let offer = event.offers.unwrap().offers.remove(0);
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                fw.call(&cluster_tests::scheduler::decline(
                    &fw.id,
                    &[&offer.id.value],
                    3600.0,
                ));
                return;
            }
            if offered(&offer).cpus().unwrap_or(0.0) >= 1.0 {
                n += 1;
                let id = format!("{}-{n}", fw.id);
                let task = task_with(&id, &agent, "cpus:1;mem:32", Vec::new(), &command);
                fw.accept(&offer, vec![launch(vec![task])], 0.0);
                let _ = launched.send((fw.id.clone(), id));
            } else {
                fw.call(&cluster_tests::scheduler::decline(
                    &fw.id,
                    &[&offer.id.value],
                    0.0,
                ));
            }
        }
    })
}

#[test]
fn dominant_shares_converge_to_the_weights() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("weights-drf");
    let agent = RealAgent::start(agent_flags(
        &work,
        &cluster.upid(),
        "cpus:8;mem:4096;disk:1000",
    ));
    let r = put_weights(
        &cluster,
        r#"[{"role": "light", "weight": 1}, {"role": "heavy", "weight": 3}]"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let light = Framework::subscribe(&cluster, role_info("light", "light", &[]));
    let heavy = Framework::subscribe(&cluster, role_info("heavy", "heavy", &[]));
    let (light_id, heavy_id) = (light.id.clone(), heavy.id.clone());
    let (tx, rx) = mpsc::channel();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Tasks run until the test is done with them.
    let go = work.join("go");
    let command = format!("while [ ! -f {} ]; do sleep 0.05; done", go.display());
    let threads = [
        one_task_per_offer(light, agent.id(), command.clone(), tx.clone(), stop.clone()),
        one_task_per_offer(heavy, agent.id(), command, tx, stop.clone()),
    ];
    let mut per_framework = std::collections::BTreeMap::<String, u32>::new();
    for _ in 0..8 {
        let (fw, _task) = rx
            .recv_timeout(cluster_tests::http::WAIT)
            .expect("a launch");
        *per_framework.entry(fw).or_default() += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(per_framework.get(&light_id), Some(&2), "{per_framework:?}");
    assert_eq!(per_framework.get(&heavy_id), Some(&6), "{per_framework:?}");

    // The allocator's view: weights 1 and 3, equal weighted shares, so the
    // dominant shares stand 1:3.
    let roles = allocator_roles(&cluster);
    let (l, h) = (&roles.roles["light"], &roles.roles["heavy"]);
    assert_eq!((l.weight, h.weight), (1.0, 3.0));
    assert_eq!(l.allocated.get("cpus").value(), 2.0);
    assert_eq!(h.allocated.get("cpus").value(), 6.0);
    assert!(
        (l.dominant_share - h.dominant_share).abs() < 1e-9,
        "{l:?} {h:?}"
    );
    std::fs::write(&go, b"").unwrap();
    // (The frameworks do not acknowledge, so the agent holds the updates:
    // its view is the one to wait on.)
    agent.wait_state(|s| finished_tasks(s) == 8);
    drop(threads);
}

#[test]
fn weights_are_validated_as_mesos_does() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(MasterFlags {
        roles: Some("eng,ops".into()),
        ..test_flags()
    });
    let work = work_dir("weights-bad");
    let _agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));

    let r = put_weights(&cluster, r#"[{"role": " eng ", "weight": 2.5}]"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(get_weights(&cluster), [("eng".to_string(), 2.5)]);

    let r = put_weights(&cluster, r#"[{"role": "a b", "weight": 1}]"#);
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Failed to validate update weights request JSON: Invalid role 'a b': "),
        "{}",
        r.text()
    );
    let r = put_weights(&cluster, r#"[{"role": "dev", "weight": 1}]"#);
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to validate update weights request JSON: Unknown role 'dev'"
        )
    );
    let r = put_weights(&cluster, r#"[{"role": "ops", "weight": -1}]"#);
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to validate update weights request JSON for role 'ops': Invalid weight '-1': Weights must be positive"
        )
    );
    let r = put_weights(&cluster, r#"{"role": "ops"}"#);
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Failed to parse update weights request JSON '"),
        "{}",
        r.text()
    );
    let r = request(cluster.address(), "POST", "/master/weights", &[], b"[]");
    assert_eq!(r.status, 405);

    // The v1 calls share the checks and the state.
    let call = v1::master::call::UpdateWeights {
        weight_infos: vec![v1::WeightInfo {
            role: Some("ops".into()),
            weight: 0.0,
        }],
    };
    let answer = v1_call(&cluster, move |m, ctx| {
        weights::update_weights(m, call, None, ctx)
    });
    let Err(ApiError::BadRequest(reason)) = answer else {
        panic!("{answer:?}")
    };
    assert!(reason.ends_with("Weights must be positive"), "{reason}");
    let call = v1::master::call::UpdateWeights {
        weight_infos: vec![v1::WeightInfo {
            role: Some("ops".into()),
            weight: 4.0,
        }],
    };
    let answer = v1_call(&cluster, move |m, ctx| {
        weights::update_weights(m, call, None, ctx)
    });
    assert_eq!(answer, Ok(CallAnswer::Ok));
    let Ok(CallAnswer::Response(response)) =
        v1_call(&cluster, |m, ctx| weights::get_weights(m, None, ctx))
    else {
        panic!("GET_WEIGHTS answers a response")
    };
    let listed: Vec<(String, f64)> = response
        .get_weights
        .unwrap()
        .weight_infos
        .into_iter()
        .map(|w| (w.role.unwrap(), w.weight))
        .collect();
    assert_eq!(listed, [("eng".to_string(), 2.5), ("ops".to_string(), 4.0)]);
}

#[test]
fn weights_survive_a_master_restart_and_outrank_the_flag() {
    let _serial = cluster_tests::serial();
    let mut cluster = Cluster::start(MasterFlags {
        weights: Some("eng=2,ops=5".into()),
        ..test_flags()
    });
    // `--weights` is stored when the registry has none.
    assert_eq!(
        get_weights(&cluster),
        [("eng".to_string(), 2.0), ("ops".to_string(), 5.0)]
    );
    let r = put_weights(&cluster, r#"[{"role": "eng", "weight": 7}]"#);
    assert_eq!(r.status, 200, "{}", r.text());

    cluster.restart_master();
    // The registry's weights win over the flag.
    assert_eq!(
        get_weights(&cluster),
        [("eng".to_string(), 7.0), ("ops".to_string(), 5.0)]
    );
    let stored = cluster.registry.snapshot().expect("stored");
    assert_eq!(stored.weights.len(), 2);
    // And they are the allocator's.
    let roles = allocator_roles(&cluster);
    assert_eq!(roles.roles["eng"].weight, 7.0);
    assert_eq!(roles.roles["ops"].weight, 5.0);
}
