//! Quota guarantees and limits, headroom, hierarchical roll-up, validation.

use std::collections::{BTreeMap, HashMap};

use mesos_common::resources::{ResourceLimits, ResourceQuantities};

use super::*;
use crate::allocator::Quota;
use crate::allocator::core::quota::{
    QuotaError, WeightsError, validate_quota_config, validate_quota_update, validate_weights,
};

fn quota(guarantees: &str, limits: &str) -> Quota {
    Quota {
        guarantees: if guarantees.is_empty() {
            ResourceQuantities::new()
        } else {
            ResourceQuantities::parse(guarantees).unwrap()
        },
        limits: if limits.is_empty() {
            ResourceLimits::new()
        } else {
            ResourceLimits::parse(limits).unwrap()
        },
    }
}

fn offered_cpus(c: &mut AllocatorCore, role: &str) -> f64 {
    c.roles_snapshot()
        .roles
        .get(role)
        .map_or(0.0, |r| r.offered_or_allocated.get("cpus").value())
}

#[test]
fn guarantees_are_satisfied_before_fair_sharing() {
    let mut c = core();
    for i in 0..4 {
        add_agent(&mut c, &format!("a{i}"), "cpus:1;mem:100");
    }
    // Role "big" already holds far more than "q": DRF alone would favour q
    // anyway, so give q the larger share and check guarantees still win.
    add_framework(&mut c, "fq", &["q"]);
    add_framework(&mut c, "fo", &["other"]);
    c.update_quota("q", quota("cpus:3", ""));
    c.allocate(at(0));
    assert_eq!(offered_cpus(&mut c, "q"), 3.0);
    assert_eq!(offered_cpus(&mut c, "other"), 1.0);
}

#[test]
fn limits_are_never_exceeded() {
    let mut c = core();
    for i in 0..6 {
        add_agent(&mut c, &format!("a{i}"), "cpus:2;mem:100");
    }
    add_framework(&mut c, "f", &["capped"]);
    c.update_quota("capped", quota("", "cpus:3"));
    for round in 0..5 {
        c.request_allocation();
        c.allocate(at(round));
        assert!(offered_cpus(&mut c, "capped") <= 3.0);
    }
    assert_eq!(offered_cpus(&mut c, "capped"), 3.0, "up to the limit");
    // Unlimited resources (mem) are still offered along with the capped ones.
    let snapshot = c.roles_snapshot();
    assert!(
        snapshot.roles["capped"]
            .offered_or_allocated
            .get("mem")
            .value()
            > 0.0
    );
}

#[test]
fn headroom_is_kept_for_unsatisfied_guarantees() {
    let mut c = core();
    for i in 0..4 {
        add_agent(&mut c, &format!("a{i}"), "cpus:1;mem:10");
    }
    // q is guaranteed 2 cpus but has no framework yet: others may not take
    // the cpus it will need.
    c.update_quota("q", quota("cpus:2", ""));
    add_framework(&mut c, "greedy", &["other"]);
    c.allocate(at(0));
    assert_eq!(offered_cpus(&mut c, "other"), 2.0);
    add_framework(&mut c, "fq", &["q"]);
    c.allocate(at(1));
    assert_eq!(offered_cpus(&mut c, "q"), 2.0);
}

#[test]
fn hierarchical_consumption_rolls_up_to_the_parent_quota() {
    let mut c = core();
    for i in 0..6 {
        add_agent(&mut c, &format!("a{i}"), "cpus:1;mem:10");
    }
    c.update_quota("eng", quota("", "cpus:2"));
    add_framework(&mut c, "b", &["eng/backend"]);
    add_framework(&mut c, "f", &["eng/frontend"]);
    for round in 0..3 {
        c.request_allocation();
        c.allocate(at(round));
    }
    let snapshot = c.roles_snapshot();
    let eng = &snapshot.roles["eng"];
    let backend = snapshot.roles["eng/backend"]
        .offered_or_allocated
        .get("cpus")
        .value();
    let frontend = snapshot.roles["eng/frontend"]
        .offered_or_allocated
        .get("cpus")
        .value();
    assert_eq!(
        backend + frontend,
        2.0,
        "the parent's limit binds its subroles"
    );
    assert_eq!(eng.offered_or_allocated.get("cpus").value(), 2.0);
    // Reservations of a subrole count for the parent too.
    c.add_agent(
        aid("r1"),
        agent_spec("r1"),
        None,
        mesos_common::resources::parse_resources("cpus(eng/backend):1", "*").unwrap(),
        HashMap::new(),
    );
    let snapshot = c.roles_snapshot();
    assert_eq!(snapshot.roles["eng"].reserved.get("cpus").value(), 1.0);
    assert_eq!(
        snapshot.roles["eng"].consumed_quota.get("cpus").value(),
        1.0
    );
}

#[test]
fn quota_state_is_reported_and_removable() {
    let mut c = core();
    c.update_quota("q", quota("cpus:1", "cpus:2"));
    assert_eq!(c.quota("q"), quota("cpus:1", "cpus:2"));
    assert!(c.roles_snapshot().roles.contains_key("q"));
    c.update_quota("q", Quota::default());
    assert!(
        !c.roles_snapshot().roles.contains_key("q"),
        "empty roles are dropped"
    );
}

#[test]
fn quota_configs_are_validated_as_mesos_does() {
    let g = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    assert!(validate_quota_config("eng", &g(&[("cpus", 1.0)]), &g(&[("cpus", 2.0)])).is_ok());
    assert!(matches!(
        validate_quota_config("a//b", &g(&[]), &g(&[])),
        Err(QuotaError::InvalidRole(_))
    ));
    assert_eq!(
        validate_quota_config("eng/dev", &g(&[]), &g(&[]))
            .unwrap_err()
            .to_string(),
        "Updating quota on nested role 'eng/dev' is not supported yet"
    );
    assert!(matches!(
        validate_quota_config("eng", &g(&[("cpus", 2.0)]), &g(&[("cpus", 1.0)])),
        Err(QuotaError::GuaranteesAboveLimits { .. })
    ));
    assert!(matches!(
        validate_quota_config("eng", &g(&[("mem", 1e13)]), &g(&[])),
        Err(QuotaError::TooLarge { .. })
    ));
    assert!(matches!(
        validate_quota_config("eng", &g(&[("cpus", -1.0)]), &g(&[])),
        Err(QuotaError::InvalidScalar { .. })
    ));
}

#[test]
fn quota_above_capacity_needs_force() {
    let capacity = ResourceQuantities::parse("cpus:10").unwrap();
    let updates = vec![("eng".to_string(), quota("cpus:20", ""))];
    let none = |_: &str| ResourceQuantities::new();
    let err =
        validate_quota_update(&updates, &BTreeMap::new(), &capacity, none, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid QuotaConfig: total quota guarantees 'cpus:20' exceed cluster capacity 'cpus:10' (use 'force' flag to bypass this check)"
    );
    assert!(validate_quota_update(&updates, &BTreeMap::new(), &capacity, none, true).is_ok());
    // A limit below what the role already consumes needs force too.
    let consumed = |_: &str| ResourceQuantities::parse("cpus:5").unwrap();
    let updates = vec![("eng".to_string(), quota("", "cpus:4"))];
    assert!(matches!(
        validate_quota_update(&updates, &BTreeMap::new(), &capacity, consumed, false),
        Err(QuotaError::LimitBelowConsumption { .. })
    ));
    assert!(validate_quota_update(&updates, &BTreeMap::new(), &capacity, consumed, true).is_ok());
    // Children's guarantees must fit in the parent's, force or not.
    let existing = BTreeMap::from([("eng".to_string(), quota("cpus:1", ""))]);
    let updates = vec![("eng/dev".to_string(), quota("cpus:2", ""))];
    assert!(matches!(
        validate_quota_update(&updates, &existing, &capacity, none, true),
        Err(QuotaError::ParentBelowChildren { .. })
    ));
}

#[test]
fn weights_are_validated() {
    assert_eq!(
        validate_weights(&[(" eng ".into(), 2.0)]).unwrap(),
        vec![("eng".to_string(), 2.0)]
    );
    assert!(matches!(
        validate_weights(&[("eng".into(), 0.0)]),
        Err(WeightsError::NotPositive { .. })
    ));
    assert!(matches!(
        validate_weights(&[("-bad".into(), 1.0)]),
        Err(WeightsError::InvalidRole { .. })
    ));
}

#[test]
fn tasks_consume_quota_until_their_resources_come_back() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:4;mem:100");
    add_framework(&mut c, "f", &["q"]);
    c.update_quota("q", quota("", "cpus:8"));
    let (_, _, _, offered) = only_offer(&c.allocate(at(0)).offers);
    let consumed = |c: &mut AllocatorCore| {
        c.roles_snapshot().roles["q"]
            .consumed_quota
            .get("cpus")
            .value()
    };
    assert_eq!(consumed(&mut c), 0.0, "offers do not consume quota yet");
    let task = allocated("cpus:1;mem:10", "q");
    c.transition_offered_to_allocated(&aid("a1"), &task);
    assert_eq!(consumed(&mut c), 1.0);
    // The unused part of the offer is declined; the task keeps its share.
    let mut rest = offered.clone();
    rest.subtract_all(&task);
    c.recover_resources(&fid("f"), &aid("a1"), &rest, None, false, at(0));
    assert_eq!(consumed(&mut c), 1.0);
    // The task ends: its resources come back as allocated ones.
    c.recover_resources(&fid("f"), &aid("a1"), &task, None, true, at(1));
    assert_eq!(consumed(&mut c), 0.0);
    assert_eq!(
        c.roles_snapshot().roles["q"]
            .offered_or_allocated
            .get("cpus")
            .value(),
        0.0
    );
}
