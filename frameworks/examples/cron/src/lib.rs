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
use mesos_framework::app::{SystemThread, serve_rest};
use mesos_framework::builders::framework_info_for_role;
use mesos_framework::{Config, Scheduler};

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
pub fn start(flags: CronFlags, clock: Arc<dyn Clock>) -> Result<Running, String> {
    let ((http, cron), app) = SystemThread::start(move || async move {
        let cron = Cron::new(clock, &flags.role).start();
        let info = framework_info_for_role(&flags.name, "", &flags.role);
        let driver = Scheduler::start(
            Config::new(flags.master.clone(), info),
            cron.clone().recipient(),
        )
        .map_err(|e| e.to_string())?;
        cron.do_send(SetDriver(driver));
        let http = serve_rest(
            actix_web::web::Data::new(cron.clone()),
            api::routes,
            &flags.http_ip,
            flags.http_port,
        )?;
        Ok((http, cron))
    })?;
    Ok(Running { http, cron, app })
}
