//! The services core (pure, `now` passed in): apps, their tasks, and what
//! to launch or kill so each app runs `instances` tasks.
//!
//! A task that ends without being asked to (failed, lost, unreachable,
//! finished, ...) is replaced, but not before the app's restart backoff
//! has passed; the backoff doubles with each such end up to a maximum and
//! resets once a task of the app reaches TASK_RUNNING. A task reported
//! unhealthy is killed and replaced the same way.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::app::{AppError, AppSpec, validate_instances};

/// Most tasks tracked (all apps).
pub const TASKS_MAX: usize = 100_000;

/// A task's phase as far as the core cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    Staging,
    Running,
}

#[derive(Debug, Clone)]
struct Task {
    app: String,
    phase: Phase,
    agent: Option<String>,
    /// The core asked for it to be killed: its end is not a failure.
    killing: bool,
}

#[derive(Debug, Clone)]
struct App {
    spec: AppSpec,
    backoff: Duration,
    not_before: Option<Instant>,
    restarts: u64,
}

/// What an app looks like from outside.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppStatus {
    #[serde(flatten)]
    pub spec: AppSpec,
    pub tasks_running: usize,
    pub tasks_staged: usize,
    pub restarts: u64,
    /// Agent ids of the running tasks.
    pub agents: Vec<String>,
}

/// How a task ended or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Running,
    /// TASK_STARTING, TASK_STAGING, ...: nothing to do.
    Pending,
    /// A terminal state (or one the master will not take back).
    Ended,
}

/// The services state.
#[derive(Debug)]
pub struct Core {
    apps: BTreeMap<String, App>,
    tasks: BTreeMap<String, Task>,
    backoff_min: Duration,
    backoff_max: Duration,
}

impl Core {
    pub fn new(backoff_min: Duration, backoff_max: Duration) -> Core {
        Core {
            apps: BTreeMap::new(),
            tasks: BTreeMap::new(),
            backoff_min,
            backoff_max: backoff_max.max(backoff_min),
        }
    }

    pub fn add(&mut self, spec: AppSpec) -> Result<(), AppError> {
        spec.validate()?;
        if self.apps.contains_key(&spec.id) {
            return Err(AppError::Exists(spec.id));
        }
        self.apps.insert(
            spec.id.clone(),
            App {
                spec,
                backoff: self.backoff_min,
                not_before: None,
                restarts: 0,
            },
        );
        Ok(())
    }

    fn live(&self, app: &str) -> impl Iterator<Item = (&String, &Task)> {
        self.tasks
            .iter()
            .filter(move |(_, t)| t.app == app && !t.killing)
    }

    /// Sets the instance count; returns the tasks to kill (newest first
    /// kept out: staging ones go before running ones).
    pub fn scale(&mut self, id: &str, instances: u32) -> Result<Vec<String>, AppError> {
        validate_instances(instances)?;
        let app = self
            .apps
            .get_mut(id)
            .ok_or_else(|| AppError::NotFound(id.into()))?;
        app.spec.instances = instances;
        let mut live: Vec<(String, Phase)> = self
            .live(id)
            .map(|(tid, t)| (tid.clone(), t.phase))
            .collect();
        let excess = live.len().saturating_sub(instances as usize);
        live.sort_by_key(|(_, p)| *p == Phase::Running);
        let kill: Vec<String> = live.into_iter().take(excess).map(|(t, _)| t).collect();
        for t in &kill {
            if let Some(task) = self.tasks.get_mut(t) {
                task.killing = true;
            }
        }
        Ok(kill)
    }

    /// Removes an app; returns its tasks to kill.
    pub fn remove(&mut self, id: &str) -> Result<Vec<String>, AppError> {
        let kill = self.scale(id, 0)?;
        self.apps.remove(id);
        Ok(kill)
    }

    /// Tasks to start now, per app (apps in backoff wait).
    pub fn wanted(&self, now: Instant) -> Vec<(String, usize)> {
        self.apps
            .values()
            .filter(|a| a.not_before.is_none_or(|t| now >= t))
            .filter_map(|a| {
                let live = self.live(&a.spec.id).count();
                let room = TASKS_MAX.saturating_sub(self.tasks.len());
                let n = (a.spec.instances as usize).saturating_sub(live).min(room);
                (n > 0).then(|| (a.spec.id.clone(), n))
            })
            .collect()
    }

    /// When the earliest app in backoff may launch again.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.apps.values().filter_map(|a| a.not_before).min()
    }

    pub fn spec(&self, app: &str) -> Option<&AppSpec> {
        self.apps.get(app).map(|a| &a.spec)
    }

    /// Records a launch.
    pub fn launched(&mut self, app: &str, task_id: &str, agent: &str) {
        self.tasks.insert(
            task_id.into(),
            Task {
                app: app.into(),
                phase: Phase::Staging,
                agent: Some(agent.into()),
                killing: false,
            },
        );
    }

    /// A status update; returns whether to kill the task (unhealthy).
    pub fn update(
        &mut self,
        task_id: &str,
        change: Change,
        healthy: Option<bool>,
        now: Instant,
    ) -> bool {
        let Some(task) = self.tasks.get_mut(task_id) else {
            return false;
        };
        match change {
            Change::Pending => false,
            Change::Running => {
                task.phase = Phase::Running;
                let app = task.app.clone();
                if let Some(a) = self.apps.get_mut(&app) {
                    a.backoff = self.backoff_min;
                }
                if healthy == Some(false) && !task.killing {
                    task.killing = true;
                    self.failed(&app, now);
                    return true;
                }
                false
            }
            Change::Ended => {
                let Some(task) = self.tasks.remove(task_id) else {
                    return false;
                };
                if !task.killing {
                    self.failed(&task.app, now);
                }
                false
            }
        }
    }

    fn failed(&mut self, app: &str, now: Instant) {
        if let Some(a) = self.apps.get_mut(app) {
            a.restarts += 1;
            a.not_before = Some(now + a.backoff);
            a.backoff = (a.backoff * 2).min(self.backoff_max);
        }
    }

    pub fn status(&self, id: &str) -> Result<AppStatus, AppError> {
        let app = self
            .apps
            .get(id)
            .ok_or_else(|| AppError::NotFound(id.into()))?;
        let tasks: Vec<&Task> = self
            .tasks
            .values()
            .filter(|t| t.app == id && !t.killing)
            .collect();
        let mut agents: Vec<String> = tasks
            .iter()
            .filter(|t| t.phase == Phase::Running)
            .filter_map(|t| t.agent.clone())
            .collect();
        agents.sort();
        Ok(AppStatus {
            spec: app.spec.clone(),
            tasks_running: tasks.iter().filter(|t| t.phase == Phase::Running).count(),
            tasks_staged: tasks.iter().filter(|t| t.phase == Phase::Staging).count(),
            restarts: app.restarts,
            agents,
        })
    }

    pub fn list(&self) -> Vec<AppStatus> {
        self.apps
            .keys()
            .filter_map(|id| self.status(id).ok())
            .collect()
    }

    /// Every task the core knows (for reconciliation).
    pub fn task_ids(&self) -> Vec<String> {
        self.tasks.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, instances: u32) -> AppSpec {
        AppSpec {
            id: id.into(),
            cmd: "sleep 100".into(),
            cpus: 0.1,
            mem: 32.0,
            instances,
            health_check: None,
        }
    }

    #[test]
    fn keeps_the_instance_count_and_backs_off_after_failures() {
        let t0 = Instant::now();
        let mut c = Core::new(Duration::from_secs(1), Duration::from_secs(4));
        c.add(spec("web", 2)).unwrap();
        assert_eq!(c.add(spec("web", 1)), Err(AppError::Exists("web".into())));
        assert_eq!(c.wanted(t0), vec![("web".into(), 2)]);
        c.launched("web", "a", "S0");
        c.launched("web", "b", "S0");
        assert!(c.wanted(t0).is_empty());
        c.update("a", Change::Running, None, t0);
        c.update("b", Change::Running, None, t0);
        assert_eq!(c.status("web").unwrap().tasks_running, 2);
        // b fails: replaced after 1 s, then 2 s, capped at 4 s.
        c.update("b", Change::Ended, None, t0);
        assert!(c.wanted(t0).is_empty());
        assert_eq!(c.next_wakeup(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(
            c.wanted(t0 + Duration::from_secs(1)),
            vec![("web".into(), 1)]
        );
        c.launched("web", "c", "S1");
        c.update("c", Change::Ended, None, t0);
        assert_eq!(c.next_wakeup(), Some(t0 + Duration::from_secs(2)));
        for i in 0..3 {
            c.launched("web", &format!("x{i}"), "S1");
            c.update(&format!("x{i}"), Change::Ended, None, t0);
        }
        assert_eq!(c.next_wakeup(), Some(t0 + Duration::from_secs(4)));
        assert_eq!(c.status("web").unwrap().restarts, 5);
        // Running again resets the backoff.
        c.launched("web", "d", "S1");
        c.update("d", Change::Running, None, t0);
        c.update("a", Change::Ended, None, t0);
        assert_eq!(c.next_wakeup(), Some(t0 + Duration::from_secs(1)));
    }

    #[test]
    fn scaling_and_removal_kill_without_counting_failures() {
        let t0 = Instant::now();
        let mut c = Core::new(Duration::from_secs(1), Duration::from_secs(4));
        c.add(spec("web", 3)).unwrap();
        for t in ["a", "b", "c"] {
            c.launched("web", t, "S0");
        }
        c.update("a", Change::Running, None, t0);
        c.update("b", Change::Running, None, t0);
        // The staging one goes first.
        assert_eq!(c.scale("web", 2).unwrap(), vec!["c".to_string()]);
        c.update("c", Change::Ended, None, t0);
        assert_eq!(c.status("web").unwrap().restarts, 0);
        assert!(c.wanted(t0).is_empty());
        assert!(matches!(c.scale("web", 5000), Err(AppError::Invalid(_))));
        assert_eq!(c.scale("nope", 1), Err(AppError::NotFound("nope".into())));
        let mut killed = c.remove("web").unwrap();
        killed.sort();
        assert_eq!(killed, vec!["a".to_string(), "b".to_string()]);
        assert!(c.list().is_empty());
    }

    #[test]
    fn unhealthy_tasks_are_killed_and_replaced() {
        let t0 = Instant::now();
        let mut c = Core::new(Duration::from_millis(10), Duration::from_secs(1));
        c.add(spec("api", 1)).unwrap();
        c.launched("api", "a", "S0");
        assert!(!c.update("a", Change::Running, Some(true), t0));
        assert!(c.update("a", Change::Running, Some(false), t0));
        // Already being killed: its end is not another failure.
        c.update("a", Change::Ended, None, t0);
        assert_eq!(c.status("api").unwrap().restarts, 1);
        assert_eq!(
            c.wanted(t0 + Duration::from_millis(10)),
            vec![("api".into(), 1)]
        );
    }
}
