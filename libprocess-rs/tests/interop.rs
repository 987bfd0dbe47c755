//! Interop with an independent libprocess implementation: Python `compactor`
//! 0.3.0 from PyPI (installed by ci/setup into the venv; `MESOS_RS_PYTHON` names the
//! interpreter). It sends HTTP/1.0 messages with Content-Length and only
//! `Libprocess-From`, and receives our chunked HTTP/1.1 messages through tornado.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use common::*;
use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use libprocess::{Context, Install, Process, Upid, block_on};

const PEER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/compactor_peer.py"
);

struct PyPeer {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl PyPeer {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(python())
            .arg(PEER)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the compactor peer (run ci/setup?)");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        PyPeer { child, lines }
    }

    fn line(&mut self) -> String {
        self.lines
            .next()
            .expect("a line from the compactor peer")
            .unwrap()
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `count` pings and reports the pong bodies once all arrived.
struct Pinger {
    to: Upid,
    count: usize,
    bodies: Vec<Bytes>,
    done: Option<oneshot::Sender<Vec<Bytes>>>,
}

impl Process for Pinger {
    fn install(t: &mut Install<Self>) {
        t.raw("pong", Self::pong);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for i in 0..self.count {
            ctx.send_raw(&self.to, "ping", format!("ping-{i}"));
        }
    }
}

impl Pinger {
    fn pong(&mut self, _from: Upid, body: Bytes, _ctx: &mut Context<Self>) {
        self.bodies.push(body);
        if self.bodies.len() == self.count
            && let Some(done) = self.done.take()
        {
            let _ = done.send(std::mem::take(&mut self.bodies));
        }
    }
}

struct Pong;

impl Process for Pong {
    fn install(t: &mut Install<Self>) {
        t.raw(
            "ping",
            |_: &mut Pong, from: Upid, body: Bytes, ctx: &mut Context<Pong>| {
                ctx.send_raw(&from, "pong", body)
            },
        );
    }
}

#[test]
fn we_ping_compactor_and_it_answers_everything_in_order() {
    let mut peer = PyPeer::start(&["serve"]);
    let pong: Upid = peer.line().parse().unwrap();
    let rt = runtime();
    let (done, all) = oneshot::channel();
    let count = 300;
    rt.spawn(
        "pinger",
        Pinger {
            to: pong,
            count,
            bodies: vec![],
            done: Some(done),
        },
    )
    .unwrap();
    let bodies = block_on(all).unwrap();
    let expected: Vec<Bytes> = (0..count)
        .map(|i| Bytes::from(format!("ping-{i}")))
        .collect();
    assert_eq!(bodies, expected);
}

#[test]
fn compactor_pings_us_and_we_answer_everything_in_order() {
    let rt = runtime();
    let pong = rt.spawn("pong", Pong).unwrap();
    let mut peer = PyPeer::start(&["client", &pong.upid().to_string(), "300"]);
    assert!(peer.line().starts_with("client "));
    assert_eq!(peer.line(), "pongs 300 in-order");
}

struct Watcher {
    exits: mpsc::UnboundedSender<Upid>,
}

impl Process for Watcher {
    fn exited(&mut self, pid: &Upid, _ctx: &mut Context<Self>) {
        let _ = self.exits.unbounded_send(pid.clone());
    }
}

#[test]
fn killing_the_compactor_process_exits_our_linkers() {
    let mut peer = PyPeer::start(&["serve"]);
    let pong: Upid = peer.line().parse().unwrap();
    let rt = runtime();
    let (tx, mut exits) = mpsc::unbounded();
    let w = rt.spawn("w", Watcher { exits: tx }).unwrap();
    let (pinged, answered) = oneshot::channel();
    // Make sure the link's connection is up (a ping answered) before the kill.
    rt.spawn(
        "pinger",
        Pinger {
            to: pong.clone(),
            count: 1,
            bodies: vec![],
            done: Some(pinged),
        },
    )
    .unwrap();
    let to = pong.clone();
    block_on(w.call(move |_, ctx| ctx.link(&to))).unwrap();
    block_on(answered).unwrap();
    peer.child.kill().unwrap();
    peer.child.wait().unwrap();
    assert_eq!(block_on(exits.next()), Some(pong));
}

#[test]
fn compactor_linked_to_us_sees_our_runtime_go_away() {
    let rt = runtime();
    let sink = rt.spawn("sink", Sink::default()).unwrap();
    let hello =
        libprocess::filters::expect_raw("hello", libprocess::filters::Pattern::Any, sink.upid());
    let mut peer = PyPeer::start(&["link", &sink.upid().to_string()]);
    assert!(peer.line().starts_with("linked "));
    // The peer's message arrived, so its connection (the link) is up.
    block_on(hello);
    rt.shutdown();
    assert_eq!(peer.line(), format!("exited {}", sink.upid()));
    let _ = peer.child.stdin.take().map(|mut s| s.write_all(b""));
}
