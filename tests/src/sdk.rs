//! Harness for SDK schedulers (`mesos-framework`): [`SdkScheduler`] runs
//! an actix system on a thread of its own with a recorder actor that puts
//! every [`Event`] on a channel the test reads; [`FakeMaster`] is a raw
//! socket server answering SUBSCRIBE the way a test needs (a redirect, a
//! refusal, a stream that goes silent). [`SdkExecutor`] does the same for
//! the SDK's executor side.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;

use actix::prelude::*;
use mesos_common::proto::v1;
use mesos_framework::{Config, Event, Scheduler};

use crate::http::WAIT;

/// Puts events on a channel.
struct Recorder {
    events: mpsc::Sender<Event>,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<Event> for Recorder {
    type Result = ();

    fn handle(&mut self, event: Event, _ctx: &mut Context<Self>) {
        let _ = self.events.send(event);
    }
}

/// An SDK scheduler and the events it received.
pub struct SdkScheduler {
    pub handle: Scheduler,
    events: mpsc::Receiver<Event>,
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Option<actix::System>,
}

impl SdkScheduler {
    /// Starts a driver with `config` on a new actix system thread.
    pub fn start(config: Config) -> SdkScheduler {
        crate::init_logging();
        let (events_tx, events) = mpsc::channel();
        let (ready_tx, ready) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let recorder = Recorder { events: events_tx }.start();
                let handle = Scheduler::start(config, recorder.recipient());
                let _ = ready_tx.send((handle, actix::System::current()));
            });
            let _ = system.run();
        });
        let (handle, system) = ready.recv_timeout(WAIT).expect("the actix system starts");
        SdkScheduler {
            handle: handle.expect("a valid configuration"),
            events,
            thread: Some(thread),
            stop: Some(system),
        }
    }

    /// The next event (failing the test after `WAIT`).
    pub fn next(&self) -> Event {
        self.events
            .recv_timeout(WAIT)
            .expect("timed out waiting for an SDK event")
    }

    /// The first event `pick` maps to `Some`, skipping (and returning) the
    /// others before it.
    pub fn until<T>(&self, mut pick: impl FnMut(&Event) -> Option<T>) -> (T, Vec<Event>) {
        let mut skipped = Vec::new();
        loop {
            let event = self.next();
            if let Some(t) = pick(&event) {
                return (t, skipped);
            }
            skipped.push(event);
        }
    }

    /// Waits for SUBSCRIBED; returns the framework id.
    pub fn subscribed(&self) -> v1::FrameworkId {
        self.until(|e| match e {
            Event::Subscribed { framework_id, .. } => Some(framework_id.clone()),
            _ => None,
        })
        .0
    }

    /// Waits for a non-empty OFFERS event.
    pub fn offers(&self) -> Vec<v1::Offer> {
        self.until(|e| match e {
            Event::Offers(o) if !o.is_empty() => Some(o.clone()),
            _ => None,
        })
        .0
    }

    /// Waits for an update of `task` in `state`.
    pub fn update(&self, task: &str, state: v1::TaskState) -> v1::TaskStatus {
        self.until(|e| match e {
            Event::Update(s) if s.task_id.value == task && s.state == state as i32 => {
                Some(s.clone())
            }
            _ => None,
        })
        .0
    }

    /// Runs a call (or any future) to completion from the test thread.
    pub fn run<F>(&self, fut: F) -> F::Output
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send,
    {
        crate::wait(fut)
    }
}

impl Drop for SdkScheduler {
    fn drop(&mut self) {
        if let Some(system) = self.stop.take() {
            system.stop();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How a [`FakeMaster`] answers each request, by the request's index.
#[derive(Debug, Clone)]
pub enum FakeAnswer {
    /// `307` to `location`.
    Redirect(String),
    /// A status with a text body.
    Refuse(u16, String),
    /// `200`, a SUBSCRIBED event (protobuf) with this heartbeat interval,
    /// then nothing while the connection stays open.
    SubscribeThenSilence { heartbeat_seconds: f64 },
}

/// A raw HTTP server standing in for a master.
pub struct FakeMaster {
    pub addr: SocketAddr,
    /// One message per request received: its request line and headers.
    pub requests: mpsc::Receiver<String>,
}

impl FakeMaster {
    /// Answers request `i` with `answers[min(i, len-1)]`.
    pub fn start(answers: Vec<FakeAnswer>) -> FakeMaster {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, requests) = mpsc::channel();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for (index, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { break };
                let answer = answers[index.min(answers.len() - 1)].clone();
                let Some(head) = read_request(&stream) else {
                    continue;
                };
                if tx.send(head).is_err() {
                    break;
                }
                if let Some(kept) = answer_with(stream, &answer) {
                    held.push(kept);
                }
            }
        });
        FakeMaster { addr, requests }
    }

    /// Waits for the next request's head.
    pub fn request(&self) -> String {
        self.requests
            .recv_timeout(WAIT)
            .expect("timed out waiting for a request at the fake master")
    }
}

fn read_request(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(head)
}

fn answer_with(mut stream: TcpStream, answer: &FakeAnswer) -> Option<TcpStream> {
    match answer {
        FakeAnswer::Redirect(location) => {
            let _ = write!(
                stream,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
            );
            None
        }
        FakeAnswer::Refuse(status, body) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Refused\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            None
        }
        FakeAnswer::SubscribeThenSilence { heartbeat_seconds } => {
            let event = v1::scheduler::Event {
                r#type: Some(v1::scheduler::event::Type::Subscribed as i32),
                subscribed: Some(v1::scheduler::event::Subscribed {
                    framework_id: v1::FrameworkId {
                        value: "fake-framework".into(),
                    },
                    heartbeat_interval_seconds: Some(*heartbeat_seconds),
                    master_info: None,
                }),
                ..Default::default()
            };
            let record = mesos_common::recordio::encode(&prost::Message::encode_to_vec(&event));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nMesos-Stream-Id: fake-stream\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
                record.len()
            );
            let _ = stream.write_all(&record);
            let _ = stream.write_all(b"\r\n");
            Some(stream)
        }
    }
}

/// Puts executor events on a channel.
struct ExecutorRecorder {
    events: mpsc::Sender<mesos_framework::executor::Event>,
}

impl Actor for ExecutorRecorder {
    type Context = Context<Self>;
}

impl Handler<mesos_framework::executor::Event> for ExecutorRecorder {
    type Result = ();

    fn handle(&mut self, event: mesos_framework::executor::Event, _ctx: &mut Context<Self>) {
        let _ = self.events.send(event);
    }
}

/// An SDK executor (`mesos_framework::executor`) in process, on an actix
/// system thread of its own, and the events it received.
pub struct SdkExecutor {
    pub handle: mesos_framework::executor::Executor,
    events: mpsc::Receiver<mesos_framework::executor::Event>,
    arbiter: actix::ArbiterHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Option<actix::System>,
}

impl SdkExecutor {
    /// Starts an executor with `env` (subscribing at once).
    pub fn start(env: mesos_framework::executor::ExecutorEnv) -> SdkExecutor {
        crate::init_logging();
        let (events_tx, events) = mpsc::channel();
        let (ready_tx, ready) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let recorder = ExecutorRecorder { events: events_tx }.start();
                let handle = mesos_framework::executor::Executor::start(env, recorder.recipient());
                let _ =
                    ready_tx.send((handle, actix::System::current(), actix::Arbiter::current()));
            });
            let _ = system.run();
        });
        let (handle, system, arbiter) = ready.recv_timeout(WAIT).expect("the actix system starts");
        SdkExecutor {
            handle,
            events,
            arbiter,
            thread: Some(thread),
            stop: Some(system),
        }
    }

    /// The next event (failing the test after `WAIT`).
    pub fn next(&self) -> mesos_framework::executor::Event {
        self.events
            .recv_timeout(WAIT)
            .expect("timed out waiting for an SDK executor event")
    }

    /// The first event `pick` maps to `Some`, skipping the others.
    pub fn until<T>(
        &self,
        mut pick: impl FnMut(&mesos_framework::executor::Event) -> Option<T>,
    ) -> T {
        loop {
            if let Some(t) = pick(&self.next()) {
                return t;
            }
        }
    }

    /// Runs a future on the executor's runtime (the handle's connections
    /// live there) and waits for its output.
    pub fn run<F>(&self, fut: F) -> F::Output
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.arbiter.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv_timeout(WAIT).expect("the future completes")
    }
}

impl Drop for SdkExecutor {
    fn drop(&mut self) {
        self.handle.stop();
        if let Some(system) = self.stop.take() {
            system.stop();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
