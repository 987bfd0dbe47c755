//! A process whose mailbox never empties must not starve the others on its
//! actor thread, nor its own futures' continuations (the master flooded by
//! 10k agents retrying registrations never saw its registrar's answers).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libprocess::{Context, Process, block_on};

/// Keeps its own mailbox busy: every turn dispatches itself another one.
struct Busy {
    turns: Arc<AtomicU64>,
}

impl Process for Busy {}

fn spin(b: &mut Busy, ctx: &mut Context<Busy>) {
    b.turns.fetch_add(1, Ordering::Relaxed);
    ctx.local_pid().dispatch(spin);
}

struct Quiet;

impl Process for Quiet {}

/// Bounded wait for a oneshot from a plain thread.
fn within<T: Send + 'static>(rx: futures::channel::oneshot::Receiver<T>) -> Option<T> {
    let (tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(block_on(rx).ok());
    });
    done.recv_timeout(Duration::from_secs(20)).ok().flatten()
}

#[test]
fn a_busy_process_lets_its_continuations_and_its_neighbours_run() {
    let rt = common::runtime();
    let turns = Arc::new(AtomicU64::new(0));
    let busy = rt
        .spawn(
            "busy",
            Busy {
                turns: turns.clone(),
            },
        )
        .unwrap();
    let quiet = rt.spawn("quiet", Quiet).unwrap();

    // Start the flood, and from inside it spawn a future that is ready at
    // once: its continuation must get a turn although the mailbox is never
    // empty.
    let (tx, continued) = futures::channel::oneshot::channel();
    busy.dispatch(move |b, ctx| {
        spin(b, ctx);
        ctx.spawn(async { 7 }, move |_, n: i32, _| {
            let _ = tx.send(n);
        });
    });
    assert_eq!(within(continued), Some(7), "the continuation never ran");

    // Another process on the same actor thread still gets its turns.
    let (tx, answered) = futures::channel::oneshot::channel();
    quiet.dispatch(move |_, _| {
        let _ = tx.send(());
    });
    assert_eq!(within(answered), Some(()), "the neighbour was starved");
    assert!(turns.load(Ordering::Relaxed) > 0);
    busy.terminate();
}
