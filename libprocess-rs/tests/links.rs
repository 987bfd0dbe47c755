//! Links and `exited`: a peer runtime that shuts down, a peer port that closes its
//! connection, a connection refused, an unknown local process, a local process that
//! terminates, and the per-address fan-out.

mod common;

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};

use common::*;
use libprocess::filters::{self, Pattern};
use libprocess::{Context, LocalPid, Process, Upid, block_on};

/// Links on demand and reports each `exited` through a channel.
struct Watcher {
    exits: futures::channel::mpsc::UnboundedSender<Upid>,
}

impl Process for Watcher {
    fn exited(&mut self, pid: &Upid, _ctx: &mut Context<Self>) {
        let _ = self.exits.unbounded_send(pid.clone());
    }
}

fn watcher(
    rt: &libprocess::Runtime,
    id: &str,
) -> (
    LocalPid<Watcher>,
    futures::channel::mpsc::UnboundedReceiver<Upid>,
) {
    let (tx, rx) = futures::channel::mpsc::unbounded();
    (rt.spawn(id, Watcher { exits: tx }).unwrap(), rx)
}

fn link(w: &LocalPid<Watcher>, to: &Upid) {
    let to = to.clone();
    block_on(w.call(move |_, ctx| ctx.link(&to))).unwrap();
}

fn next_exit(rx: &mut futures::channel::mpsc::UnboundedReceiver<Upid>) -> Upid {
    use futures::StreamExt;
    // Bounded so a missing event fails the test instead of hanging it.
    block_on(libprocess::clock::timeout(IO_GUARD, rx.next()))
        .expect("no exited event in time")
        .expect("exited event")
}

#[test]
fn unknown_local_process_exits_at_once() {
    let rt = runtime();
    let (w, mut exits) = watcher(&rt, "w");
    let ghost = rt.upid("ghost");
    link(&w, &ghost);
    assert_eq!(next_exit(&mut exits), ghost);
}

#[test]
fn local_process_termination_reaches_local_linkers() {
    let rt = runtime();
    let (w, mut exits) = watcher(&rt, "w");
    let target = rt.spawn("target", Sink::default()).unwrap();
    link(&w, target.upid());
    target.terminate();
    assert_eq!(next_exit(&mut exits), *target.upid());
    block_on(target.terminated());
    assert!(!target.is_alive());
    // The id is free again once the process has finalized.
    rt.spawn("target", Sink::default()).expect("id reusable");
}

#[test]
fn connection_refused_exits_the_linkers() {
    let rt = runtime();
    let (w, mut exits) = watcher(&rt, "w");
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = Upid::new("master", Ipv4Addr::LOCALHOST, port);
    link(&w, &nobody);
    assert_eq!(next_exit(&mut exits), nobody);
    // A plain send to the same place is dropped with a warning and counted. A link
    // made after it observes the same failed connection, so its exit is the event to
    // wait on (no sleeping).
    rt.send_raw(&rt.upid("w"), &nobody, "x", "body");
    link(&w, &nobody);
    assert_eq!(next_exit(&mut exits), nobody);
    let dropped = rt
        .metrics()
        .counter("libprocess/outbound_dropped_connect_failed")
        .get();
    assert_eq!(dropped, 1, "the unlinked send was counted as dropped");
}

#[test]
fn peer_port_closing_exits_every_linker_of_that_address() {
    let rt = runtime();
    let (w1, mut exits1) = watcher(&rt, "w1");
    let (w2, mut exits2) = watcher(&rt, "w2");
    let (w3, mut exits3) = watcher(&rt, "w3");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let master = Upid::new("master", Ipv4Addr::LOCALHOST, port);
    let observer = Upid::new("slave-observer(1)", Ipv4Addr::LOCALHOST, port);
    link(&w1, &master);
    link(&w2, &observer);
    link(&w3, &master);
    // One persistent socket per address, reused for sends.
    rt.send_raw(w1.upid(), &master, "m", "1");
    rt.send_raw(w2.upid(), &observer, "m", "2");
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(IO_GUARD)).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while seen.windows(4).filter(|w| w == b"\r\n0\r").count() < 2 {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
    }
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "links and sends share one connection"
    );
    // w3 unlinks: it must not hear about the break.
    let m = master.clone();
    block_on(w3.call(move |_, ctx| ctx.unlink(&m))).unwrap();
    drop(conn);
    assert_eq!(next_exit(&mut exits1), master);
    assert_eq!(next_exit(&mut exits2), observer);
    let probe = rt.upid("never-was");
    link(&w3, &probe);
    assert_eq!(
        next_exit(&mut exits3),
        probe,
        "w3 saw no exit for the unlinked master"
    );
}

#[test]
fn peer_runtime_shutdown_exits_linkers_and_sends_resume_after_restart() {
    let rt = runtime();
    let (w, mut exits) = watcher(&rt, "w");
    let peer = runtime();
    let port = peer.address().port();
    let sink = peer.spawn("sink", Sink::default()).unwrap();
    let sink_pid = sink.upid().clone();
    let hello = filters::expect_raw("hello", Pattern::Any, &sink_pid);
    link(&w, &sink_pid);
    rt.send_raw(w.upid(), &sink_pid, "hello", "1");
    block_on(hello);
    peer.shutdown();
    assert_eq!(next_exit(&mut exits), sink_pid);

    // An agent "restart": bind the same port again; a new link and sends work.
    let mut config = libprocess::RuntimeConfig::local();
    config.port = port;
    let peer = libprocess::Runtime::bind(config).expect("rebind the same port");
    let sink = peer.spawn("sink", Sink::default()).unwrap();
    let again = filters::expect_raw("hello", Pattern::Any, sink.upid());
    link(&w, sink.upid());
    rt.send_raw(w.upid(), sink.upid(), "hello", "2");
    let (_, _, body) = block_on(again);
    assert_eq!(&body[..], b"2");
}

#[test]
fn relink_uses_a_fresh_connection_and_ignores_the_old_one() {
    let rt = runtime();
    let (w, mut exits) = watcher(&rt, "w");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let agent = Upid::new(
        "slave(1)",
        Ipv4Addr::LOCALHOST,
        listener.local_addr().unwrap().port(),
    );
    link(&w, &agent);
    let (old, _) = listener.accept().unwrap();
    let to = agent.clone();
    block_on(w.call(move |_, ctx| ctx.relink(&to))).unwrap();
    let (new, _) = listener.accept().unwrap();
    // Sends go over the new connection.
    rt.send_raw(w.upid(), &agent, "hello", "x");
    let mut new = new;
    new.set_read_timeout(Some(IO_GUARD)).unwrap();
    let mut buf = [0u8; 512];
    let n = new.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("POST /slave(1)/hello "));
    // The old connection breaking says nothing; the new one breaking exits.
    drop(old);
    let probe = rt.upid("nobody-here");
    link(&w, &probe);
    assert_eq!(
        next_exit(&mut exits),
        probe,
        "no exit from the replaced connection"
    );
    drop(new);
    assert_eq!(next_exit(&mut exits), agent);
}

#[test]
fn every_io_threads_setting_serves_links_and_http_and_frees_its_port() {
    // 0: the HTTP server and outbound connections on the actor thread;
    // 2: two actix-server workers and two outbound threads.
    let rt = runtime();
    let (w, mut exits) = watcher(&rt, "w");
    for io_threads in [0, 2] {
        let mut config = libprocess::RuntimeConfig::local();
        config.io_threads = io_threads;
        let peer = libprocess::Runtime::bind(config).unwrap();
        let port = peer.address().port();
        let sink = peer.spawn("sink", Sink::default()).unwrap();
        let hello = filters::expect_raw("hello", Pattern::Any, sink.upid());
        link(&w, sink.upid());
        rt.send_raw(w.upid(), sink.upid(), "hello", "x");
        block_on(hello);
        // Its outbound side answers too.
        let back = filters::expect_raw("pong", Pattern::Any, w.upid());
        peer.send_raw(sink.upid(), w.upid(), "pong", "y");
        block_on(back);
        let snapshot = get(peer.address(), "/metrics/snapshot", "");
        assert_eq!(snapshot.status, 200, "io_threads {io_threads}");
        let sink_pid = sink.upid().clone();
        peer.shutdown();
        assert_eq!(next_exit(&mut exits), sink_pid);
        let mut again = libprocess::RuntimeConfig::local();
        again.port = port;
        libprocess::Runtime::bind(again)
            .expect("the port is free after shutdown")
            .shutdown();
    }
}
