//! The garbage collector process (`__gc__(N)`): removes sandboxes and
//! checkpoint directories of finished executors and frameworks after
//! `--gc_delay`, and sooner when the disk fills up.
//!
//! Every `--disk_watch_interval` it measures the work directory's file system
//! and prunes directories older than
//! `gc_delay * max(0, 1 - gc_disk_headroom - usage)` (Mesos's `Slave::age`):
//! at 90% usage with the default headroom of 10%, everything scheduled goes.
//!
//! Messages (dispatched): `schedule`, `unschedule`, `prune`. Removal runs on a
//! blocking thread so a large sandbox never stalls the agent's actor thread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libprocess::{Context, Process, TimerId};

/// See the module docs.
#[derive(Debug)]
pub struct GarbageCollector {
    work_dir: PathBuf,
    gc_delay: Duration,
    headroom: f64,
    disk_watch_interval: Duration,
    /// Path -> (when it was scheduled, its removal timer).
    scheduled: BTreeMap<PathBuf, (Instant, TimerId)>,
    removed: u64,
}

/// How long scheduled directories may live at a given disk usage (0.0-1.0).
pub fn max_age(gc_delay: Duration, headroom: f64, usage: f64) -> Duration {
    gc_delay.mul_f64((1.0 - headroom - usage).clamp(0.0, 1.0))
}

impl Process for GarbageCollector {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.watch_disk(ctx);
    }
}

impl GarbageCollector {
    pub fn new(
        work_dir: PathBuf,
        gc_delay: Duration,
        headroom: f64,
        disk_watch_interval: Duration,
    ) -> Self {
        GarbageCollector {
            work_dir,
            gc_delay,
            headroom,
            disk_watch_interval,
            scheduled: BTreeMap::new(),
            removed: 0,
        }
    }

    /// Removes `path` after `delay` (replacing an earlier schedule).
    pub fn schedule(&mut self, delay: Duration, path: PathBuf, ctx: &mut Context<Self>) {
        if let Some((_, timer)) = self.scheduled.remove(&path) {
            ctx.cancel(timer);
        }
        let at = ctx.now();
        let p = path.clone();
        let timer = ctx.delay(delay, move |gc: &mut GarbageCollector, ctx| {
            if gc.scheduled.remove(&p).is_some() {
                gc.remove(p, ctx);
            }
        });
        self.scheduled.insert(path, (at, timer));
    }

    /// Cancels a removal (the framework or executor came back). Returns
    /// whether it was scheduled.
    pub fn unschedule(&mut self, path: &Path, ctx: &mut Context<Self>) -> bool {
        match self.scheduled.remove(path) {
            Some((_, timer)) => {
                ctx.cancel(timer);
                true
            }
            None => false,
        }
    }

    /// Removes every scheduled path scheduled at least `age` ago.
    pub fn prune(&mut self, age: Duration, ctx: &mut Context<Self>) {
        let now = ctx.now();
        let due: Vec<PathBuf> = self
            .scheduled
            .iter()
            .filter(|(_, (at, _))| now.saturating_duration_since(*at) >= age)
            .map(|(p, _)| p.clone())
            .collect();
        for path in due {
            if let Some((_, timer)) = self.scheduled.remove(&path) {
                ctx.cancel(timer);
            }
            self.remove(path, ctx);
        }
    }

    pub fn scheduled(&self) -> Vec<PathBuf> {
        self.scheduled.keys().cloned().collect()
    }

    pub fn removed(&self) -> u64 {
        self.removed
    }

    fn remove(&mut self, path: PathBuf, ctx: &mut Context<Self>) {
        self.removed += 1;
        let work = async move {
            let p = path.clone();
            let result = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&p)).await;
            (path, result)
        };
        ctx.spawn(work, |_, (path, result), _| match result {
            Ok(Ok(())) => tracing::info!(path = %path.display(), "garbage collected"),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            Ok(Err(e)) => {
                tracing::warn!(path = %path.display(), error = %e, "garbage collection failed")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "garbage collection task failed")
            }
        });
    }

    /// Disk usage of the work directory's file system (0.0-1.0).
    pub fn disk_usage(work_dir: &Path) -> Option<f64> {
        let s = rustix::fs::statvfs(work_dir).ok()?;
        if s.f_blocks == 0 {
            return None;
        }
        Some(1.0 - s.f_bavail as f64 / s.f_blocks as f64)
    }

    fn watch_disk(&mut self, ctx: &mut Context<Self>) {
        if let Some(usage) = Self::disk_usage(&self.work_dir) {
            let age = max_age(self.gc_delay, self.headroom, usage);
            if age < self.gc_delay {
                tracing::info!(
                    usage,
                    ?age,
                    "disk usage is high; pruning sandboxes older than the max age"
                );
                self.prune(age, ctx);
            }
        }
        let interval = self.disk_watch_interval;
        ctx.delay(interval, |gc: &mut GarbageCollector, ctx| {
            gc.watch_disk(ctx)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_shrinks_with_disk_usage() {
        let week = Duration::from_secs(7 * 24 * 3600);
        assert_eq!(max_age(week, 0.1, 0.0), week.mul_f64(0.9));
        assert_eq!(max_age(week, 0.1, 0.9), Duration::ZERO);
        assert_eq!(max_age(week, 0.1, 0.95), Duration::ZERO);
        assert_eq!(max_age(week, 0.0, 0.5), week / 2);
    }
}
