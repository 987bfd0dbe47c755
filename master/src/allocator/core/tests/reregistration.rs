//! An agent reregistering with running tasks (`add_agent` with `used`, as
//! after a master failover): its tasks count in the roles, sorters and the
//! agent exactly like tasks launched from offers here, whether a
//! framework's resources are in one role (the common case, taken without
//! regrouping) or in several (a multi-role framework's tasks).

use std::collections::{BTreeSet, HashMap};

use super::super::{AllocatorOptions, RolesSnapshot};
use super::allocation::shared_volume;
use super::*;

/// (allocated, offered or allocated) of a role, as printed quantities.
fn quantities(s: &RolesSnapshot, role: &str) -> (String, String) {
    let info = &s.roles[role];
    (
        info.allocated.to_string(),
        info.offered_or_allocated.to_string(),
    )
}

#[test]
fn reregistered_tasks_count_in_roles_sorters_and_the_agent() {
    let mut c = core();
    add_framework(&mut c, "f", &["eng"]);
    add_framework(&mut c, "g", &["ops/web"]);
    add_framework(&mut c, "h", &["eng", "ops"]);
    // h runs tasks in two roles: one entry holding both.
    let mut h_used = allocated("cpus:1", "eng");
    h_used.add_all(&allocated("mem:10", "ops"));
    c.add_agent(
        aid("a"),
        agent_spec("a"),
        None,
        res("cpus:8;mem:100"),
        HashMap::from([
            (fid("f"), allocated("cpus:2;mem:20", "eng")),
            (fid("g"), allocated("cpus:3", "ops/web")),
            (fid("h"), h_used),
        ]),
    );
    let s = c.roles_snapshot();
    assert_eq!(
        quantities(&s, "eng"),
        ("cpus:3; mem:20".into(), "cpus:3; mem:20".into())
    );
    assert_eq!(
        quantities(&s, "ops/web"),
        ("cpus:3".into(), "cpus:3".into())
    );
    // Allocation rolls up the subrole; the sorter's figure is ops' own.
    assert_eq!(
        quantities(&s, "ops"),
        ("cpus:3; mem:10".into(), "mem:10".into())
    );
    assert_eq!(s.roles["eng"].frameworks, vec![fid("f"), fid("h")]);
    assert_eq!(s.roles["ops"].frameworks, vec![fid("h")]);
    assert_eq!(s.roles["ops/web"].frameworks, vec![fid("g")]);
    assert_eq!(s.roles["eng"].dominant_share, 3.0 / 8.0);
    assert_eq!(s.roles["ops/web"].dominant_share, 3.0 / 8.0);
    assert_eq!(s.offered_or_allocated.to_string(), "cpus:6; mem:30");

    // What is left on the agent is exactly total - used.
    for id in ["f", "g", "h"] {
        c.deactivate_framework(&fid(id));
    }
    add_framework(&mut c, "z", &["z"]);
    let (f, role, agent, offered) = only_offer(&c.allocate(at(0)).offers);
    assert_eq!((f.as_str(), role.as_str(), agent.as_str()), ("z", "z", "a"));
    assert_eq!(offered, allocated("cpus:2;mem:70", "z"));

    // Mixed roles cannot be given back in one call: ignored, nothing moves.
    let ignored = c.ignored_calls();
    let mut mixed = allocated("cpus:1", "eng");
    mixed.add_all(&allocated("mem:10", "ops"));
    c.recover_resources(&fid("h"), &aid("a"), &mixed, None, false, at(0));
    assert_eq!(c.ignored_calls(), ignored + 1);
    assert_eq!(quantities(&c.roles_snapshot(), "eng").1, "cpus:3; mem:20");

    // Tasks finishing give everything back.
    let finished = [
        ("f", allocated("cpus:2;mem:20", "eng")),
        ("g", allocated("cpus:3", "ops/web")),
        ("h", allocated("cpus:1", "eng")),
        ("h", allocated("mem:10", "ops")),
    ];
    for (id, r) in &finished {
        c.recover_resources(&fid(id), &aid("a"), r, None, true, at(0));
    }
    assert_eq!(c.ignored_calls(), ignored + 1);
    let s = c.roles_snapshot();
    assert_eq!(quantities(&s, "eng"), ("{}".into(), "{}".into()));
    assert_eq!(quantities(&s, "ops"), ("{}".into(), "{}".into()));
    assert_eq!(s.offered_or_allocated.to_string(), "cpus:2; mem:70");
    // f and h still subscribe to eng; nothing ties g to ops/web but its
    // subscription.
    assert_eq!(s.roles["eng"].frameworks, vec![fid("f"), fid("h")]);
}

#[test]
fn reregistered_tasks_of_frameworks_not_back_yet_count_once_they_are() {
    let mut c = core();
    c.add_agent(
        aid("a"),
        agent_spec("a"),
        None,
        res("cpus:4"),
        HashMap::from([(fid("late"), allocated("cpus:3", "eng"))]),
    );
    // Held on the agent, unknown to the roles until the framework is added.
    assert!(!c.roles_snapshot().roles.contains_key("eng"));
    add_framework(&mut c, "other", &["ops"]);
    let (_, _, _, offered) = only_offer(&c.allocate(at(0)).offers);
    assert_eq!(offered, allocated("cpus:1", "ops"));
    c.add_framework(
        fid("late"),
        spec(&["eng"]),
        HashMap::from([(aid("a"), allocated("cpus:3", "eng"))]),
        true,
    );
    let s = c.roles_snapshot();
    assert_eq!(quantities(&s, "eng"), ("cpus:3".into(), "cpus:3".into()));
    assert_eq!(s.roles["eng"].dominant_share, 3.0 / 4.0);
}

#[test]
fn a_shared_volume_in_use_by_two_frameworks_counts_once_for_their_role() {
    let mut c = core();
    let mut s = spec(&["eng"]);
    s.capabilities.shared_resources = true;
    c.add_framework(fid("s1"), s.clone(), HashMap::new(), true);
    c.add_framework(fid("s2"), s, HashMap::new(), true);
    let volume = shared_volume("eng");
    let mut total = res("cpus:2");
    total.add(volume.clone());
    let mut used = Resources::from(volume);
    used.allocate("eng");
    c.add_agent(
        aid("a"),
        agent_spec("a"),
        None,
        total,
        HashMap::from([(fid("s1"), used.clone()), (fid("s2"), used.clone())]),
    );
    let disk = |c: &mut AllocatorCore| {
        c.roles_snapshot().roles["eng"]
            .offered_or_allocated
            .get("disk")
            .value()
    };
    assert_eq!(disk(&mut c), 10.0);
    c.recover_resources(&fid("s1"), &aid("a"), &used, None, true, at(0));
    assert_eq!(disk(&mut c), 10.0, "s2 still holds it");
    c.recover_resources(&fid("s2"), &aid("a"), &used, None, true, at(0));
    assert_eq!(disk(&mut c), 0.0);
}

#[test]
fn a_fairness_excluded_name_first_seen_on_a_later_agent_is_excluded() {
    // `fpgas` is not interned in advance (unlike cpus, mem, disk, gpus):
    // its exclusion flag appears when an agent first brings it.
    for (excluded, first) in [(false, "b"), (true, "a")] {
        let mut c = core_with(AllocatorOptions {
            fairness_excluded_resource_names: excluded
                .then(|| BTreeSet::from(["fpgas".to_string()])),
            ..Default::default()
        });
        add_framework(&mut c, "fa", &["a"]);
        add_framework(&mut c, "fb", &["b"]);
        add_agent(&mut c, "plain", "cpus:10");
        c.add_agent(
            aid("x"),
            agent_spec("x"),
            None,
            res("cpus:10;fpgas:10"),
            HashMap::from([
                (fid("fa"), allocated("cpus:1;fpgas:9", "a")),
                (fid("fb"), allocated("cpus:3", "b")),
            ]),
        );
        assert_eq!(c.role_order()[0], first, "excluded: {excluded}");
    }
}

#[test]
fn offers_of_a_run_are_merged_per_agent_in_the_order_made() {
    use super::super::allocate::merge_offers;
    let merged = merge_offers(vec![
        (aid("b"), allocated("cpus:1", "r")),
        (aid("a"), allocated("cpus:2", "r")),
        (aid("b"), allocated("mem:5;ports:[1-2]", "r")),
        (aid("c"), allocated("cpus:3", "r")),
        (aid("b"), allocated("cpus:1;ports:[3-4]", "r")),
    ]);
    let agents: Vec<String> = merged.keys().map(|a| a.to_string()).collect();
    assert_eq!(agents, ["a", "b", "c"]);
    assert_eq!(merged[&aid("a")], allocated("cpus:2", "r"));
    assert_eq!(
        merged[&aid("b")].to_string(),
        allocated("cpus:2;mem:5;ports:[1-4]", "r").to_string()
    );
    assert_eq!(merged[&aid("c")], allocated("cpus:3", "r"));
}

#[test]
fn unallocated_copies_match_clone_then_unallocate() {
    use super::super::unallocated;
    let two_roles = {
        let mut r = allocated("cpus:1;mem:10;ports:[1-5]", "eng");
        r.add_all(&allocated("cpus:2;ports:[6-9]", "ops"));
        r
    };
    let with_volume = {
        let mut r = Resources::from(shared_volume("eng"));
        r.add(shared_volume("eng"));
        r.add_all(&res("cpus:1"));
        r.allocate("eng");
        r
    };
    for resources in [
        Resources::new(),
        res("cpus:1;mem:2"),
        allocated("cpus:1;mem:2;disk:3", "eng"),
        two_roles,
        with_volume,
    ] {
        let mut expected = resources.clone();
        expected.unallocate();
        let got = unallocated(&resources);
        assert_eq!(got.to_string(), expected.to_string(), "{resources}");
        let counts = |r: &Resources| r.iter_counted().map(|(_, n)| n).collect::<Vec<_>>();
        assert_eq!(counts(&got), counts(&expected), "{resources}");
        assert!(got.iter().all(|r| r.allocation_role().is_none()));
    }
}
