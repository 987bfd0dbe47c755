//! Helpers shared by the operator API tests: calls to `/api/v1` in either
//! media type, the operator event stream reader, and a small scenario (an
//! agent and a framework with a running task).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;

use cluster_tests::agent::{AgentHandle, TaskBehaviour};
use cluster_tests::http::{EventStream, HttpResponse, WAIT};
use cluster_tests::{Cluster, scheduler};
use mesos_common::http::{ContentType, MessageStreamDecoder};
use mesos_common::proto::v1;
use mesos_common::proto::v1::master::call::Type;

/// A call of `kind` with no payload.
pub fn call(kind: Type) -> v1::master::Call {
    v1::master::Call {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// POSTs `call` to `path` in `content`, accepting the same type.
pub fn post_to(
    addr: SocketAddr,
    path: &str,
    content: ContentType,
    call: &v1::master::Call,
) -> HttpResponse {
    let body = content.encode(call).expect("encode the call");
    cluster_tests::http::request(
        addr,
        "POST",
        path,
        &[
            ("Content-Type", content.as_str()),
            ("Accept", content.as_str()),
        ],
        &body,
    )
}

/// POSTs `call` to `/api/v1`.
pub fn post(addr: SocketAddr, content: ContentType, call: &v1::master::Call) -> HttpResponse {
    post_to(addr, "/api/v1", content, call)
}

/// The response of a `200`, decoded from the media type it names.
pub fn decode(content: ContentType, r: &HttpResponse) -> v1::master::Response {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some(content.as_str()));
    content.decode(&r.body).expect("a master::Response")
}

/// Posts and decodes, checking the response type.
pub fn query(addr: SocketAddr, content: ContentType, kind: Type) -> v1::master::Response {
    let r = decode(content, &post(addr, content, &call(kind)));
    assert_eq!(
        r.r#type
            .and_then(|t| v1::master::response::Type::try_from(t).ok())
            .map(|t| t.as_str_name()),
        Some(kind.as_str_name()),
        "the response names the call"
    );
    r
}

/// An open SUBSCRIBE stream on `/api/v1`.
pub struct OperatorStream {
    pub status: u16,
    pub content_type: Option<String>,
    events: mpsc::Receiver<v1::master::Event>,
    socket: TcpStream,
}

fn read_chunk(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut size = String::new();
    if reader.read_line(&mut size)? == 0 {
        return Ok(Vec::new());
    }
    let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
    let mut chunk = vec![0; n];
    reader.read_exact(&mut chunk)?;
    let mut crlf = [0; 2];
    reader.read_exact(&mut crlf)?;
    Ok(chunk)
}

impl OperatorStream {
    pub fn subscribe(addr: SocketAddr, content: ContentType) -> OperatorStream {
        let body = content.encode(&call(Type::Subscribe)).unwrap();
        let mut stream = TcpStream::connect(addr).expect("connect");
        let head = format!(
            "POST /api/v1 HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ct}\r\nAccept: {ct}\r\nContent-Length: {}\r\n\r\n",
            body.len(),
            ct = content.as_str()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        let socket = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut content_type = None;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("Content-Type")
            {
                content_type = Some(v.trim().to_string());
            }
        }
        let (tx, rx) = mpsc::channel();
        if status == 200 {
            std::thread::spawn(move || {
                let mut decoder = MessageStreamDecoder::<v1::master::Event>::new(content, 1 << 30);
                while let Ok(chunk) = read_chunk(&mut reader) {
                    if chunk.is_empty() {
                        break;
                    }
                    for e in decoder.decode(&chunk).expect("a valid event stream") {
                        if tx.send(e).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        OperatorStream {
            status,
            content_type,
            events: rx,
            socket,
        }
    }

    /// The next event, or `None` once the stream ended.
    pub fn next(&self) -> Option<v1::master::Event> {
        self.events.recv_timeout(WAIT).ok()
    }

    /// Whether the stream ended (rather than timing out) before another
    /// event came.
    pub fn ended(&self) -> bool {
        matches!(
            self.events.recv_timeout(WAIT),
            Err(mpsc::RecvTimeoutError::Disconnected)
        )
    }

    /// The next event that is not a HEARTBEAT.
    pub fn next_event(&self) -> Option<v1::master::Event> {
        loop {
            let e = self.next()?;
            if e.r#type != Some(v1::master::event::Type::Heartbeat as i32) {
                return Some(e);
            }
        }
    }

    pub fn close(self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}

pub fn event_type(e: &v1::master::Event) -> v1::master::event::Type {
    e.r#type
        .and_then(|t| v1::master::event::Type::try_from(t).ok())
        .unwrap_or(v1::master::event::Type::Unknown)
}

/// `text` (`cpus:1;mem:128`) dynamically reserved to `role`, in the
/// post-refinement format.
pub fn reserved(text: &str, role: &str) -> Vec<v1::Resource> {
    use mesos_common::resources;
    let r = resources::parse_resources(text, "*")
        .expect("valid")
        .push_reservation(&resources::Reservation::new_dynamic(
            mesos_common::roles::Role::new(role).expect("role"),
            None,
        ))
        .expect("reservable");
    resources::proto::v1::resources_to(&r, resources::ResourceFormat::PostReservationRefinement)
        .expect("convertible")
}

/// A persistent volume `id` of `mb` on disk reserved to `role`.
pub fn volume(role: &str, id: &str, mb: f64) -> v1::Resource {
    let json = serde_json::json!([{
        "name": "disk", "type": "SCALAR", "scalar": {"value": mb},
        "reservations": [{"type": "DYNAMIC", "role": role}],
        "disk": {"persistence": {"id": id},
                 "volume": {"container_path": "data", "mode": "RW"}},
    }]);
    let mut r: Vec<v1::Resource> =
        mesos_common::json::from_slice_array(json.to_string().as_bytes()).expect("json");
    r.remove(0)
}

/// A cluster with one test agent and a v1 framework running task `t1`.
pub struct Scenario {
    pub cluster: Cluster,
    pub agent: AgentHandle,
    pub agent_id: String,
    pub framework_id: String,
    pub stream: EventStream,
    pub stream_id: String,
}

impl Scenario {
    pub fn start(flags: mesos_master::MasterFlags) -> Scenario {
        let cluster = Cluster::start(flags);
        let agent = cluster.add_agent("cpus:4;mem:2048;disk:4096", TaskBehaviour::Run);
        let agent_id = agent.id().expect("registered");
        let stream = EventStream::subscribe(
            cluster.address(),
            &scheduler::subscribe(scheduler::framework_info("operator-tests")),
            ContentType::Json,
        );
        let stream_id = stream.stream_id.clone().expect("stream id");
        let framework_id = stream
            .next()
            .unwrap()
            .subscribed
            .unwrap()
            .framework_id
            .value;
        let offer = stream
            .next_of(v1::scheduler::event::Type::Offers)
            .unwrap()
            .offers
            .unwrap()
            .offers
            .remove(0);
        let task = scheduler::command_task("t1", &agent_id, "cpus:1;mem:128", "sleep 1000");
        let r = cluster_tests::http::scheduler_call(
            cluster.address(),
            &scheduler::accept(&framework_id, &[&offer.id.value], vec![task]),
            Some(&stream_id),
        );
        assert_eq!(r.status, 202, "{}", r.text());
        let update = stream.next_of(v1::scheduler::event::Type::Update).unwrap();
        assert_eq!(
            update.update.unwrap().status.state,
            v1::TaskState::TaskRunning as i32
        );
        Scenario {
            cluster,
            agent,
            agent_id,
            framework_id,
            stream,
            stream_id,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.cluster.address()
    }
}
