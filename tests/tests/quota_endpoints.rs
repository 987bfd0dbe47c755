//! Quota through the legacy `/quota` endpoint and the v1 calls (GET_QUOTA,
//! UPDATE_QUOTA, SET_QUOTA, REMOVE_QUOTA) against a real master and agent:
//! what is stored and shown, Mesos's refusals (unknown and invalid roles,
//! guarantees above the cluster's capacity with and without `force`), the
//! allocator honouring a limit, and quota surviving a master restart.

#[path = "reservations_support/mod.rs"]
mod support;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::request;
use libprocess::Context;
use mesos_common::proto::v1;
use mesos_master::http::{ApiError, CallAnswer, CallFuture, quota};
use mesos_master::{Master, MasterFlags};

use support::*;

fn v1_call(
    cluster: &Cluster,
    f: impl FnOnce(&mut Master, &mut Context<Master>) -> CallFuture + Send + 'static,
) -> Result<CallAnswer, ApiError> {
    let future = cluster.call(f);
    cluster_tests::wait(future)
}

fn post_quota(cluster: &Cluster, body: serde_json::Value) -> cluster_tests::http::HttpResponse {
    request(
        cluster.address(),
        "POST",
        "/master/quota",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn guarantee(role: &str, cpus: f64, force: bool) -> serde_json::Value {
    serde_json::json!({
        "role": role,
        "force": force,
        "guarantee": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}}],
    })
}

fn config(
    role: &str,
    guarantees: &[(&str, f64)],
    limits: &[(&str, f64)],
) -> v1::quota::QuotaConfig {
    let map = |pairs: &[(&str, f64)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v1::value::Scalar { value: *v }))
            .collect()
    };
    v1::quota::QuotaConfig {
        role: role.into(),
        guarantees: map(guarantees),
        limits: map(limits),
    }
}

fn update(
    cluster: &Cluster,
    force: bool,
    configs: Vec<v1::quota::QuotaConfig>,
) -> Result<CallAnswer, ApiError> {
    let call = v1::master::call::UpdateQuota {
        force: Some(force),
        quota_configs: configs,
    };
    v1_call(cluster, move |m, ctx| {
        quota::update_quota(m, call, None, ctx)
    })
}

fn get_quota(cluster: &Cluster) -> v1::quota::QuotaStatus {
    match v1_call(cluster, |m, ctx| quota::get_quota(m, None, ctx)) {
        Ok(CallAnswer::Response(r)) => r.get_quota.expect("get_quota").status,
        other => panic!("{other:?}"),
    }
}

fn whitelisted() -> MasterFlags {
    MasterFlags {
        roles: Some("eng,ops".into()),
        ..test_flags()
    }
}

#[test]
fn legacy_quota_is_set_shown_and_removed() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("quota-legacy");
    let _agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));

    let r = post_quota(&cluster, guarantee("eng", 1.0, false));
    assert_eq!(r.status, 200, "{}", r.text());
    let status = request(cluster.address(), "GET", "/master/quota", &[], b"").json();
    assert_eq!(status["infos"][0]["role"], "eng");
    assert_eq!(status["infos"][0]["guarantee"][0]["scalar"]["value"], 1.0);
    // Mesos 1.11: a legacy guarantee is also the limit.
    assert_eq!(status["configs"][0]["guarantees"]["cpus"]["value"], 1.0);
    assert_eq!(status["configs"][0]["limits"]["cpus"]["value"], 1.0);
    let roles = request(cluster.address(), "GET", "/master/roles", &[], b"").json();
    let eng = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "eng")
        .expect("eng in /roles");
    assert_eq!(eng["quota"]["guarantee"]["cpus"], 1.0);

    let r = post_quota(&cluster, guarantee("eng", 2.0, false));
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to validate set quota request: Cannot set quota for role 'eng' which already has quota"
        )
    );
    let r = request(cluster.address(), "DELETE", "/master/quota/eng", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let r = request(cluster.address(), "DELETE", "/master/quota/eng", &[], b"");
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to remove quota for path '/master/quota/eng': Role 'eng' has no quota set"
        )
    );
    let r = request(cluster.address(), "PUT", "/master/quota", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(get_quota(&cluster).configs.len(), 0);
}

#[test]
fn quota_above_capacity_needs_force() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("quota-capacity");
    let _agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));

    let r = post_quota(&cluster, guarantee("eng", 100.0, false));
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.text().starts_with(
            "Quota guarantees overcommit the cluster (use 'force' to bypass this check): Total quota guarantees 'cpus:100' exceed cluster capacity '"
        ),
        "{}",
        r.text()
    );
    let r = post_quota(&cluster, guarantee("eng", 100.0, true));
    assert_eq!(r.status, 200, "{}", r.text());

    let answer = update(&cluster, false, vec![config("ops", &[("mem", 1e6)], &[])]);
    let Err(ApiError::BadRequest(reason)) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        reason.starts_with("Invalid QuotaConfig: total quota guarantees '")
            && reason.ends_with("(use 'force' flag to bypass this check)"),
        "{reason}"
    );
    assert_eq!(
        update(&cluster, true, vec![config("ops", &[("mem", 1e6)], &[])]),
        Ok(CallAnswer::Ok)
    );
    let roles: Vec<String> = get_quota(&cluster)
        .configs
        .into_iter()
        .map(|c| c.role)
        .collect();
    assert_eq!(roles, ["eng", "ops"]);
}

#[test]
fn unknown_and_invalid_roles_are_refused() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(whitelisted());
    let work = work_dir("quota-roles");
    let _agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));

    let r = post_quota(&cluster, guarantee("dev", 1.0, false));
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to validate set quota request: Unknown role 'dev'"
        )
    );
    let r = post_quota(&cluster, guarantee("bad role", 1.0, false));
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Failed to validate set quota request: QuotaInfo with invalid role: "),
        "{}",
        r.text()
    );
    let r = post_quota(
        &cluster,
        serde_json::json!({"role": "eng", "guarantee": []}),
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to validate set quota request: QuotaInfo with empty 'guarantee'"
        )
    );
    let r = request(cluster.address(), "POST", "/master/quota", &[], b"{");
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Failed to parse set quota request JSON '{': "),
        "{}",
        r.text()
    );
    let r = request(cluster.address(), "DELETE", "/master/quota/dev", &[], b"");
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to validate remove quota request for path '/master/quota/dev': Unknown role 'dev'"
        )
    );

    assert_eq!(
        update(&cluster, false, vec![config("dev", &[("cpus", 1.0)], &[])]),
        Err(ApiError::BadRequest(
            "Invalid QuotaConfig: 'dev' is not on the roles whitelist".into()
        ))
    );
    assert_eq!(
        update(
            &cluster,
            false,
            vec![config("eng/web", &[("cpus", 1.0)], &[])]
        ),
        Err(ApiError::BadRequest(
            "Invalid QuotaConfig: 'eng/web' is not on the roles whitelist".into()
        ))
    );
    let answer = update(
        &cluster,
        false,
        vec![config("eng", &[("cpus", 2.0)], &[("cpus", 1.0)])],
    );
    let Err(ApiError::BadRequest(reason)) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        reason.contains("is not contained within the 'QuotaConfig.limits'"),
        "{reason}"
    );
    let call = v1::master::call::RemoveQuota { role: "eng".into() };
    let answer = v1_call(&cluster, move |m, ctx| {
        quota::remove_quota(m, call, None, ctx)
    });
    assert_eq!(
        answer,
        Err(ApiError::BadRequest(
            "Failed to remove quota: Role 'eng' has no quota set".into()
        ))
    );
}

#[test]
fn a_limit_caps_what_the_role_is_offered() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("quota-limit");
    let _agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    assert_eq!(
        update(&cluster, false, vec![config("eng", &[], &[("cpus", 1.0)])]),
        Ok(CallAnswer::Ok)
    );
    let fw = Framework::subscribe(&cluster, role_info("limited", "eng", &[]));
    let offer = fw.offer();
    assert_eq!(offered(&offer).cpus(), Some(1.0), "{:?}", offer.resources);
    // Raising the limit is seen by the allocator too.
    fw.call(&cluster_tests::scheduler::decline(
        &fw.id,
        &[&offer.id.value],
        0.0,
    ));
    assert_eq!(
        update(&cluster, false, vec![config("eng", &[], &[("cpus", 3.0)])]),
        Ok(CallAnswer::Ok)
    );
    let offer = fw.offer_where(|r| r.cpus() == Some(3.0));
    assert_eq!(offered(&offer).cpus(), Some(3.0));
}

#[test]
fn quota_survives_a_master_restart() {
    let _serial = cluster_tests::serial();
    let mut cluster = Cluster::start(test_flags());
    let work = work_dir("quota-restart");
    let _agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    assert_eq!(
        update(
            &cluster,
            false,
            vec![config("eng", &[("cpus", 1.0)], &[("cpus", 2.0)])]
        ),
        Ok(CallAnswer::Ok)
    );
    let r = post_quota(&cluster, guarantee("ops", 1.0, false));
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = cluster.registry.snapshot().expect("stored registry");
    assert_eq!(stored.quota_configs.len(), 2);
    assert_eq!(stored.minimum_capabilities[0].capability, "QUOTA_V2");

    cluster.restart_master();
    let status = get_quota(&cluster);
    let eng = status
        .configs
        .iter()
        .find(|c| c.role == "eng")
        .expect("eng");
    assert_eq!(eng.guarantees["cpus"].value, 1.0);
    assert_eq!(eng.limits["cpus"].value, 2.0);
    let ops = status
        .configs
        .iter()
        .find(|c| c.role == "ops")
        .expect("ops");
    assert_eq!(ops.limits["cpus"].value, 1.0);
    // The recovered limit is the allocator's too, once the agent (which
    // notices the new master after its ping timeout) is back.
    libprocess::Clock::pause();
    libprocess::Clock::advance(std::time::Duration::from_secs(76));
    libprocess::Clock::advance(std::time::Duration::from_secs(2));
    libprocess::Clock::resume();
    let fw = Framework::subscribe(&cluster, role_info("after", "eng", &[]));
    let offer = fw.offer();
    assert_eq!(offered(&offer).cpus(), Some(2.0), "{:?}", offer.resources);
}
