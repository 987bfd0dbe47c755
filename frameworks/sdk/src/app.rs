//! Running a framework program: an actix system on a thread of its own,
//! started by a closure that runs inside it (start the scheduler actor,
//! its REST API, ...) and hands back what the caller needs, or why it
//! could not start. The examples `services` and `cron` run this way, so
//! their tests can start and stop them like any other component.

use std::future::Future;
use std::thread::JoinHandle;

use actix::System;

/// An actix system on its own thread; stopped when dropped.
#[derive(Debug)]
pub struct SystemThread {
    system: System,
    thread: Option<JoinHandle<()>>,
}

impl SystemThread {
    /// Starts a system on a new thread and runs `init` in it; returns its
    /// output once `init` finished, the system then keeps running.
    pub fn start<T, F, Fut>(init: F) -> Result<(T, SystemThread), String>
    where
        T: Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, String>> + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = System::new();
            match system.block_on(init()) {
                Ok(out) => {
                    let _ = tx.send(Ok((out, System::current())));
                    let _ = system.run();
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        let (out, system) = rx
            .recv()
            .map_err(|_| "the framework's thread ended before it started".to_string())??;
        Ok((
            out,
            SystemThread {
                system,
                thread: Some(thread),
            },
        ))
    }

    /// Stops the system and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Waits until the system stops by itself.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn shutdown(&mut self) {
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SystemThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serves a REST API with one worker on `ip:port` (port 0: any free one),
/// each request handler seeing `data`; returns the address it listens on.
/// Call it inside a [`SystemThread`]'s start closure: the server runs on
/// that system and stops with it.
#[cfg(feature = "rest")]
pub fn serve_rest<T: Send + Sync + 'static>(
    data: actix_web::web::Data<T>,
    routes: fn(&mut actix_web::web::ServiceConfig),
    ip: &str,
    port: u16,
) -> Result<std::net::SocketAddr, String> {
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(data.clone())
            .configure(routes)
    })
    .workers(1)
    .bind((ip, port))
    .map_err(|e| format!("REST API on {ip}:{port}: {e}"))?;
    let address = server
        .addrs()
        .first()
        .copied()
        .ok_or("REST API: no address")?;
    actix::spawn(server.run());
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_output_comes_back_and_stop_ends_the_thread() {
        let (n, app) = SystemThread::start(|| async {
            // Runs inside the system: actors can be started here.
            assert!(actix::System::try_current().is_some());
            Ok(7)
        })
        .unwrap();
        assert_eq!(n, 7);
        app.stop();
    }

    #[test]
    fn an_init_error_is_returned() {
        let e = SystemThread::start(|| async { Err::<(), _>("no port".to_string()) }).unwrap_err();
        assert_eq!(e, "no port");
    }
}
