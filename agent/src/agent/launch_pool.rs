//! The few threads that start containers.
//!
//! Starting a container blocks until the launch helper has been exec'd
//! (`posix_spawn` waits for the child), so it cannot run on the agent's actor
//! thread. Tokio's blocking pool grows a thread for every launch that finds
//! none idle: a burst of 1,000 launches made ~290 threads, each created, given
//! a stack and then contending for the same two cores and the same file
//! table. A fixed handful of threads starts containers as fast (the work is
//! the child's exec, not the waiting parent) without that churn.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Threads starting containers at once.
pub const LAUNCH_THREADS: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

/// A job ended without a result: the pool is gone (the agent is shutting
/// down) or the job panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the launch job ended without a result")]
pub struct LaunchJobLost;

/// See the module docs. Jobs run in submission order, `LAUNCH_THREADS` at a
/// time; the queue holds at most one job per executor the agent is launching
/// (each waits for resources the master offered), so it needs no bound of
/// its own. The threads end when the pool is dropped.
#[derive(Debug)]
pub struct LaunchPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl LaunchPool {
    /// Starts `threads` threads (at least one).
    pub fn new(threads: usize) -> std::io::Result<LaunchPool> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("agent-launch-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job loses its result (its sender
                            // is dropped), not the thread.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(LaunchPool {
            jobs: Mutex::new(tx),
        })
    }

    /// Runs `f` on a launch thread; the future resolves with its result.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = Result<R, LaunchJobLost>> + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self
            .jobs
            .lock()
            .map_err(|_| LaunchJobLost)
            .and_then(|jobs| {
                jobs.send(Box::new(move || {
                    let _ = tx.send(f());
                }))
                .map_err(|_| LaunchJobLost)
            });
        async move {
            queued?;
            rx.await.map_err(|_| LaunchJobLost)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_the_pool_threads_and_return_their_results() {
        let pool = LaunchPool::new(2).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let results: Vec<(usize, String)> = rt.block_on(async {
            let futures: Vec<_> = (0..16)
                .map(|i| {
                    pool.run(move || {
                        let name = std::thread::current().name().unwrap_or("").to_string();
                        (i * 2, name)
                    })
                })
                .collect();
            let mut out = Vec::new();
            for f in futures {
                out.push(f.await.unwrap());
            }
            out
        });
        for (i, (value, thread)) in results.iter().enumerate() {
            assert_eq!(*value, i * 2);
            assert!(thread.starts_with("agent-launch-"), "ran on {thread}");
        }
    }

    #[test]
    fn a_panicking_job_loses_its_result_and_the_thread_goes_on() {
        let pool = LaunchPool::new(1).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let bad = pool.run(|| -> u32 { panic!("job failed") });
            assert_eq!(bad.await, Err(LaunchJobLost));
            assert_eq!(pool.run(|| 7).await, Ok(7));
        });
    }
}
