//! allocator-bench: allocation cycle times of the allocator core with the
//! parameters of Mesos's allocator benchmarks
//! (`hierarchical_allocator_tests.cpp` `HierarchicalAllocator_BENCHMARK_Test`
//! and `hierarchical_allocator_benchmarks.cpp` `LargeAndSmallQuota`).
//!
//! ```sh
//! cargo bench -p mesos-master --bench allocator-bench            # everything
//! cargo bench -p mesos-master --bench allocator-bench -- --quick # 1k/100 and 10k/1k only
//! ```
//!
//! Scenarios (single thread, the core driven directly, as Mesos's benchmark
//! drives its allocator process with a paused clock):
//! - `offer_all`: agents `cpus:24;mem:4096;disk:4096;ports:[31000-32000]`,
//!   each with `cpus:16;mem:2014;disk:1024` and 16 port ranges used by one
//!   framework (round robin), frameworks in role `*`: one allocation cycle
//!   that offers every agent's free resources. Offers are recovered between
//!   runs.
//! - `decline_all`: the same cluster; every offer is declined with an
//!   unbounded filter, then the next cycle is timed (Mesos: "DeclineOffers",
//!   1.06 s per round at 10k/1k). Rounds are timed until every agent is
//!   filtered for every framework (1k/100 and 5k/500) or for 20 rounds
//!   (larger clusters); then one more round is timed ("next round": with
//!   every filter in place, nothing left to offer, for the small clusters).
//! - `quota`: 2,500 roles with quota `cpus:1;mem:1024;disk:1024`, 500 with
//!   `cpus:4;mem:4096;disk:4096` (guarantees = limits), one framework each,
//!   3,000 agents `cpus:2;mem:2048;disk:2048`, min allocatable `cpus:0.01` or
//!   `mem:32`: the first cycle (Mesos: 15-17 s).
//! - `reregister`: what a new leader's allocator does in a reregistration
//!   storm after a failover (`failover` bench, issue 8): 10 frameworks in 4
//!   roles, then 40k agents `cpus:8;mem:16384;disk:100000` are added, each
//!   running 10 tasks `cpus:0.1;mem:32`, one of each framework (`add_agent`
//!   with `used`); one allocation cycle offers every agent; every offer is
//!   declined with the default filter (`recover_resources`). Each phase is
//!   timed; the figure per agent is the add phase divided by the agents.
//!
//! Each figure is the median of several runs of the allocation call, in CPU
//! time of the benchmark thread (the machine is shared with builds; CPU time
//! is what one core spends), printed for people and as one JSON line.

// The only unsafe code: reading the thread's CPU clock (no safe std API).
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::v0;
use mesos_common::resources::{
    Range, Ranges, Resource, ResourceLimits, ResourceQuantities, Resources, parse_resources,
};
use mesos_master::allocator::{AgentSpec, AllocatorCore, AllocatorOptions, FrameworkSpec, Quota};

fn agent_used() -> Resources {
    // 16 tasks: 16 cpus, some memory and disk, 16 single-port fragments
    // spread over the range (as Mesos's `fragment(31000-32000, 16)`).
    let mut used = parse_resources("cpus:16;mem:2014;disk:1024", "*").unwrap();
    let ranges: Vec<Range> = (0..16u64)
        .map(|i| Range {
            begin: 31000 + i * 60,
            end: 31000 + i * 60 + 10,
        })
        .collect();
    used.add(Resource::ranges("ports", Ranges::from_unnormalised(&ranges).unwrap()).unwrap());
    used.allocate("*");
    used
}

struct Cluster {
    core: AllocatorCore,
    frameworks: Vec<FrameworkId>,
}

fn cluster(agents: usize, frameworks: usize) -> Cluster {
    let mut core = AllocatorCore::new(AllocatorOptions {
        seed: Some(1),
        ..Default::default()
    });
    let ids: Vec<FrameworkId> = (0..frameworks)
        .map(|i| FrameworkId::new(&format!("framework-{i}")).unwrap())
        .collect();
    core.pause();
    for id in &ids {
        core.add_framework(
            id.clone(),
            FrameworkSpec {
                roles: ["*".to_string()].into(),
                ..Default::default()
            },
            HashMap::new(),
            true,
        );
    }
    let total = parse_resources("cpus:24;mem:4096;disk:4096;ports:[31000-32000]", "*").unwrap();
    let used = agent_used();
    for i in 0..agents {
        let id = AgentId::new(&format!("agent-{i}")).unwrap();
        core.add_agent(
            id,
            AgentSpec {
                hostname: format!("agent-{i}"),
                ..Default::default()
            },
            None,
            total.clone(),
            HashMap::from([(ids[i % frameworks].clone(), used.clone())]),
        );
    }
    core.resume();
    Cluster {
        core,
        frameworks: ids,
    }
}

type Offers = Vec<(FrameworkId, AgentId, Resources)>;

/// CPU time of this thread: the build machine is shared, so wall time would
/// count other processes' turns, and `/proc/thread-self/schedstat` only moves
/// at scheduler ticks.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn cycle(core: &mut AllocatorCore, now: Instant) -> (Duration, Offers) {
    core.request_allocation();
    let started = thread_cpu();
    let run = core.allocate(now);
    let elapsed = thread_cpu().saturating_sub(started);
    let mut offers = Vec::new();
    for a in run.offers {
        for (_, agents) in a.resources {
            for (agent, r) in agents {
                offers.push((a.framework_id.clone(), agent, r));
            }
        }
    }
    (elapsed, offers)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn offer_all(agents: usize, frameworks: usize, runs: usize) {
    let mut c = cluster(agents, frameworks);
    let now = Instant::now();
    let mut times = Vec::new();
    let mut offered = 0;
    for _ in 0..runs {
        let (t, offers) = cycle(&mut c.core, now);
        offered = offers.len();
        times.push(ms(t));
        for (f, a, r) in offers {
            c.core.recover_resources(&f, &a, &r, None, false, now);
        }
    }
    let m = median(times);
    println!(
        "offer_all     {agents:>6} agents {frameworks:>5} frameworks: {m:9.2} ms per cycle ({offered} offers; median of {runs})"
    );
    println!(
        "{{\"bench\":\"offer_all\",\"agents\":{agents},\"frameworks\":{frameworks},\"median_ms\":{m:.2},\"offers\":{offered},\"runs\":{runs}}}"
    );
}

fn decline_all(agents: usize, frameworks: usize, rounds_max: usize) {
    let mut c = cluster(agents, frameworks);
    let start = Instant::now();
    let refuse = v0::Filters {
        refuse_seconds: Some(f64::from(i32::MAX)),
    };
    let mut times = Vec::new();
    let mut offers_total = 0;
    let mut last_offers = usize::MAX;
    let mut round = 0;
    while round < rounds_max && last_offers > 0 {
        let now = start + Duration::from_secs(round as u64 + 1);
        let (t, offers) = cycle(&mut c.core, now);
        times.push(ms(t));
        last_offers = offers.len();
        offers_total += offers.len();
        for (f, a, r) in offers {
            c.core
                .recover_resources(&f, &a, &r, Some(&refuse), false, now);
        }
        round += 1;
    }
    // One more round with every filter in place.
    let (t, offers) = cycle(&mut c.core, start + Duration::from_secs(round as u64 + 1));
    let filtered_ms = ms(t);
    let m = median(times.clone());
    let max = times.iter().copied().fold(0.0, f64::max);
    println!(
        "decline_all   {agents:>6} agents {frameworks:>5} frameworks: {m:9.2} ms per round (median of {round} rounds, max {max:.2}; {offers_total} offers declined; next round {filtered_ms:.2} ms, {} offers)",
        offers.len()
    );
    println!(
        "{{\"bench\":\"decline_all\",\"agents\":{agents},\"frameworks\":{frameworks},\"median_ms\":{m:.2},\"max_ms\":{max:.2},\"next_round_ms\":{filtered_ms:.2},\"rounds\":{round}}}"
    );
    let _ = c.frameworks;
}

fn quota(small: usize, large: usize, runs: usize) {
    let mut times = Vec::new();
    let mut offered = 0;
    let agents = small / 5 + large * 5;
    for _ in 0..runs {
        let mut core = AllocatorCore::new(AllocatorOptions {
            seed: Some(1),
            min_allocatable_resources: vec![
                ResourceQuantities::parse("cpus:0.01").unwrap(),
                ResourceQuantities::parse("mem:32").unwrap(),
            ],
            ..Default::default()
        });
        core.pause();
        let total = parse_resources("cpus:2;mem:2048;disk:2048", "*").unwrap();
        for i in 0..agents {
            core.add_agent(
                AgentId::new(&format!("agent-{i}")).unwrap(),
                AgentSpec {
                    hostname: format!("agent-{i}"),
                    ..Default::default()
                },
                None,
                total.clone(),
                HashMap::new(),
            );
        }
        let mut roles = Vec::new();
        for i in 0..small {
            roles.push((format!("smallQuotaRole{i}"), "cpus:1;mem:1024;disk:1024"));
        }
        for i in 0..large {
            roles.push((format!("largeQuotaRole{i}"), "cpus:4;mem:4096;disk:4096"));
        }
        for (i, (role, _)) in roles.iter().enumerate() {
            core.add_framework(
                FrameworkId::new(&format!("framework-{i}")).unwrap(),
                FrameworkSpec {
                    roles: [role.clone()].into(),
                    ..Default::default()
                },
                HashMap::new(),
                true,
            );
        }
        for (role, q) in &roles {
            core.update_quota(
                role,
                Quota {
                    guarantees: ResourceQuantities::parse(q).unwrap(),
                    limits: ResourceLimits::parse(q).unwrap(),
                },
            );
        }
        core.resume();
        let (t, offers) = cycle(&mut core, Instant::now());
        offered = offers.len();
        times.push(ms(t));
    }
    let m = median(times);
    let roles = small + large;
    println!(
        "quota         {agents:>6} agents {roles:>5} roles:      {m:9.2} ms for the first cycle ({offered} offers; median of {runs})"
    );
    println!(
        "{{\"bench\":\"quota_cycle\",\"agents\":{agents},\"roles\":{roles},\"median_ms\":{m:.2},\"offers\":{offered},\"runs\":{runs}}}"
    );
}

/// Frameworks and roles of the `reregister` scenario.
const REREGISTER_FRAMEWORKS: usize = 10;
const REREGISTER_ROLES: [&str; 4] = ["*", "eng", "ops", "eng/batch"];
const REREGISTER_TASKS_PER_AGENT: usize = 10;
/// Agents whose inputs are built between two timed runs of `add_agent`.
const REREGISTER_BATCH: usize = 64;

/// The `used` map of agent `i`: one task of each framework (rotated so the
/// maps differ between agents), allocated to the framework's role.
fn reregister_used(ids: &[(FrameworkId, &str)], i: usize) -> HashMap<FrameworkId, Resources> {
    let task = parse_resources("cpus:0.1;mem:32", "*").unwrap();
    let mut used: HashMap<FrameworkId, Resources> = HashMap::new();
    for n in 0..REREGISTER_TASKS_PER_AGENT {
        let (id, role) = &ids[(i + n) % ids.len()];
        let mut r = task.clone();
        r.allocate(role);
        used.entry(id.clone()).or_default().add_all(&r);
    }
    used
}

fn reregister(agents: usize, runs: usize) {
    let mut add_times = Vec::new();
    let mut cycle_times = Vec::new();
    let mut recover_times = Vec::new();
    let mut offered = 0;
    for _ in 0..runs {
        let mut core = AllocatorCore::new(AllocatorOptions {
            seed: Some(1),
            ..Default::default()
        });
        let ids: Vec<(FrameworkId, &str)> = (0..REREGISTER_FRAMEWORKS)
            .map(|i| {
                (
                    FrameworkId::new(&format!("framework-{i}")).unwrap(),
                    REREGISTER_ROLES[i % REREGISTER_ROLES.len()],
                )
            })
            .collect();
        for (id, role) in &ids {
            core.add_framework(
                id.clone(),
                FrameworkSpec {
                    roles: [role.to_string()].into(),
                    ..Default::default()
                },
                HashMap::new(),
                true,
            );
        }
        let total = parse_resources("cpus:8;mem:16384;disk:100000", "*").unwrap();
        // Only `add_agent` is timed. The master decodes each agent's message
        // just before the call, so its inputs are in cache: they are built
        // here in small batches right before the timed calls (inputs built
        // for all agents up front would make the calls wait on memory).
        let mut add = Duration::ZERO;
        let mut next = 0;
        while next < agents {
            let batch: Vec<_> = (next..agents.min(next + REREGISTER_BATCH))
                .map(|i| {
                    (
                        AgentId::new(&format!("agent-{i}")).unwrap(),
                        AgentSpec {
                            hostname: format!("agent-{i}"),
                            ..Default::default()
                        },
                        total.clone(),
                        reregister_used(&ids, i),
                    )
                })
                .collect();
            next += batch.len();
            let started = thread_cpu();
            for (id, spec, total, used) in batch {
                core.add_agent(id, spec, None, total, used);
            }
            add += thread_cpu().saturating_sub(started);
        }
        add_times.push(ms(add));
        let now = Instant::now();
        let (t, offers) = cycle(&mut core, now);
        cycle_times.push(ms(t));
        offered = offers.len();
        let decline = v0::Filters::default();
        let started = thread_cpu();
        for (f, a, r) in &offers {
            core.recover_resources(f, a, r, Some(&decline), false, now);
        }
        recover_times.push(ms(thread_cpu().saturating_sub(started)));
    }
    let add = median(add_times);
    let cycle_ms = median(cycle_times);
    let recover = median(recover_times);
    let per_agent_us = add * 1000.0 / agents as f64;
    let per_offer_us = recover * 1000.0 / offered.max(1) as f64;
    println!(
        "reregister    {agents:>6} agents {REREGISTER_FRAMEWORKS:>5} frameworks: add {add:9.2} ms ({per_agent_us:.2} us per agent), cycle {cycle_ms:.2} ms ({offered} offers), decline {recover:.2} ms ({per_offer_us:.2} us per offer); median of {runs}"
    );
    println!(
        "{{\"bench\":\"reregister\",\"agents\":{agents},\"frameworks\":{REREGISTER_FRAMEWORKS},\"tasks_per_agent\":{REREGISTER_TASKS_PER_AGENT},\"add_ms\":{add:.2},\"add_per_agent_us\":{per_agent_us:.3},\"cycle_ms\":{cycle_ms:.2},\"decline_ms\":{recover:.2},\"decline_per_offer_us\":{per_offer_us:.3},\"offers\":{offered},\"runs\":{runs}}}"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only offer_all|decline_all|quota|reregister` runs one scenario.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let sizes: &[(usize, usize)] = if quick {
        &[(1000, 100), (10_000, 1000)]
    } else {
        &[
            (1000, 100),
            (5000, 500),
            (10_000, 1000),
            (20_000, 2000),
            (50_000, 3000),
        ]
    };
    for &(agents, frameworks) in sizes {
        if wanted("offer_all") {
            offer_all(agents, frameworks, 5);
        }
    }
    for &(agents, frameworks) in sizes {
        if wanted("decline_all") {
            // Small clusters run Mesos's 2 x frameworks rounds, until every
            // agent is filtered for every framework; large ones 20 rounds.
            let rounds = match (quick, frameworks <= 500) {
                (true, _) => 10,
                (false, true) => 2 * frameworks,
                (false, false) => 20,
            };
            decline_all(agents, frameworks, rounds);
        }
    }
    if wanted("quota") {
        quota(2500, 500, 3);
    }
    if wanted("reregister") {
        reregister(if quick { 10_000 } else { 40_000 }, 5);
    }
}
