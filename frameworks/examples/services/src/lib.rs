//! `services`: a Marathon-like framework on the SDK. Apps are JSON
//! `{id, cmd, cpus, mem, instances}` (plus an optional command
//! `health_check`); the framework keeps `instances` tasks of each running,
//! replaces tasks that end (lost agents included) with a per-app restart
//! backoff, kills unhealthy ones, and scales through a small REST API.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`app`] | app definitions and their validation (pure) |
//! | [`core`] | what to launch or kill; restart backoff (pure, `now` passed in) |
//! | [`scheduler`] | the scheduler actor (SDK events, REST requests) |
//! | [`api`] | the REST API on actix-web |

pub mod api;
pub mod app;
pub mod core;
pub mod scheduler;

use std::net::SocketAddr;
use std::time::Duration;

use actix::prelude::*;
use mesos_common::define_flags;
use mesos_framework::app::{SystemThread, serve_rest};
use mesos_framework::builders::framework_info_for_role;
use mesos_framework::{Config, Scheduler};

use crate::scheduler::{Services, SetDriver};

define_flags! {
    /// Flags of `services`.
    #[derive(Debug, Clone)]
    pub struct ServicesFlags {
        pub master: String { help: "The master (host:port, a list, or etcd://)." },
        pub http_ip: String { default: "127.0.0.1", help: "Where the REST API listens." },
        pub http_port: u16 { default: 8080u16, help: "The REST API's port (0: any free port)." },
        pub role: String { default: "*", help: "Role of the framework." },
        pub name: String { default: "services", help: "Framework name." },
        pub failover_timeout: f64 {
            default: 604800.0f64,
            help: "Seconds the master keeps the framework's tasks while it is away.",
        },
        pub backoff_min_ms: u64 { default: 1000u64, help: "First restart backoff of an app." },
        pub backoff_max_ms: u64 { default: 60000u64, help: "Largest restart backoff of an app." },
    }
}

/// A running services framework (its own actix system thread).
pub struct Running {
    pub http: SocketAddr,
    pub services: Addr<Services>,
    app: SystemThread,
}

impl Running {
    /// Stops the framework (its tasks keep running for `failover_timeout`).
    pub fn stop(self) {
        self.app.stop();
    }

    /// Waits until the system stops by itself.
    pub fn join(self) {
        self.app.join();
    }
}

/// Starts the scheduler and the REST API.
pub fn start(flags: ServicesFlags) -> Result<Running, String> {
    let ((http, services), app) = SystemThread::start(move || async move {
        let services = Services::new(
            &flags.role,
            Duration::from_millis(flags.backoff_min_ms),
            Duration::from_millis(flags.backoff_max_ms),
        )
        .start();
        let mut info = framework_info_for_role(&flags.name, "", &flags.role);
        info.failover_timeout = Some(flags.failover_timeout);
        let driver = Scheduler::start(
            Config::new(flags.master.clone(), info),
            services.clone().recipient(),
        )
        .map_err(|e| e.to_string())?;
        services.do_send(SetDriver(driver));
        let http = serve_rest(
            actix_web::web::Data::new(services.clone()),
            api::routes,
            &flags.http_ip,
            flags.http_port,
        )?;
        Ok((http, services))
    })?;
    Ok(Running {
        http,
        services,
        app,
    })
}
