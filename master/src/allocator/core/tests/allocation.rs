//! Allocation runs: fairness, filters, suppression, gating, reservations,
//! operations, maintenance, bad input.

use std::collections::{BTreeSet, HashMap};

use mesos_common::proto::v0;
use mesos_common::resources::ResourceQuantities;

use super::*;
use crate::allocator::core::{AllocatorOptions, refuse_timeout};

#[test]
fn one_framework_gets_whole_agents() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:4;mem:1024;ports:[31000-32000]");
    add_framework(&mut c, "f1", &["*"]);
    let run = c.allocate(at(0));
    let (f, role, agent, r) = only_offer(&run.offers);
    assert_eq!(
        (f.as_str(), role.as_str(), agent.as_str()),
        ("f1", "*", "a1")
    );
    assert_eq!(r, allocated("cpus:4;mem:1024;ports:[31000-32000]", "*"));
    assert!(r.iter().all(|x| x.allocation_role() == Some("*")));
    // Everything is offered: nothing more until it comes back.
    c.request_allocation();
    assert!(c.allocate(at(1)).offers.is_empty());
}

#[test]
fn agents_are_shared_fairly_between_frameworks_of_a_role() {
    let mut c = core();
    for i in 0..10 {
        add_agent(&mut c, &format!("a{i}"), "cpus:2;mem:100");
    }
    add_framework(&mut c, "f1", &["r"]);
    add_framework(&mut c, "f2", &["r"]);
    let run = c.allocate(at(0));
    let per = frameworks_of(&run.offers);
    assert_eq!(per.get("f1"), Some(&5));
    assert_eq!(per.get("f2"), Some(&5));
}

#[test]
fn roles_share_fairly_and_frameworks_inside_them() {
    let mut c = core();
    for i in 0..12 {
        add_agent(&mut c, &format!("a{i}"), "cpus:1;mem:10");
    }
    add_framework(&mut c, "x1", &["x"]);
    add_framework(&mut c, "x2", &["x"]);
    add_framework(&mut c, "y1", &["y"]);
    let per = frameworks_of(&c.allocate(at(0)).offers);
    // Roles x and y get 6 agents each; x splits its 6 between x1 and x2.
    assert_eq!(per.get("y1"), Some(&6));
    assert_eq!(per.get("x1"), Some(&3));
    assert_eq!(per.get("x2"), Some(&3));
}

#[test]
fn weights_converge_to_one_to_three_dominant_shares() {
    // Many rounds of offers, accepts and recoveries: frameworks in roles
    // weighted 1 and 3 end up with dominant shares 1:3.
    let mut c = core_with(AllocatorOptions {
        weights: vec![("light".into(), 1.0), ("heavy".into(), 3.0)],
        ..Default::default()
    });
    for i in 0..40 {
        add_agent(&mut c, &format!("a{i}"), "cpus:1;mem:100");
    }
    add_framework(&mut c, "l", &["light"]);
    add_framework(&mut c, "h", &["heavy"]);
    // Each round the frameworks keep what they were offered and one random
    // holding of each is released; allocation fills the gaps.
    let mut held: Vec<(String, String, String, Resources)> = Vec::new();
    for round in 0..200u64 {
        let run = c.allocate(at(round));
        held.extend(flatten(&run.offers));
        for f in ["l", "h"] {
            if let Some(pos) = held.iter().position(|h| h.0 == f) {
                let (fw, _, agent, r) = held.remove(pos);
                c.recover_resources(&fid(&fw), &aid(&agent), &r, None, false, at(round));
            }
        }
        c.request_allocation();
    }
    c.allocate(at(200));
    let snapshot = c.roles_snapshot();
    let light = snapshot.roles["light"]
        .offered_or_allocated
        .get("cpus")
        .value();
    let heavy = snapshot.roles["heavy"]
        .offered_or_allocated
        .get("cpus")
        .value();
    assert_eq!(light + heavy, 40.0, "the cluster stays fully allocated");
    assert!(
        (heavy / light - 3.0).abs() < 0.35,
        "light {light} heavy {heavy}"
    );
    // Weighted dominant shares are equal (that is the fairness criterion).
    let (sl, sh) = (
        snapshot.roles["light"].dominant_share,
        snapshot.roles["heavy"].dominant_share,
    );
    assert!((sl - sh).abs() < 0.05, "{sl} vs {sh}");
}

#[test]
fn reservations_go_only_to_their_role_and_its_subroles() {
    let mut c = core();
    c.add_agent(
        aid("a1"),
        agent_spec("a1"),
        None,
        mesos_common::resources::parse_resources("cpus(eng):4;mem:100", "*").unwrap(),
        HashMap::new(),
    );
    add_framework(&mut c, "other", &["ops"]);
    let run = c.allocate(at(0));
    let (_, role, _, r) = only_offer(&run.offers);
    assert_eq!(role, "ops");
    assert_eq!(
        r,
        allocated("mem:100", "ops"),
        "reserved cpus withheld from ops"
    );
    // A framework in a subrole of the reservation's role gets the cpus.
    add_framework(&mut c, "backend", &["eng/backend"]);
    let run = c.allocate(at(1));
    let (f, role, _, r) = only_offer(&run.offers);
    assert_eq!((f.as_str(), role.as_str()), ("backend", "eng/backend"));
    assert_eq!(r.cpus(), Some(4.0));
    assert!(
        r.iter()
            .all(|x| x.reservation_role().map(|r| r.as_str()) == Some("eng"))
    );
}

#[test]
fn refused_resources_are_filtered_until_the_filter_expires() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:2;mem:100");
    add_framework(&mut c, "f1", &["*"]);
    let (_, _, _, r) = only_offer(&c.allocate(at(0)).offers);
    c.recover_resources(
        &fid("f1"),
        &aid("a1"),
        &r,
        Some(&filters(10.0)),
        false,
        at(0),
    );
    c.request_allocation();
    assert!(c.allocate(at(5)).offers.is_empty(), "filtered");
    c.request_allocation();
    assert!(c.allocate(at(9)).offers.is_empty(), "still filtered");
    c.request_allocation();
    let run = c.allocate(at(10));
    assert_eq!(only_offer(&run.offers).3, r, "expired at 10 s");
}

#[test]
fn a_filter_does_not_cover_more_than_was_refused() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:2;mem:100");
    add_framework(&mut c, "f1", &["*"]);
    add_framework(&mut c, "f2", &["*"]);
    let run = c.allocate(at(0));
    let (f, _, _, r) = only_offer(&run.offers);
    // The other framework gets nothing now; it refuses half of a future offer.
    c.recover_resources(
        &fid(&f),
        &aid("a1"),
        &r,
        Some(&filters(1000.0)),
        false,
        at(0),
    );
    let other = if f == "f1" { "f2" } else { "f1" };
    c.request_allocation();
    let (f2, _, _, r2) = only_offer(&c.allocate(at(1)).offers);
    assert_eq!(f2, other);
    assert_eq!(r2, r);
    c.recover_resources(
        &fid(other),
        &aid("a1"),
        &r2,
        Some(&filters(1000.0)),
        false,
        at(1),
    );
    c.request_allocation();
    assert!(c.allocate(at(2)).offers.is_empty());
    // The agent grows: the larger offer passes both filters.
    c.update_agent(&aid("a1"), agent_spec("a1"), Some(res("cpus:4;mem:100")));
    let run = c.allocate(at(3));
    assert_eq!(only_offer(&run.offers).3.cpus(), Some(4.0));
}

#[test]
fn refuse_seconds_follow_mesos_rules() {
    assert_eq!(
        refuse_timeout(&v0::Filters {
            refuse_seconds: None
        }),
        Some(Duration::from_secs(5))
    );
    assert_eq!(refuse_timeout(&filters(-3.0)), Some(Duration::from_secs(5)));
    assert_eq!(
        refuse_timeout(&filters(f64::NAN)),
        Some(Duration::from_secs(5))
    );
    assert_eq!(refuse_timeout(&filters(0.0)), None);
    assert_eq!(
        refuse_timeout(&filters(1e12)),
        Some(Duration::from_secs(365 * 86400))
    );
    assert_eq!(
        refuse_timeout(&filters(2.5)),
        Some(Duration::from_millis(2500))
    );
    // A filter lasts at least one allocation interval.
    let mut c = core_with(AllocatorOptions {
        allocation_interval: Duration::from_secs(3),
        ..Default::default()
    });
    add_agent(&mut c, "a1", "cpus:1");
    add_framework(&mut c, "f1", &["*"]);
    let (_, _, _, r) = only_offer(&c.allocate(at(0)).offers);
    c.recover_resources(
        &fid("f1"),
        &aid("a1"),
        &r,
        Some(&filters(0.5)),
        false,
        at(0),
    );
    c.request_allocation();
    assert!(c.allocate(at(2)).offers.is_empty());
    c.request_allocation();
    assert_eq!(c.allocate(at(3)).offers.len(), 1);
}

#[test]
fn suppressed_roles_get_nothing_and_revive_clears_filters() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1;mem:10");
    add_framework(&mut c, "f1", &["r1", "r2"]);
    c.suppress_offers(&fid("f1"), &["r1".to_string()].into());
    let run = c.allocate(at(0));
    assert_eq!(roles_of(&run.offers), BTreeSet::from(["r2".to_string()]));
    let (_, _, _, r) = only_offer(&run.offers);
    c.recover_resources(
        &fid("f1"),
        &aid("a1"),
        &r,
        Some(&filters(1e6)),
        false,
        at(0),
    );
    c.suppress_offers(&fid("f1"), &BTreeSet::new());
    c.request_allocation();
    assert!(c.allocate(at(1)).offers.is_empty(), "all roles suppressed");
    // Reviving r2 clears its filter at once.
    c.revive_offers(&fid("f1"), &["r2".to_string()].into());
    let run = c.allocate(at(2));
    assert_eq!(only_offer(&run.offers).1, "r2");
}

#[test]
fn inactive_frameworks_get_nothing() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1");
    c.add_framework(fid("f1"), spec(&["*"]), HashMap::new(), false);
    assert!(c.allocate(at(0)).offers.is_empty());
    c.activate_framework(&fid("f1"));
    assert_eq!(c.allocate(at(1)).offers.len(), 1);
}

#[test]
fn revocable_resources_only_to_frameworks_that_ask() {
    let mut c = core();
    let mut total = res("mem:10");
    let mut rev = mesos_common::resources::Resource::scalar("cpus", 4.0).unwrap();
    rev = {
        let mut spec = rev.to_post_spec();
        spec.revocable = true;
        spec.validate().unwrap()
    };
    total.add(rev);
    c.add_agent(aid("a1"), agent_spec("a1"), None, total, HashMap::new());
    add_framework(&mut c, "plain", &["*"]);
    let (_, _, _, r) = only_offer(&c.allocate(at(0)).offers);
    assert!(
        r.revocable().is_empty(),
        "no revocable without the capability"
    );
    let mut s = spec(&["*"]);
    s.capabilities.revocable_resources = true;
    c.add_framework(fid("rev"), s, HashMap::new(), true);
    let (f, _, _, r) = only_offer(&c.allocate(at(1)).offers);
    assert_eq!(f, "rev");
    assert_eq!(r.revocable().cpus(), Some(4.0));
}

#[test]
fn gpu_agents_only_to_gpu_frameworks_unless_disabled() {
    for filter_gpu in [true, false] {
        let mut c = core_with(AllocatorOptions {
            filter_gpu_resources: filter_gpu,
            ..Default::default()
        });
        add_agent(&mut c, "gpu", "cpus:1;gpus:1");
        add_framework(&mut c, "plain", &["*"]);
        let offers = c.allocate(at(0)).offers;
        assert_eq!(offers.is_empty(), filter_gpu);
        if filter_gpu {
            let mut s = spec(&["*"]);
            s.capabilities.gpu_resources = true;
            c.add_framework(fid("g"), s, HashMap::new(), true);
            assert_eq!(only_offer(&c.allocate(at(1)).offers).0, "g");
        }
    }
}

#[test]
fn min_allocatable_resources_hold_back_scraps() {
    let mut c = core_with(AllocatorOptions {
        min_allocatable_resources: vec![
            ResourceQuantities::parse("cpus:1").unwrap(),
            ResourceQuantities::parse("mem:64").unwrap(),
        ],
        ..Default::default()
    });
    add_agent(&mut c, "small", "cpus:0.5;mem:32");
    add_agent(&mut c, "ok", "cpus:0.5;mem:64");
    add_framework(&mut c, "f", &["*"]);
    let (_, _, agent, _) = only_offer(&c.allocate(at(0)).offers);
    assert_eq!(agent, "ok");
    // A framework's own offer filter for the role overrides the flag.
    let mut s = spec(&["*"]);
    s.min_allocatable_resources.insert(
        "*".into(),
        vec![ResourceQuantities::parse("mem:16").unwrap()],
    );
    c.add_framework(fid("g"), s, HashMap::new(), true);
    assert_eq!(only_offer(&c.allocate(at(1)).offers).2, "small");
}

#[test]
fn whitelist_and_deactivated_agents_are_not_offered() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1");
    add_agent(&mut c, "a2", "cpus:1");
    add_framework(&mut c, "f", &["*"]);
    c.update_whitelist(Some(BTreeSet::from(["a2".to_string()])));
    c.deactivate_agent(&aid("a2"));
    assert!(c.allocate(at(0)).offers.is_empty());
    c.activate_agent(&aid("a2"));
    c.request_allocation();
    assert_eq!(only_offer(&c.allocate(at(1)).offers).2, "a2");
    c.update_whitelist(None);
    c.request_allocation();
    assert_eq!(only_offer(&c.allocate(at(2)).offers).2, "a1");
}

#[test]
fn multi_role_framework_is_offered_in_each_role() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1");
    add_agent(&mut c, "a2", "cpus:1");
    add_framework(&mut c, "f", &["r1", "r2"]);
    let run = c.allocate(at(0));
    assert_eq!(roles_of(&run.offers).len(), 2);
    // A non-MULTI_ROLE agent is never offered to a MULTI_ROLE framework.
    let mut old = agent_spec("old");
    old.capabilities.multi_role = false;
    c.add_agent(aid("old"), old, None, res("cpus:1"), HashMap::new());
    assert!(c.allocate(at(1)).offers.is_empty());
}

#[test]
fn recovery_pauses_until_enough_agents_return() {
    let mut c = core();
    let quotas = [(
        "q".to_string(),
        crate::allocator::Quota {
            guarantees: ResourceQuantities::parse("cpus:1").unwrap(),
            limits: Default::default(),
        },
    )]
    .into();
    let outcome = c.recover(5, quotas);
    assert!(matches!(
        outcome,
        crate::allocator::RecoveryOutcome::Paused {
            expected_agents: 4,
            ..
        }
    ));
    add_framework(&mut c, "f", &["*"]);
    for i in 0..3 {
        add_agent(&mut c, &format!("a{i}"), "cpus:1");
    }
    c.request_allocation();
    assert!(
        c.allocate(at(0)).offers.is_empty(),
        "paused with 3 of 4 agents"
    );
    add_agent(&mut c, "a3", "cpus:1");
    assert!(!c.is_paused());
    c.request_allocation();
    assert_eq!(c.allocate(at(1)).offers.len(), 1);
    // Without quota there is nothing to wait for.
    assert_eq!(
        core().recover(100, Default::default()),
        crate::allocator::RecoveryOutcome::Skipped
    );
}

#[test]
fn unknown_ids_are_logged_counted_and_ignored() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1");
    c.remove_framework(&fid("nope"));
    c.deactivate_agent(&aid("nope"));
    c.suppress_offers(&fid("nope"), &BTreeSet::new());
    c.recover_resources(
        &fid("nope"),
        &aid("a1"),
        &allocated("cpus:1", "*"),
        None,
        false,
        at(0),
    );
    // Resources never offered are refused, not added.
    add_framework(&mut c, "f", &["*"]);
    let (_, _, _, r) = only_offer(&c.allocate(at(0)).offers);
    c.recover_resources(
        &fid("f"),
        &aid("a1"),
        &allocated("cpus:5", "*"),
        None,
        false,
        at(0),
    );
    assert!(c.update_available(&aid("nope"), &[]).is_err());
    assert!(c.ignored_calls() >= 4);
    // State is intact: the real offer still comes back.
    c.recover_resources(&fid("f"), &aid("a1"), &r, None, false, at(0));
    c.request_allocation();
    assert_eq!(only_offer(&c.allocate(at(1)).offers).3, r);
}

#[test]
fn removing_a_framework_frees_its_resources() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1");
    add_framework(&mut c, "f", &["*"]);
    assert_eq!(c.allocate(at(0)).offers.len(), 1);
    c.remove_framework(&fid("f"));
    add_framework(&mut c, "g", &["*"]);
    assert_eq!(only_offer(&c.allocate(at(1)).offers).0, "g");
    assert!(c.roles_snapshot().roles["*"].frameworks == vec![fid("g")]);
}

#[test]
fn used_resources_of_agents_count_towards_shares() {
    let mut c = core();
    add_framework(&mut c, "busy", &["*"]);
    add_framework(&mut c, "idle", &["*"]);
    c.add_agent(
        aid("a0"),
        agent_spec("a0"),
        None,
        res("cpus:4"),
        HashMap::from([(fid("busy"), allocated("cpus:3", "*"))]),
    );
    add_agent(&mut c, "a1", "cpus:4");
    let run = c.allocate(at(0));
    // idle (share 0) goes first and takes a whole agent.
    let per = flatten(&run.offers);
    let idle: Vec<_> = per.iter().filter(|o| o.0 == "idle").collect();
    assert!(!idle.is_empty());
    assert_eq!(c.roles_snapshot().total.get("cpus").value(), 8.0);
}

#[test]
fn update_allocation_applies_reserve_to_offered_resources() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:4;mem:100");
    add_framework(&mut c, "f", &["eng"]);
    let (_, _, _, offered) = only_offer(&c.allocate(at(0)).offers);
    let cpus = offered.named("cpus");
    let reservation = mesos_common::resources::Reservation::new_dynamic(
        mesos_common::roles::Role::new("eng").unwrap(),
        Some("p".into()),
    );
    let reserved = cpus.push_reservation(&reservation).unwrap();
    let conversion =
        mesos_common::resources::ResourceConversion::new(cpus.clone(), reserved.clone());
    c.update_allocation(&fid("f"), &aid("a1"), &cpus, &[conversion])
        .unwrap();
    let snapshot = c.roles_snapshot();
    assert_eq!(snapshot.roles["eng"].reserved.get("cpus").value(), 4.0);
    // Declining the reserved cpus makes them available to eng only.
    c.recover_resources(&fid("f"), &aid("a1"), &reserved, None, false, at(0));
    add_framework(&mut c, "other", &["ops"]);
    c.request_allocation();
    let run = c.allocate(at(1));
    let (f, _, _, r) = only_offer(&run.offers);
    assert_eq!(f, "f");
    assert_eq!(r.reserved(Some("eng")).cpus(), Some(4.0));
    // An inconsistent request is refused without changing anything.
    let bogus = allocated("cpus:100", "eng");
    assert!(
        c.update_allocation(&fid("f"), &aid("a1"), &bogus, &[])
            .is_err()
    );
}

#[test]
fn update_available_needs_the_consumed_resources_unoffered() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:4;mem:100");
    let cpus = res("cpus:2");
    let reservation = mesos_common::resources::Reservation::new_dynamic(
        mesos_common::roles::Role::new("eng").unwrap(),
        None,
    );
    let reserve = mesos_common::resources::ResourceConversion::new(
        cpus.clone(),
        cpus.push_reservation(&reservation).unwrap(),
    );
    c.update_available(&aid("a1"), std::slice::from_ref(&reserve))
        .unwrap();
    assert_eq!(
        c.roles_snapshot().roles["eng"].reserved.get("cpus").value(),
        2.0
    );
    // Offer everything; now the same operation cannot apply.
    add_framework(&mut c, "f", &["ops"]);
    assert_eq!(c.allocate(at(0)).offers.len(), 1);
    let err = c.update_available(&aid("a1"), &[reserve]).unwrap_err();
    assert!(matches!(
        err,
        crate::allocator::AllocatorError::NotAvailable { .. }
    ));
}

#[test]
fn offer_constraints_exclude_agents_per_role() {
    use mesos_common::proto::v1::scheduler::attribute_constraint::{
        Predicate, Selector, predicate, selector,
    };
    use mesos_common::proto::v1::scheduler::offer_constraints::{
        RoleConstraints, role_constraints,
    };
    use mesos_common::proto::v1::scheduler::{AttributeConstraint, OfferConstraints};
    let mut c = core();
    for (id, rack) in [("a1", "r1"), ("a2", "r2")] {
        let mut s = agent_spec(id);
        s.attributes = vec![v0::Attribute {
            name: "rack".into(),
            r#type: v0::value::Type::Text as i32,
            text: Some(v0::value::Text { value: rack.into() }),
            ..Default::default()
        }];
        c.add_agent(aid(id), s, None, res("cpus:1"), HashMap::new());
    }
    let constraint = AttributeConstraint {
        selector: Selector {
            selector: Some(selector::Selector::AttributeName("rack".into())),
        },
        predicate: Predicate {
            predicate: Some(predicate::Predicate::TextMatches(predicate::TextMatches {
                regex: "r[2-9]".into(),
            })),
        },
    };
    let mut s = spec(&["*"]);
    s.offer_constraints = Some(OfferConstraints {
        role_constraints: [(
            "*".to_string(),
            RoleConstraints {
                groups: vec![role_constraints::Group {
                    attribute_constraints: vec![constraint],
                }],
            },
        )]
        .into(),
    });
    c.add_framework(fid("f"), s, HashMap::new(), true);
    let (_, _, agent, _) = only_offer(&c.allocate(at(0)).offers);
    assert_eq!(agent, "a2");
}

#[test]
fn maintenance_sends_one_inverse_offer_until_answered() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1");
    add_framework(&mut c, "f", &["*"]);
    assert_eq!(c.allocate(at(0)).offers.len(), 1);
    let unavailability = v0::Unavailability {
        start: v0::TimeInfo { nanoseconds: 1_000 },
        duration: None,
    };
    c.update_unavailability(&aid("a1"), Some(unavailability));
    let run = c.allocate(at(1));
    assert_eq!(run.inverse_offers.len(), 1);
    assert_eq!(run.inverse_offers[0].framework_id, fid("f"));
    c.request_allocation();
    assert!(
        c.allocate(at(2)).inverse_offers.is_empty(),
        "one outstanding"
    );
    let status = v0::allocator::InverseOfferStatus {
        status: v0::allocator::inverse_offer_status::Status::Accept as i32,
        framework_id: v0::FrameworkId { value: "f".into() },
        timestamp: v0::TimeInfo { nanoseconds: 5 },
    };
    c.update_inverse_offer(
        &aid("a1"),
        &fid("f"),
        Some(status),
        Some(&filters(30.0)),
        at(2),
    );
    assert_eq!(c.inverse_offer_statuses()[&aid("a1")].len(), 1);
    c.request_allocation();
    assert!(c.allocate(at(3)).inverse_offers.is_empty(), "filtered");
    c.request_allocation();
    assert_eq!(c.allocate(at(33)).inverse_offers.len(), 1, "filter expired");
}

pub(super) fn shared_volume(role: &str) -> mesos_common::resources::Resource {
    use mesos_common::resources::{
        DiskInfo, Persistence, RawValue, ReservationKind, ReservationSpec, ResourceSpec, Volume,
    };
    let mut spec = ResourceSpec::new("disk", RawValue::Scalar(10.0));
    spec.reservations = vec![ReservationSpec {
        kind: Some(ReservationKind::Dynamic),
        role: Some(role.into()),
        principal: None,
        labels: None,
    }];
    spec.disk = Some(DiskInfo {
        persistence: Some(Persistence {
            id: "vol1".into(),
            principal: None,
        }),
        volume: Some(Volume {
            container_path: "data".into(),
            host_path: None,
            mode: None,
        }),
        source: None,
    });
    spec.shared = true;
    spec.validate().unwrap()
}

#[test]
fn shared_volumes_are_offered_once_per_run_and_again_while_in_use() {
    let mut c = core();
    let mut total = res("cpus:2");
    total.add(shared_volume("eng"));
    c.add_agent(aid("a1"), agent_spec("a1"), None, total, HashMap::new());
    // Without SHARED_RESOURCES the volume is never offered.
    add_framework(&mut c, "plain", &["eng"]);
    let (_, _, _, r) = only_offer(&c.allocate(at(0)).offers);
    assert!(r.shared().is_empty());
    c.remove_framework(&fid("plain"));
    let mut s = spec(&["eng"]);
    s.capabilities.shared_resources = true;
    c.add_framework(fid("s1"), s.clone(), HashMap::new(), true);
    c.add_framework(fid("s2"), s, HashMap::new(), true);
    let run = c.allocate(at(1));
    let with_volume: Vec<_> = flatten(&run.offers)
        .into_iter()
        .filter(|o| !o.3.shared().is_empty())
        .collect();
    assert_eq!(
        with_volume.len(),
        1,
        "once per run: {:?}",
        flatten(&run.offers)
    );
    // While in use it is offered again in the next run (to either framework).
    c.request_allocation();
    let run = c.allocate(at(2));
    let again = flatten(&run.offers)
        .into_iter()
        .filter(|o| !o.3.shared().is_empty())
        .count();
    assert_eq!(again, 1);
}

#[test]
fn excluded_resource_names_do_not_count_for_fairness() {
    for (excluded, first) in [(false, "b"), (true, "a")] {
        let mut c = core_with(AllocatorOptions {
            fairness_excluded_resource_names: excluded
                .then(|| BTreeSet::from(["gpus".to_string()])),
            ..Default::default()
        });
        add_framework(&mut c, "fa", &["a"]);
        add_framework(&mut c, "fb", &["b"]);
        // a holds most gpus but few cpus; b holds more cpus.
        c.add_agent(
            aid("x"),
            agent_spec("x"),
            None,
            res("cpus:10;gpus:10"),
            HashMap::from([
                (fid("fa"), allocated("cpus:1;gpus:9", "a")),
                (fid("fb"), allocated("cpus:3", "b")),
            ]),
        );
        assert_eq!(c.role_order()[0], first, "excluded: {excluded}");
    }
}

#[test]
fn remote_region_agents_only_to_region_aware_frameworks() {
    let domain = |region: &str| v0::DomainInfo {
        fault_domain: Some(v0::domain_info::FaultDomain {
            region: v0::domain_info::fault_domain::RegionInfo {
                name: region.into(),
            },
            zone: v0::domain_info::fault_domain::ZoneInfo { name: "z".into() },
        }),
    };
    let mut c = core_with(AllocatorOptions {
        domain: Some(domain("home")),
        ..Default::default()
    });
    let mut far = agent_spec("far");
    far.domain = Some(domain("away"));
    c.add_agent(aid("far"), far, None, res("cpus:1"), HashMap::new());
    add_framework(&mut c, "local", &["*"]);
    assert!(c.allocate(at(0)).offers.is_empty());
    let mut s = spec(&["*"]);
    s.capabilities.region_aware = true;
    c.add_framework(fid("aware"), s, HashMap::new(), true);
    assert_eq!(only_offer(&c.allocate(at(1)).offers).0, "aware");
}

#[test]
fn hierarchical_roles_need_hierarchical_agents_and_refinements_the_capability() {
    let mut c = core();
    let mut old = agent_spec("old");
    old.capabilities.hierarchical_role = false;
    c.add_agent(aid("old"), old, None, res("cpus:1"), HashMap::new());
    add_framework(&mut c, "f", &["eng/dev"]);
    assert!(c.allocate(at(0)).offers.is_empty());
    // Refined reservations (eng -> eng/dev) only to RESERVATION_REFINEMENT.
    let cpus = res("cpus:2");
    let eng = cpus
        .push_reservation(&mesos_common::resources::Reservation::new_static(
            mesos_common::roles::Role::new("eng").unwrap(),
        ))
        .unwrap();
    let refined = eng
        .push_reservation(&mesos_common::resources::Reservation::new_dynamic(
            mesos_common::roles::Role::new("eng/dev").unwrap(),
            None,
        ))
        .unwrap();
    let mut total = refined;
    total.add_all(&res("mem:10"));
    c.add_agent(aid("new"), agent_spec("new"), None, total, HashMap::new());
    let (_, _, agent, r) = only_offer(&c.allocate(at(1)).offers);
    assert_eq!(agent, "new");
    assert_eq!(r.cpus(), None, "refined reservation withheld: {r}");
    let mut s = spec(&["eng/dev"]);
    s.capabilities.reservation_refinement = true;
    c.add_framework(fid("g"), s, HashMap::new(), true);
    let run = c.allocate(at(2));
    let (f, _, _, r) = only_offer(&run.offers);
    assert_eq!((f.as_str(), r.cpus()), ("g", Some(2.0)));
}

#[test]
fn random_sorters_allocate_everything_too() {
    let mut c = core_with(AllocatorOptions {
        role_sorter: crate::allocator::SorterKind::Random,
        framework_sorter: crate::allocator::SorterKind::Random,
        ..Default::default()
    });
    for i in 0..20 {
        add_agent(&mut c, &format!("a{i}"), "cpus:1");
    }
    add_framework(&mut c, "x", &["r1"]);
    add_framework(&mut c, "y", &["r2"]);
    let per = frameworks_of(&c.allocate(at(0)).offers);
    assert_eq!(per.values().sum::<usize>(), 20);
    assert_eq!(per.len(), 2, "{per:?}");
}

#[test]
fn invalid_offer_constraints_are_refused_with_mesos_messages() {
    use crate::allocator::{OfferConstraintsError, OfferConstraintsFilter, Re2Limits};
    use mesos_common::proto::v1::scheduler::attribute_constraint::{
        Predicate, Selector, predicate, selector,
    };
    use mesos_common::proto::v1::scheduler::offer_constraints::{
        RoleConstraints, role_constraints,
    };
    use mesos_common::proto::v1::scheduler::{AttributeConstraint, OfferConstraints};
    let with = |groups: Vec<role_constraints::Group>| OfferConstraints {
        role_constraints: [("r".to_string(), RoleConstraints { groups })].into(),
    };
    let limits = Re2Limits::default();
    assert_eq!(
        OfferConstraintsFilter::create(&with(vec![]), &limits).unwrap_err(),
        OfferConstraintsError::EmptyGroups("r".into())
    );
    assert!(matches!(
        OfferConstraintsFilter::create(
            &with(vec![role_constraints::Group {
                attribute_constraints: vec![]
            }]),
            &limits
        ),
        Err(OfferConstraintsError::EmptyGroup(_))
    ));
    let regex = |pattern: &str| AttributeConstraint {
        selector: Selector {
            selector: Some(selector::Selector::PseudoattributeType(
                selector::PseudoattributeType::Hostname as i32,
            )),
        },
        predicate: Predicate {
            predicate: Some(predicate::Predicate::TextMatches(predicate::TextMatches {
                regex: pattern.into(),
            })),
        },
    };
    let one = |c| {
        with(vec![role_constraints::Group {
            attribute_constraints: vec![c],
        }])
    };
    assert!(matches!(
        OfferConstraintsFilter::create(&one(regex("(")), &limits),
        Err(OfferConstraintsError::InvalidConstraint { .. })
    ));
    // Too complex for the limits: refused, not compiled without bound.
    let err =
        OfferConstraintsFilter::create(&one(regex("(a|b|c|d){50}[x-z]{20}")), &limits).unwrap_err();
    assert!(err.to_string().contains("too complex"), "{err}");
    // A full match: the hostname must match entirely.
    let filter = OfferConstraintsFilter::create(&one(regex("a|ab")), &limits).unwrap();
    let attrs = |host| crate::allocator::core::constraints::AgentAttributes {
        hostname: host,
        attributes: &[],
        domain: None,
    };
    assert!(!filter.is_agent_excluded("r", &attrs("ab")));
    assert!(filter.is_agent_excluded("r", &attrs("abc")));
    assert!(!filter.is_agent_excluded("other-role", &attrs("abc")));
}

#[test]
fn agents_found_idle_are_examined_again_after_relevant_events() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1");
    add_framework(&mut c, "f", &["*"]);
    let (_, _, _, r) = only_offer(&c.allocate(at(0)).offers);
    c.recover_resources(&fid("f"), &aid("a1"), &r, Some(&filters(1e6)), false, at(0));
    c.request_allocation();
    assert!(
        c.allocate(at(1)).offers.is_empty(),
        "filtered: the agent is idle now"
    );
    // A new framework may take it.
    add_framework(&mut c, "g", &["*"]);
    let (f, _, _, r) = only_offer(&c.allocate(at(2)).offers);
    assert_eq!(f, "g");
    c.recover_resources(&fid("g"), &aid("a1"), &r, Some(&filters(1e6)), false, at(2));
    c.request_allocation();
    assert!(c.allocate(at(3)).offers.is_empty());
    // New attributes drop the filters on the agent.
    let mut s = agent_spec("a1");
    s.attributes = vec![v0::Attribute {
        name: "rack".into(),
        r#type: v0::value::Type::Text as i32,
        text: Some(v0::value::Text { value: "r1".into() }),
        ..Default::default()
    }];
    c.update_agent(&aid("a1"), s, None);
    assert_eq!(c.allocate(at(4)).offers.len(), 1);
}

#[test]
fn update_framework_moves_roles_suppression_and_filters() {
    let mut c = core();
    add_agent(&mut c, "a1", "cpus:1");
    add_framework(&mut c, "f", &["old"]);
    let (_, role, _, r) = only_offer(&c.allocate(at(0)).offers);
    assert_eq!(role, "old");
    c.recover_resources(&fid("f"), &aid("a1"), &r, Some(&filters(1e6)), false, at(0));
    // Subscribing to "new" (suppressed) and leaving "old": nothing offered.
    let mut s = spec(&["new"]);
    s.suppressed_roles = ["new".to_string()].into();
    c.update_framework(&fid("f"), s);
    c.request_allocation();
    assert!(c.allocate(at(1)).offers.is_empty());
    assert!(
        !c.roles_snapshot().roles.contains_key("old"),
        "the old role is gone"
    );
    // Unsuppressing through an update revives the role.
    c.update_framework(&fid("f"), spec(&["new"]));
    let (_, role, _, _) = only_offer(&c.allocate(at(2)).offers);
    assert_eq!(role, "new");
    // Deactivation drops offers and filters; activation brings offers back.
    c.deactivate_framework(&fid("f"));
    c.request_allocation();
    assert!(c.allocate(at(3)).offers.is_empty());
}
