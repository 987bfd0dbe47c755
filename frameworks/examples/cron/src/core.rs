//! Jobs and the cron core (pure; the time is passed in as epoch ms).
//!
//! A job runs on a schedule or after its parents: a dependent job runs once
//! each of its parents has succeeded since the job last ran. A failed run
//! is retried up to `retries` times. Runs missed while the framework was
//! behind are coalesced into one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::iso8601::Schedule;

/// Most jobs.
pub const JOBS_MAX: usize = 10_000;
/// Most runs waiting for offers.
pub const PENDING_MAX: usize = 10_000;
/// Most retries of one run.
pub const RETRIES_MAX: u32 = 100;
/// Run records kept per job.
pub const HISTORY_MAX: usize = 100;

fn default_cpus() -> f64 {
    0.1
}

fn default_mem() -> f64 {
    32.0
}

/// A job definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub name: String,
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    #[serde(default)]
    pub retries: u32,
    #[serde(default = "default_cpus")]
    pub cpus: f64,
    #[serde(default = "default_mem")]
    pub mem: f64,
}

/// Why a job request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error("invalid job: {0}")]
    Invalid(String),
    #[error("job '{0}' already exists")]
    Exists(String),
    #[error("job '{0}' does not exist")]
    NotFound(String),
    #[error("the scheduler is not running")]
    Unavailable,
}

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub task_id: String,
    pub attempt: u32,
    pub success: bool,
    pub finished_ms: i64,
}

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    #[serde(flatten)]
    pub spec: JobSpec,
    pub successes: u64,
    pub failures: u64,
    /// Runs that failed after their last retry.
    pub errors: u64,
    pub next_run_ms: Option<i64>,
    pub history: Vec<RunRecord>,
}

#[derive(Debug, Clone)]
struct Job {
    spec: JobSpec,
    schedule: Option<Schedule>,
    next_index: u64,
    parents_done: BTreeSet<String>,
    successes: u64,
    failures: u64,
    errors: u64,
    history: VecDeque<RunRecord>,
}

/// A run to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub job: String,
    pub attempt: u32,
}

/// The cron state.
#[derive(Debug, Default)]
pub struct Core {
    jobs: BTreeMap<String, Job>,
    pending: VecDeque<Pending>,
    running: BTreeMap<String, Pending>,
}

fn validate_name(name: &str) -> Result<(), JobError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(JobError::Invalid(format!(
            "'name' must be 1-64 of [A-Za-z0-9_-]; got '{name}'"
        )))
    }
}

impl JobSpec {
    /// Parses and checks a JSON definition (parents are checked by the core).
    pub fn parse(body: &[u8]) -> Result<JobSpec, JobError> {
        if body.len() > 64 * 1024 {
            return Err(JobError::Invalid("body over 64 KiB".into()));
        }
        serde_json::from_slice(body).map_err(|e| JobError::Invalid(e.to_string()))
    }
}

impl Core {
    pub fn new() -> Core {
        Core::default()
    }

    /// Adds a job; a scheduled job's first run is its first occurrence at
    /// or after `now_ms`.
    pub fn add(&mut self, spec: JobSpec, now_ms: i64) -> Result<(), JobError> {
        validate_name(&spec.name)?;
        if self.jobs.contains_key(&spec.name) {
            return Err(JobError::Exists(spec.name));
        }
        if self.jobs.len() >= JOBS_MAX {
            return Err(JobError::Invalid(format!("more than {JOBS_MAX} jobs")));
        }
        if spec.command.trim().is_empty() {
            return Err(JobError::Invalid("'command' is empty".into()));
        }
        if !(spec.cpus.is_finite() && spec.cpus > 0.0 && spec.mem.is_finite() && spec.mem > 0.0) {
            return Err(JobError::Invalid(
                "'cpus' and 'mem' must be positive".into(),
            ));
        }
        if spec.retries > RETRIES_MAX {
            return Err(JobError::Invalid(format!("'retries' over {RETRIES_MAX}")));
        }
        let schedule = match (&spec.schedule, spec.parents.is_empty()) {
            (Some(_), false) => {
                return Err(JobError::Invalid(
                    "a job has a 'schedule' or 'parents', not both".into(),
                ));
            }
            (None, true) => {
                return Err(JobError::Invalid(
                    "a job needs a 'schedule' or 'parents'".into(),
                ));
            }
            (Some(s), true) => {
                Some(Schedule::parse(s).map_err(|e| JobError::Invalid(e.to_string()))?)
            }
            (None, false) => None,
        };
        // Parents must exist already, so dependencies never form a cycle.
        for p in &spec.parents {
            if !self.jobs.contains_key(p) {
                return Err(JobError::Invalid(format!("parent '{p}' does not exist")));
            }
        }
        let next_index = schedule.map_or(0, |s| s.first_index_at_or_after(now_ms));
        self.jobs.insert(
            spec.name.clone(),
            Job {
                spec,
                schedule,
                next_index,
                parents_done: BTreeSet::new(),
                successes: 0,
                failures: 0,
                errors: 0,
                history: VecDeque::new(),
            },
        );
        Ok(())
    }

    fn queue(&mut self, job: &str, attempt: u32) {
        let busy = self.pending.iter().any(|p| p.job == job)
            || self
                .running
                .values()
                .any(|p| p.job == job && p.attempt == attempt);
        if !busy && self.pending.len() < PENDING_MAX {
            self.pending.push_back(Pending {
                job: job.into(),
                attempt,
            });
        }
    }

    /// Queues the scheduled runs due at `now_ms`.
    pub fn tick(&mut self, now_ms: i64) {
        let mut due = Vec::new();
        for job in self.jobs.values_mut() {
            let Some(s) = job.schedule else { continue };
            let mut fired = false;
            while let Some(t) = s.nth(job.next_index)
                && t <= now_ms
            {
                job.next_index += 1;
                fired = true;
            }
            if fired {
                due.push(job.spec.name.clone());
            }
        }
        for j in due {
            self.queue(&j, 0);
        }
    }

    /// The next scheduled run of any job.
    pub fn next_run_ms(&self) -> Option<i64> {
        self.jobs
            .values()
            .filter_map(|j| j.schedule.and_then(|s| s.nth(j.next_index)))
            .min()
    }

    pub fn pending(&self) -> impl Iterator<Item = &Pending> {
        self.pending.iter()
    }

    pub fn spec(&self, job: &str) -> Option<&JobSpec> {
        self.jobs.get(job).map(|j| &j.spec)
    }

    /// Takes the pending run at the front (the caller launches it).
    pub fn start_next(&mut self, task_id: &str) -> Option<Pending> {
        let p = self.pending.pop_front()?;
        self.running.insert(task_id.into(), p.clone());
        Some(p)
    }

    /// A run ended; queues retries and dependent jobs.
    pub fn finished(&mut self, task_id: &str, success: bool, now_ms: i64) {
        let Some(run) = self.running.remove(task_id) else {
            return;
        };
        let Some(job) = self.jobs.get_mut(&run.job) else {
            return;
        };
        job.history.push_back(RunRecord {
            task_id: task_id.into(),
            attempt: run.attempt,
            success,
            finished_ms: now_ms,
        });
        while job.history.len() > HISTORY_MAX {
            job.history.pop_front();
        }
        if !success {
            job.failures += 1;
            if run.attempt < job.spec.retries {
                self.queue(&run.job, run.attempt + 1);
            } else {
                job.errors += 1;
            }
            return;
        }
        job.successes += 1;
        let mut ready = Vec::new();
        for child in self.jobs.values_mut() {
            if child.spec.parents.contains(&run.job) {
                child.parents_done.insert(run.job.clone());
                if child
                    .spec
                    .parents
                    .iter()
                    .all(|p| child.parents_done.contains(p))
                {
                    child.parents_done.clear();
                    ready.push(child.spec.name.clone());
                }
            }
        }
        for c in ready {
            self.queue(&c, 0);
        }
    }

    pub fn status(&self, name: &str) -> Result<JobStatus, JobError> {
        let j = self
            .jobs
            .get(name)
            .ok_or_else(|| JobError::NotFound(name.into()))?;
        Ok(JobStatus {
            spec: j.spec.clone(),
            successes: j.successes,
            failures: j.failures,
            errors: j.errors,
            next_run_ms: j.schedule.and_then(|s| s.nth(j.next_index)),
            history: j.history.iter().cloned().collect(),
        })
    }

    pub fn list(&self) -> Vec<JobStatus> {
        self.jobs
            .keys()
            .filter_map(|n| self.status(n).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8601::parse_time;

    fn job(name: &str, schedule: Option<&str>, parents: &[&str], retries: u32) -> JobSpec {
        JobSpec {
            name: name.into(),
            command: "true".into(),
            schedule: schedule.map(Into::into),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            retries,
            cpus: 0.1,
            mem: 32.0,
        }
    }

    /// Runs everything pending to the given outcome; returns the job names run.
    fn run_all(c: &mut Core, ok: bool, now: i64, n: &mut u32) -> Vec<String> {
        let mut ran = Vec::new();
        while c.pending().next().is_some() {
            *n += 1;
            let id = format!("t{n}");
            let p = c.start_next(&id).unwrap();
            ran.push(p.job);
            c.finished(&id, ok, now);
        }
        ran
    }

    #[test]
    fn a_dependent_chain_runs_on_schedule() {
        let t0 = parse_time("2026-01-01T00:00:00Z").unwrap();
        let mut c = Core::new();
        c.add(job("a", Some("R2/2026-01-01T00:00:00Z/PT1M"), &[], 0), t0)
            .unwrap();
        c.add(job("b", None, &["a"], 0), t0).unwrap();
        c.add(job("c", None, &["a", "b"], 0), t0).unwrap();
        let mut n = 0;
        c.tick(t0 - 1);
        assert!(c.pending().next().is_none());
        c.tick(t0);
        assert_eq!(run_all(&mut c, true, t0, &mut n), vec!["a", "b", "c"]);
        assert_eq!(c.next_run_ms(), Some(t0 + 60_000));
        c.tick(t0 + 59_999);
        assert!(c.pending().next().is_none());
        // Far behind: the missed runs coalesce into one, and R2 ends it.
        c.tick(t0 + 600_000);
        assert_eq!(run_all(&mut c, true, t0, &mut n), vec!["a", "b", "c"]);
        assert_eq!(c.next_run_ms(), None);
        assert_eq!(c.status("c").unwrap().successes, 2);
    }

    #[test]
    fn failures_are_retried_then_counted_and_block_children() {
        let t0 = 0;
        let mut c = Core::new();
        c.add(job("f", Some("R1/1970-01-01T00:00:00Z/PT1S"), &[], 2), t0)
            .unwrap();
        c.add(job("g", None, &["f"], 0), t0).unwrap();
        c.tick(t0);
        let mut n = 0;
        assert_eq!(run_all(&mut c, false, t0, &mut n), vec!["f", "f", "f"]);
        let s = c.status("f").unwrap();
        assert_eq!((s.failures, s.errors, s.successes), (3, 1, 0));
        assert_eq!(
            s.history.iter().map(|r| r.attempt).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(c.status("g").unwrap().successes, 0);
    }

    #[test]
    fn invalid_jobs_are_refused_with_the_reason() {
        let mut c = Core::new();
        let bad = |c: &mut Core, j: JobSpec, why: &str| match c.add(j, 0) {
            Err(JobError::Invalid(m)) => assert!(m.contains(why), "{m} (wanted {why})"),
            other => panic!("{other:?}"),
        };
        bad(
            &mut c,
            job("a", Some("R/2026-13-01T00:00:00Z/PT1M"), &[], 0),
            "month 13",
        );
        bad(
            &mut c,
            job("a", Some("R/2026-01-01T00:00:00Z/P1M"), &[], 0),
            "calendar",
        );
        bad(
            &mut c,
            job("a", None, &[], 0),
            "needs a 'schedule' or 'parents'",
        );
        bad(
            &mut c,
            job("a", None, &["ghost"], 0),
            "parent 'ghost' does not exist",
        );
        bad(
            &mut c,
            job("a b", Some("R/2026-01-01T00:00:00Z/PT1M"), &[], 0),
            "'name'",
        );
        bad(
            &mut c,
            job("a", Some("R/2026-01-01T00:00:00Z/PT1M"), &[], 500),
            "'retries'",
        );
        c.add(job("a", Some("R/2026-01-01T00:00:00Z/PT1M"), &[], 0), 0)
            .unwrap();
        bad(
            &mut c,
            job("b", Some("R/2026-01-01T00:00:00Z/PT1M"), &["a"], 0),
            "not both",
        );
        assert_eq!(
            c.add(job("a", Some("R/2026-01-01T00:00:00Z/PT1M"), &[], 0), 0),
            Err(JobError::Exists("a".into()))
        );
        assert!(matches!(
            JobSpec::parse(b"{\"name\":1}"),
            Err(JobError::Invalid(_))
        ));
    }
}
