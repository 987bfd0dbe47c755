//! Resources arithmetic on realistic agent vectors, in release builds.
//!
//! An agent vector is cpus, mem, disk and 16 port ranges, three times:
//! unreserved, reserved for `role1` and reserved for `role2` (12 entries).
//! Prints each figure for humans and as one JSON line; every figure is the
//! median of several runs. Mesos's counterparts are the
//! `Resources_Scalar_Arithmetic_BENCHMARK_Test`, `Resources_Contains_BENCHMARK_Test`
//! and `Resources_Ranges_BENCHMARK_Test` suites in `src/tests/resources_tests.cpp`.
//!
//! Run: `cargo bench -p mesos-common --bench resources`

use std::hint::black_box;
use std::time::Instant;

use mesos_common::resources::{ResourceQuantities, Resources, parse_resources};

const RUNS: usize = 7;

fn ports(offset: u64) -> String {
    let ranges: Vec<String> = (0..16)
        .map(|i| {
            let begin = 31000 + offset + i * 100;
            format!("{begin}-{}", begin + 49)
        })
        .collect();
    format!("[{}]", ranges.join(","))
}

fn agent(scale: f64) -> Resources {
    let mut text = String::new();
    for (role, share) in [("*", 0.5), ("role1", 0.25), ("role2", 0.25)] {
        let prefix = |name: &str| {
            if role == "*" {
                name.to_string()
            } else {
                format!("{name}({role})")
            }
        };
        let offset = match role {
            "*" => 0,
            "role1" => 20,
            _ => 40,
        };
        text.push_str(&format!(
            "{}:{};{}:{};{}:{};{}:{};",
            prefix("cpus"),
            32.0 * share * scale,
            prefix("mem"),
            131072.0 * share * scale,
            prefix("disk"),
            1048576.0 * share * scale,
            prefix("ports"),
            ports(offset),
        ));
    }
    parse_resources(&text, "*").expect("the benchmark's agent string parses")
}

/// Runs `op` `iterations` times per run and returns the median ns per op.
fn median_ns(iterations: u32, mut op: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                op();
            }
            start.elapsed().as_nanos() as f64 / f64::from(iterations)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[RUNS / 2]
}

fn report(bench: &str, unit: &str, value: f64, human: &str) {
    println!("{bench:<36} {value:>12.1} {unit:<7} {human}");
    println!("{{\"bench\":\"{bench}\",\"{unit}\":{value:.1},\"runs\":{RUNS}}}");
}

fn main() {
    let a = agent(1.0);
    let b = agent(0.5);
    assert_eq!(a.len(), 12);
    let request = parse_resources("cpus:1;mem:128", "*").expect("request parses");
    let reserved_request = parse_resources(
        "cpus(role1):1;mem(role1):128;ports(role1):[31020-31025]",
        "*",
    )
    .expect("request parses");
    let not_contained = parse_resources("cpus:1000", "*").expect("parses");

    let ns = median_ns(100_000, || {
        black_box(black_box(&a) + black_box(&b));
    });
    report(
        "resources_add",
        "ns_per_op",
        ns,
        "a + b, 12-entry agent vectors (clone included)",
    );

    let mut acc = a.clone();
    let ns = median_ns(100_000, || {
        acc += black_box(&b);
        acc -= black_box(&b);
    });
    report(
        "resources_add_sub_in_place",
        "ns_per_op",
        ns,
        "a += b; a -= b (pair)",
    );

    let sum = &a + &b;
    let ns = median_ns(100_000, || {
        black_box(black_box(&sum) - black_box(&b));
    });
    report("resources_subtract", "ns_per_op", ns, "(a + b) - b");

    let ns = median_ns(1_000_000, || {
        black_box(black_box(&a).contains(black_box(&b)));
    });
    report(
        "resources_contains",
        "ns_per_op",
        ns,
        "a.contains(b), every entry matched",
    );

    let ns = median_ns(1_000_000, || {
        black_box(black_box(&a).contains(black_box(&request)));
    });
    report(
        "resources_contains_scalars",
        "ns_per_op",
        ns,
        "agent.contains(cpus:1;mem:128)",
    );

    let ns = median_ns(1_000_000, || {
        black_box(black_box(&a).contains(black_box(&reserved_request)));
    });
    report(
        "resources_contains_reserved",
        "ns_per_op",
        ns,
        "agent.contains(role1 cpus, mem, ports)",
    );

    let ns = median_ns(1_000_000, || {
        black_box(black_box(&a).contains(black_box(&not_contained)));
    });
    report(
        "resources_contains_miss",
        "ns_per_op",
        ns,
        "agent.contains(cpus:1000) = false",
    );

    let ns = median_ns(100_000, || {
        black_box(black_box(&a).allocatable_to("role1"));
    });
    report(
        "resources_filter_allocatable",
        "ns_per_op",
        ns,
        "a.allocatable_to(role1)",
    );

    let agents: Vec<Resources> = (0..50_000).map(|i| agent(1.0 + (i % 7) as f64)).collect();
    let ms = median_ns(1, || {
        let mut total = Resources::new();
        for agent in &agents {
            total += agent;
        }
        black_box(total);
    }) / 1e6;
    report(
        "resources_sum_50k_agents",
        "ms",
        ms,
        "total += agent for 50,000 agents",
    );

    let ms = median_ns(1, || {
        let mut total = ResourceQuantities::new();
        for agent in &agents {
            total += &ResourceQuantities::from_resources(agent);
        }
        black_box(total);
    }) / 1e6;
    report(
        "quantities_sum_50k_agents",
        "ms",
        ms,
        "quantities of 50,000 agents summed",
    );

    let text = format!("cpus:32;mem:131072;disk:1048576;ports:{}", ports(0));
    let ns = median_ns(100_000, || {
        black_box(parse_resources(black_box(&text), "*").ok());
    });
    report(
        "resources_parse_agent_flag",
        "ns_per_op",
        ns,
        "parse --resources (4 resources)",
    );
}
