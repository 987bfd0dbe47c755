//! Ping-pong over the libprocess wire protocol.
//!
//! ```text
//! ping_pong serve  --ip 127.0.0.1 --port 5050
//! ping_pong client --to pong@127.0.0.1:5050 --count 100000 --size 64 [--window 1000]
//! ```
//!
//! `serve` spawns process `pong`, which answers every message named `ping` with a
//! message `pong` carrying the same body, sent to the sender's UPID. `client` sends
//! `count` pings of `size` bytes (at most `window` unanswered at a time, so no
//! queue overflows), waits for every pong and prints messages per second.

use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::channel::oneshot;
use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid};

struct Pong;

impl Process for Pong {
    fn install(t: &mut Install<Self>) {
        t.raw("ping", Self::ping);
    }
}

impl Pong {
    fn ping(&mut self, from: Upid, body: Bytes, ctx: &mut Context<Self>) {
        ctx.send_raw(&from, "pong", body);
    }
}

struct Client {
    to: Upid,
    count: u64,
    window: u64,
    body: Bytes,
    sent: u64,
    received: u64,
    started: Option<Instant>,
    last_progress: u64,
    done: Option<oneshot::Sender<Result<Duration, String>>>,
}

/// A client that got no pong for this long reports failure instead of hanging.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);

impl Process for Client {
    fn install(t: &mut Install<Self>) {
        t.raw("pong", Self::pong);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.started = Some(Instant::now());
        while self.sent < self.count.min(self.window) {
            self.send_one(ctx);
        }
        self.watch(ctx);
    }
}

impl Client {
    fn send_one(&mut self, ctx: &mut Context<Self>) {
        ctx.send_raw(&self.to, "ping", self.body.clone());
        self.sent += 1;
    }

    fn pong(&mut self, _from: Upid, _body: Bytes, ctx: &mut Context<Self>) {
        self.received += 1;
        if self.sent < self.count {
            self.send_one(ctx);
        }
        if self.received == self.count {
            let elapsed = self.started.map_or(Duration::ZERO, |s| s.elapsed());
            self.finish(Ok(elapsed), ctx);
        }
    }

    fn watch(&mut self, ctx: &mut Context<Self>) {
        ctx.delay(STALL_TIMEOUT, |c, ctx| {
            if c.done.is_none() {
                return;
            }
            if c.received == c.last_progress {
                let why = format!(
                    "stalled: {} of {} pongs after {STALL_TIMEOUT:?} without progress",
                    c.received, c.count
                );
                c.finish(Err(why), ctx);
            } else {
                c.last_progress = c.received;
                c.watch(ctx);
            }
        });
    }

    fn finish(&mut self, result: Result<Duration, String>, ctx: &mut Context<Self>) {
        if let Some(done) = self.done.take() {
            let _ = done.send(result);
        }
        ctx.terminate();
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  ping_pong serve --ip IP --port PORT\n  \
         ping_pong client --to pong@IP:PORT --count N --size BYTES [--window W] [--ip IP]"
    );
    ExitCode::from(2)
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

fn parsed<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match flag(args, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{name} {v:?} is not valid")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&args),
        Some("client") => client(&args),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ping_pong: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &[String]) -> Result<(), String> {
    let ip: Ipv4Addr = parsed(args, "--ip", Ipv4Addr::LOCALHOST)?;
    let port: u16 = parsed(args, "--port", 5050)?;
    let runtime = Runtime::bind(RuntimeConfig::new(ip, port)).map_err(|e| e.to_string())?;
    let pong = runtime.spawn("pong", Pong).map_err(|e| e.to_string())?;
    println!("serving {}", pong.upid());
    libprocess::block_on(pong.terminated());
    Ok(())
}

fn client(args: &[String]) -> Result<(), String> {
    let to: Upid = flag(args, "--to")
        .ok_or("--to is required")?
        .parse()
        .map_err(|e: libprocess::ParseUpidError| e.to_string())?;
    let count: u64 = parsed(args, "--count", 100_000)?;
    let size: usize = parsed(args, "--size", 64)?;
    let window: u64 = parsed(args, "--window", 1000)?;
    let ip: Ipv4Addr = parsed(args, "--ip", to.ip())?;
    if count == 0 || window == 0 {
        return Err("--count and --window must be positive".into());
    }
    let runtime = Runtime::bind(RuntimeConfig::new(ip, 0)).map_err(|e| e.to_string())?;
    let (done, result) = oneshot::channel();
    let client = Client {
        to: to.clone(),
        count,
        window,
        body: Bytes::from(vec![b'x'; size]),
        sent: 0,
        received: 0,
        started: None,
        last_progress: 0,
        done: Some(done),
    };
    runtime
        .spawn(&libprocess::generate_id("client"), client)
        .map_err(|e| e.to_string())?;
    let elapsed = libprocess::block_on(result).map_err(|_| "client stopped".to_string())??;
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{count} pings of {size} bytes to {to} answered in {:.3} s: {rate:.0} messages/s (round trips, window {window})",
        elapsed.as_secs_f64()
    );
    println!(
        "{{\"bench\":\"ping_pong\",\"count\":{count},\"size_bytes\":{size},\"window\":{window},\"seconds\":{:.4},\"msgs_per_s\":{rate:.0}}}",
        elapsed.as_secs_f64()
    );
    runtime.shutdown();
    Ok(())
}
