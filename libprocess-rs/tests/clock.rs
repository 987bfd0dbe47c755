//! The runtime clock: paused, timers fire only on `Clock::advance`, in deadline
//! order, across runtimes. This binary owns the process-wide clock, so its tests
//! take a lock to run one at a time.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use libprocess::{Clock, Process, TimerId, block_on, clock};

static CLOCK: Mutex<()> = Mutex::new(());

#[derive(Default)]
struct Timers {
    fired: Vec<&'static str>,
    pending: Option<TimerId>,
}

impl Process for Timers {}

#[test]
fn paused_timers_fire_in_deadline_order_only_when_advanced() {
    let _lock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    Clock::pause();
    let start = Clock::now();
    let a = common::runtime();
    let b = common::runtime();
    let ta = a.spawn("t", Timers::default()).unwrap();
    let tb = b.spawn("t", Timers::default()).unwrap();
    block_on(ta.call(|_, ctx| {
        ctx.delay(Duration::from_secs(10), |t, _| t.fired.push("a10"));
        ctx.delay(Duration::from_secs(5), |t, _| t.fired.push("a5"));
        let cancelled = ctx.delay(Duration::from_secs(7), |t, _| t.fired.push("a7-cancelled"));
        assert!(ctx.cancel(cancelled));
    }))
    .unwrap();
    block_on(tb.call(|t, ctx| {
        t.pending = Some(ctx.delay(Duration::from_secs(60), |t, _| t.fired.push("b60")));
    }))
    .unwrap();

    Clock::advance(Duration::from_secs(4));
    assert_eq!(
        block_on(ta.call(|t, _| t.fired.clone())).unwrap(),
        Vec::<&str>::new()
    );
    Clock::advance(Duration::from_secs(1));
    assert_eq!(
        block_on(ta.call(|t, _| t.fired.clone())).unwrap(),
        vec!["a5"]
    );
    Clock::advance(Duration::from_secs(10));
    assert_eq!(
        block_on(ta.call(|t, _| t.fired.clone())).unwrap(),
        vec!["a5", "a10"]
    );
    assert_eq!(
        block_on(tb.call(|t, _| t.fired.clone())).unwrap(),
        Vec::<&str>::new()
    );
    assert_eq!(Clock::now() - start, Duration::from_secs(15));

    // Cancelling after it fired reports false; before, true.
    let fired_already = block_on(tb.call(|t, ctx| ctx.cancel(t.pending.take().unwrap()))).unwrap();
    assert!(fired_already, "b60 had not fired yet");
    Clock::advance(Duration::from_secs(100));
    assert_eq!(
        block_on(tb.call(|t, _| t.fired.clone())).unwrap(),
        Vec::<&str>::new()
    );
    Clock::resume();
    assert!(!Clock::paused());
    assert!(
        Clock::now() >= start + Duration::from_secs(115),
        "time never goes backwards"
    );
}

#[test]
fn sleep_and_timeout_follow_the_runtime_clock() {
    let _lock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    Clock::pause();
    // Both register their timers when created (here), so the advance below is
    // guaranteed to find them.
    let sleep = clock::sleep(Duration::from_secs(3600));
    let timeout = clock::timeout(Duration::from_secs(60), futures::future::pending::<()>());
    let waiter = std::thread::spawn(move || {
        block_on(sleep);
        block_on(timeout)
    });
    Clock::advance(Duration::from_secs(3600));
    assert_eq!(
        waiter.join().unwrap(),
        Err(clock::Elapsed(Duration::from_secs(60)))
    );
    let quick = block_on(clock::timeout(Duration::from_secs(1), async { 7 }));
    assert_eq!(quick, Ok(7));
    Clock::resume();
}

#[test]
fn spawned_futures_come_back_into_the_process() {
    let _lock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    Clock::pause();
    let rt = common::runtime();
    let t = rt.spawn("t", Timers::default()).unwrap();
    let (tx, rx) = futures::channel::oneshot::channel::<Vec<&'static str>>();
    block_on(t.call(move |_, ctx| {
        ctx.spawn(
            clock::sleep(Duration::from_secs(30)),
            move |t: &mut Timers, (), _| {
                t.fired.push("slept");
                let _ = tx.send(t.fired.clone());
            },
        );
    }))
    .unwrap();
    Clock::advance(Duration::from_secs(29));
    assert!(block_on(t.call(|t, _| t.fired.is_empty())).unwrap());
    Clock::advance(Duration::from_secs(1));
    assert_eq!(block_on(rx).unwrap(), vec!["slept"]);
    Clock::resume();
}
