//! Processes inside one runtime: spawning, local delivery, dispatch and call,
//! links between local processes, terminate, spawned futures, message filters.

use bytes::Bytes;
use libprocess::filters::{self, Pattern};
use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid};
use libprocess::{Error, ProcessGone, RuntimeHandle};

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
    let ponger = rt
        .spawn(
            "ponger",
            Ponger {
                pings: vec![],
                raw: vec![],
            },
        )
        .unwrap();
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
    assert_eq!(
        (from, to, pong.seq),
        (ponger.upid().clone(), rec.upid().clone(), 0)
    );
    assert!(block_on(rec.call(|r, _| r.initialized)).unwrap());
}

/// Counts lifecycle calls and events after terminate.
#[derive(Default)]
struct Life {
    seen: Vec<String>,
    log: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
}

impl Process for Life {
    fn install(t: &mut Install<Self>) {
        t.raw(
            "note",
            |l: &mut Life, _from: Upid, body: Bytes, ctx: &mut Context<Life>| {
                let text = String::from_utf8_lossy(&body).into_owned();
                if text == "stop" {
                    ctx.terminate();
                }
                l.seen.push(text);
            },
        );
    }

    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        if let Some(log) = &self.log {
            log.lock().unwrap().extend(self.seen.drain(..));
            log.lock().unwrap().push("finalized".into());
        }
    }
}

#[test]
fn terminate_runs_finalize_and_drops_later_events() {
    let rt = runtime();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let life = rt
        .spawn(
            "life",
            Life {
                seen: vec![],
                log: Some(log.clone()),
            },
        )
        .unwrap();
    let me = rt.upid("outside");
    for text in ["one", "stop", "after"] {
        rt.send_raw(&me, life.upid(), "note", text);
    }
    block_on(life.terminated());
    assert_eq!(*log.lock().unwrap(), vec!["one", "stop", "finalized"]);
    assert_eq!(block_on(life.call(|_, _| ())), Err(ProcessGone));
    assert_eq!(
        rt.processes(),
        vec!["__processes__".to_string(), "metrics".into()]
    );
}

#[test]
fn spawn_refuses_duplicate_and_malformed_ids() {
    let rt = runtime();
    rt.spawn("dup", Life::default()).unwrap();
    assert!(matches!(rt.spawn("dup", Life::default()), Err(Error::IdInUse(id)) if id == "dup"));
    assert!(matches!(
        rt.spawn("", Life::default()),
        Err(Error::BadId(_))
    ));
    assert!(matches!(
        rt.spawn("a/b", Life::default()),
        Err(Error::BadId(_))
    ));
    let generated = libprocess::generate_id("slave");
    let pid = rt.spawn(&generated, Life::default()).unwrap();
    assert_eq!(
        pid.upid().to_string(),
        format!("{generated}@{}", rt.address())
    );
}

#[test]
fn processes_spawn_processes_and_dispatch_between_them() {
    let rt = runtime();
    let parent = rt.spawn("parent", Life::default()).unwrap();
    let child = block_on(parent.call(|_, ctx| {
        let handle: RuntimeHandle = ctx.runtime();
        handle.spawn("child", Life::default()).unwrap()
    }))
    .unwrap();
    child.dispatch(|l, _| l.seen.push("dispatched".into()));
    let seen = block_on(child.call(|l, _| l.seen.clone())).unwrap();
    assert_eq!(seen, vec!["dispatched"]);
    // A process's own typed handle reaches itself.
    let me = block_on(parent.call(|_, ctx| ctx.local_pid().upid().clone())).unwrap();
    assert_eq!(me, *parent.upid());
}

#[test]
fn sends_to_unknown_local_processes_and_stray_replies_are_dropped_and_counted() {
    let rt = runtime();
    let life = rt.spawn("life", Life::default()).unwrap();
    let ghost = rt.upid("ghost");
    block_on(life.call(move |_, ctx| {
        ctx.send_raw(&ghost, "note", "x");
        // No message is being handled: there is nobody to reply to.
        ctx.reply_raw("note", "y");
    }))
    .unwrap();
    assert_eq!(
        rt.metrics()
            .counter("libprocess/messages_dropped_unknown_process")
            .get(),
        1
    );
}

#[test]
fn filters_drop_and_expect_local_messages() {
    let rt = runtime();
    let ponger = rt
        .spawn(
            "ponger",
            Ponger {
                pings: vec![],
                raw: vec![],
            },
        )
        .unwrap();
    let rec = rt.spawn("recorder", Recorder::default()).unwrap();
    let guard = filters::drop::<Ping>(Pattern::Any, ponger.upid());
    let handled = filters::expect_handled::<Ping>(rec.upid(), Pattern::id("ponger"));
    let (to, from) = (ponger.upid().clone(), rec.upid().clone());
    rt.send(&from, &to, &Ping { seq: 1 });
    assert!(
        block_on(ponger.call(|p, _| p.pings.is_empty())).unwrap(),
        "dropped"
    );
    guard.remove();
    rt.send(&from, &to, &Ping { seq: 2 });
    let (f, t, ping) = block_on(handled);
    assert_eq!((f, t, ping.seq), (from, to, 2));
    // "handled" means the handler already ran.
    assert_eq!(
        block_on(ponger.call(|p, _| p.pings.clone())).unwrap(),
        vec![2]
    );
    // Raw names are filtered too.
    let raw = filters::expect_raw("raw/name", Pattern::Any, ponger.upid());
    rt.send_raw(rec.upid(), ponger.upid(), "raw/name", "body");
    assert_eq!(&block_on(raw).2[..], b"body");
}

#[test]
fn config_from_libprocess_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let c = libprocess::RuntimeConfig::from_lookup(env(&[
        ("LIBPROCESS_IP", "127.0.0.1"),
        ("LIBPROCESS_PORT", "5051"),
        ("LIBPROCESS_ADVERTISE_IP", "10.1.2.3"),
        ("LIBPROCESS_ADVERTISE_PORT", "31000"),
    ]))
    .unwrap();
    assert_eq!((c.ip.to_string(), c.port), ("127.0.0.1".into(), 5051));
    assert_eq!(c.advertise_ip.unwrap().to_string(), "10.1.2.3");
    assert_eq!(c.advertise_port, Some(31000));
    let d = libprocess::RuntimeConfig::from_lookup(env(&[])).unwrap();
    assert!(d.ip.is_unspecified() && d.port == 0);
    assert!(libprocess::RuntimeConfig::from_lookup(env(&[("LIBPROCESS_PORT", "x")])).is_err());
    assert!(libprocess::RuntimeConfig::from_lookup(env(&[("LIBPROCESS_IP", "::1")])).is_err());
}

#[test]
fn advertised_address_goes_into_upids() {
    let mut config = RuntimeConfig::local();
    config.advertise_ip = Some("10.9.8.7".parse().unwrap());
    config.advertise_port = Some(4242);
    let rt = Runtime::bind(config).unwrap();
    let p = rt.spawn("p", Life::default()).unwrap();
    assert_eq!(p.upid().to_string(), "p@10.9.8.7:4242");
    assert_ne!(rt.bound_address().port(), 4242);
    // Sends to the advertised address are local deliveries.
    rt.send_raw(&rt.upid("x"), p.upid(), "note", "hi");
    assert_eq!(block_on(p.call(|l, _| l.seen.clone())).unwrap(), vec!["hi"]);
}

#[tokio::test]
async fn works_from_an_async_main() {
    let rt = runtime();
    let life = rt.spawn("life", Life::default()).unwrap();
    life.dispatch(|l, _| l.seen.push("async".into()));
    assert_eq!(
        life.call(|l, _| l.seen.clone()).await.unwrap(),
        vec!["async"]
    );
    rt.shutdown();
}

struct Fragile;

impl Process for Fragile {
    fn install(t: &mut Install<Self>) {
        t.raw(
            "boom",
            |_: &mut Fragile, _: Upid, _: Bytes, _: &mut Context<Fragile>| {
                panic!("a bug in a handler")
            },
        );
    }
}

#[test]
fn a_panicking_handler_terminates_only_its_process() {
    let rt = runtime();
    let fragile = rt.spawn("fragile", Fragile).unwrap();
    let rec = rt.spawn("recorder", Recorder::default()).unwrap();
    let target = fragile.upid().clone();
    block_on(rec.call(move |_, ctx| ctx.link(&target))).unwrap();
    rt.send_raw(rec.upid(), fragile.upid(), "boom", "");
    block_on(fragile.terminated());
    assert_eq!(rt.metrics().counter("libprocess/process_panics").get(), 1);
    // The runtime and its other processes keep going; the linker heard about it.
    let exited = block_on(rec.call(|r, _| r.exited.clone())).unwrap();
    assert_eq!(exited, vec![fragile.upid().clone()]);
}

#[test]
fn settle_waits_for_everything_queued_before_it() {
    let rt = runtime();
    let ponger = rt
        .spawn(
            "ponger",
            Ponger {
                pings: vec![],
                raw: vec![],
            },
        )
        .unwrap();
    let rec = rt.spawn("recorder", Recorder::default()).unwrap();
    for seq in 0..100 {
        rt.send(rec.upid(), ponger.upid(), &Ping { seq });
    }
    block_on(rt.settle());
    // Every ping was queued before the call, so all were handled. The pongs they
    // caused may reach the recorder after its marker: a second settle covers them,
    // since by then every pong is queued.
    assert_eq!(block_on(ponger.call(|p, _| p.pings.len())).unwrap(), 100);
    block_on(rt.settle());
    assert_eq!(block_on(rec.call(|r, _| r.pongs.len())).unwrap(), 100);
}

#[actix_rt::test]
async fn works_from_an_actix_main() {
    let rt = runtime();
    let life = rt.spawn("life", Life::default()).unwrap();
    life.dispatch(|l, _| l.seen.push("actix".into()));
    assert_eq!(
        life.call(|l, _| l.seen.clone()).await.unwrap(),
        vec!["actix"]
    );
    rt.shutdown();
}
