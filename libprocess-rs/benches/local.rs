//! Benchmark (a): in-process messaging.
//!
//! - `dispatch`: closures queued with `LocalPid::dispatch` from a plain thread
//!   (fire and forget, like actix `do_send`), until the process has run them all.
//! - `send_local`: one process sends raw messages to another in the same runtime
//!   (the install-table path: name lookup, handler call), no HTTP.
//! - `call_round_trip`: `LocalPid::call` awaited one at a time (ask).
//!
//! Run: `cargo bench -p libprocess --bench local`. Prints a human line and a JSON
//! line per figure; each figure is the median of RUNS runs.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::channel::oneshot;
use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid, block_on};

const RUNS: usize = 5;

#[derive(Default)]
struct Counter {
    n: u64,
    target: u64,
    done: Option<oneshot::Sender<()>>,
}

impl Process for Counter {
    fn install(t: &mut Install<Self>) {
        t.raw(
            "inc",
            |c: &mut Counter, _: Upid, _: Bytes, _: &mut Context<Counter>| c.bump(),
        );
    }
}

impl Counter {
    fn bump(&mut self) {
        self.n += 1;
        if self.n == self.target
            && let Some(done) = self.done.take()
        {
            let _ = done.send(());
        }
    }
}

struct Sender {
    to: Upid,
}

impl Process for Sender {}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let rt = Runtime::bind(RuntimeConfig::local()).expect("bind");
    let n: u64 = 2_000_000;

    let mut rates = Vec::new();
    for run in 0..RUNS {
        let counter = rt
            .spawn(&format!("dispatch-{run}"), Counter::default())
            .unwrap();
        let (tx, rx) = oneshot::channel();
        block_on(counter.call(move |c, _| {
            c.target = n;
            c.done = Some(tx);
        }))
        .unwrap();
        let start = Instant::now();
        for _ in 0..n {
            counter.dispatch(|c, _| c.bump());
        }
        block_on(rx).unwrap();
        rates.push(n as f64 / start.elapsed().as_secs_f64());
        counter.terminate();
    }
    report("dispatch", n, median(rates));

    let mut rates = Vec::new();
    for run in 0..RUNS {
        let counter = rt
            .spawn(&format!("send-{run}"), Counter::default())
            .unwrap();
        let (tx, rx) = oneshot::channel();
        block_on(counter.call(move |c, _| {
            c.target = n;
            c.done = Some(tx);
        }))
        .unwrap();
        let sender = rt
            .spawn(
                &format!("sender-{run}"),
                Sender {
                    to: counter.upid().clone(),
                },
            )
            .unwrap();
        let start = Instant::now();
        sender.dispatch(move |s, ctx| {
            for _ in 0..n {
                ctx.send_raw(&s.to, "inc", Bytes::new());
            }
        });
        block_on(rx).unwrap();
        rates.push(n as f64 / start.elapsed().as_secs_f64());
        counter.terminate();
        sender.terminate();
    }
    report("send_local", n, median(rates));

    let calls = 100_000;
    let counter = rt.spawn("ask", Counter::default()).unwrap();
    let mut medians = Vec::new();
    let mut rates = Vec::new();
    for _ in 0..RUNS {
        let mut lat = Vec::with_capacity(calls);
        let start = Instant::now();
        for _ in 0..calls {
            let t = Instant::now();
            block_on(counter.call(|c, _| c.n)).unwrap();
            lat.push(t.elapsed());
        }
        rates.push(calls as f64 / start.elapsed().as_secs_f64());
        lat.sort();
        medians.push(lat[calls / 2]);
    }
    let rate = median(rates);
    let p50 = medians
        .iter()
        .map(Duration::as_secs_f64)
        .collect::<Vec<_>>();
    let p50_us = median(p50) * 1e6;
    println!(
        "call_round_trip: {calls} asks from a plain thread: {rate:.0} calls/s, p50 {p50_us:.1} us"
    );
    println!(
        "{{\"bench\":\"call_round_trip\",\"calls\":{calls},\"calls_per_s\":{rate:.0},\"p50_us\":{p50_us:.2}}}"
    );
    rt.shutdown();
}

fn report(name: &str, n: u64, rate: f64) {
    println!(
        "{name}: {n} messages, median of {RUNS} runs: {:.2} M msg/s",
        rate / 1e6
    );
    println!(
        "{{\"bench\":\"{name}\",\"messages\":{n},\"runs\":{RUNS},\"median_msgs_per_s\":{rate:.0}}}"
    );
}
