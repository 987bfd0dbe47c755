//! Processes inside one runtime: spawning, local delivery, dispatch and call,
//! links between local processes, terminate, spawned futures, message filters.

use std::time::Duration;

use bytes::Bytes;
use libprocess::filters::{self, Pattern};
use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid};

#[derive(Clone, PartialEq, prost::Message)]
struct Ping {
    #[prost(uint64, tag = "1")]
    seq: u64,
}

impl prost::Name for Ping {
    const NAME: &'static str = "Ping";
    const PACKAGE: &'static str = "test";
}

#[derive(Clone, PartialEq, prost::Message)]
struct Pong {
    #[prost(uint64, tag = "1")]
    seq: u64,
}

impl prost::Name for Pong {
    const NAME: &'static str = "Pong";
    const PACKAGE: &'static str = "test";
}

/// Answers every Ping with a Pong carrying the same sequence number.
struct Ponger {
    pings: Vec<u64>,
    raw: Vec<(String, Bytes)>,
}

impl Process for Ponger {
    fn install(t: &mut Install<Self>) {
        t.message(Self::ping);
        t.raw("raw/name", Self::raw);
    }
}

impl Ponger {
    fn ping(&mut self, _from: Upid, msg: Ping, ctx: &mut Context<Self>) {
        self.pings.push(msg.seq);
        ctx.reply(&Pong { seq: msg.seq });
    }

    fn raw(&mut self, from: Upid, body: Bytes, _ctx: &mut Context<Self>) {
        self.raw.push((from.to_string(), body));
    }
}

/// Records what reaches it.
#[derive(Default)]
struct Recorder {
    pongs: Vec<u64>,
    exited: Vec<Upid>,
    initialized: bool,
}

impl Process for Recorder {
    fn install(t: &mut Install<Self>) {
        t.message(Self::pong);
    }

    fn initialize(&mut self, _ctx: &mut Context<Self>) {
        self.initialized = true;
    }

    fn exited(&mut self, pid: &Upid, _ctx: &mut Context<Self>) {
        self.exited.push(pid.clone());
    }
}

impl Recorder {
    fn pong(&mut self, _from: Upid, msg: Pong, _ctx: &mut Context<Self>) {
        self.pongs.push(msg.seq);
    }
}

fn runtime() -> Runtime {
    Runtime::bind(RuntimeConfig::local()).expect("bind loopback")
}

use libprocess::block_on;

#[test]
fn local_messages_are_delivered_in_order_and_replied() {
    let rt = runtime();
    let ponger = rt.spawn("ponger", Ponger { pings: vec![], raw: vec![] }).unwrap();
    let rec = rt.spawn("recorder", Recorder::default()).unwrap();
    let to = ponger.upid().clone();
    let first = filters::expect::<Pong>(ponger.upid(), rec.upid());
    rec.dispatch(move |_, ctx| {
        for seq in 0..1000 {
            ctx.send(&to, &Ping { seq });
        }
    });
    // Local delivery is synchronous and mailboxes are FIFO: once the recorder has
    // run the dispatch, every ping is queued at the ponger; once the ponger answers
    // a call, every pong is queued at the recorder.
    block_on(rec.call(|_, _| ())).unwrap();
    let pings = block_on(ponger.call(|p, _| p.pings.clone())).unwrap();
    let pongs = block_on(rec.call(|r, _| r.pongs.clone())).unwrap();
    assert_eq!(pings, (0..1000).collect::<Vec<_>>());
    assert_eq!(pongs, (0..1000).collect::<Vec<_>>());
    let (from, to, pong) = block_on(first);
    assert_eq!((from, to, pong.seq), (ponger.upid().clone(), rec.upid().clone(), 0));
    assert!(block_on(rec.call(|r, _| r.initialized)).unwrap());
}
