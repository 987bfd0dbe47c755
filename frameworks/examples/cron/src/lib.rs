//! `cron`: a Chronos-like framework on the SDK. Jobs run on ISO 8601
//! repeating schedules (`R/2026-01-01T00:00:00Z/PT1M`) or after their
//! parents succeed; failed runs are retried; a REST API adds and lists
//! jobs. The clock is injected, so tests run a schedule without waiting.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`iso8601`] | repeating intervals: start times and periods (pure) |
//! | [`core`] | jobs, due runs, dependencies, retries, history (pure, time passed in) |
//! | [`scheduler`] | the scheduler actor and its clocks |
//! | [`api`] | the REST API on actix-web |

pub mod api;
pub mod core;
pub mod iso8601;
pub mod scheduler;

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use mesos_common::define_flags;
use mesos_framework::{Config, Scheduler, framework_info};

use crate::scheduler::{Clock, Cron, SetDriver};

define_flags! {
    /// Flags of `cron`.
    #[derive(Debug, Clone)]
    pub struct CronFlags {
        pub master: String { help: "The master (host:port, a list, or etcd://)." },
        pub http_ip: String { default: "127.0.0.1", help: "Where the REST API listens." },
        pub http_port: u16 { default: 8081u16, help: "The REST API's port (0: any free port)." },
        pub role: String { default: "*", help: "Role of the framework." },
        pub name: String { default: "cron", help: "Framework name." },
    }
}

/// A running cron framework (its own actix system thread).
pub struct Running {
    pub http: SocketAddr,
    pub cron: Addr<Cron>,
    system: System,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops the framework (its tasks keep running for `failover_timeout`).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Waits until the system stops by itself.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the scheduler and the REST API.
pub fn start(flags: CronFlags, clock: Arc<dyn Clock>) -> Result<Running, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let system = System::new();
        let started = system.block_on(async move {
            let cron = Cron::new(clock, &flags.role).start();
            let mut info = framework_info(&flags.name, "");
            info.roles = vec![flags.role.clone()];
            info.capabilities = vec![mesos_common::proto::v1::framework_info::Capability {
                r#type: Some(
                    mesos_common::proto::v1::framework_info::capability::Type::MultiRole as i32,
                ),
            }];
            let driver = Scheduler::start(
                Config::new(flags.master.clone(), info),
                cron.clone().recipient(),
            )
            .map_err(|e| e.to_string())?;
            cron.do_send(SetDriver(driver));
            let data = actix_web::web::Data::new(cron.clone());
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new()
                    .app_data(data.clone())
                    .configure(api::routes)
            })
            .workers(1)
            .bind((flags.http_ip.as_str(), flags.http_port))
            .map_err(|e| format!("REST API on {}:{}: {e}", flags.http_ip, flags.http_port))?;
            let http = server
                .addrs()
                .first()
                .copied()
                .ok_or("REST API: no address")?;
            actix::spawn(server.run());
            Ok::<_, String>((http, cron))
        });
        match started {
            Ok((http, cron)) => {
                let _ = tx.send(Ok((http, cron, System::current())));
                let _ = system.run();
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    });
    let (http, cron, system) = rx
        .recv()
        .map_err(|_| "the cron thread ended early".to_string())??;
    Ok(Running {
        http,
        cron,
        system,
        thread: Some(thread),
    })
}
