//! Draining (the agent's half of the operator's DRAIN_AGENT).
//!
//! The master sends `DrainSlaveMessage`; the agent then:
//! - checkpoints the `DrainConfig` to `meta/slaves/<id>/drain.config` (the
//!   layout Mesos uses) so a restarted agent resumes the drain,
//! - kills every queued and launched task, the grace period of each kill
//!   capped by `max_grace_period` (this agent launches tasks synchronously in
//!   `run`, so it has no pending tasks to kill as Mesos's `killPendingTask`),
//! - refuses tasks that arrive while draining (`tasks.rs`, dropped with
//!   `REASON_SLAVE_DRAINING`),
//! - marks KILLING/KILLED updates with `REASON_SLAVE_DRAINING` (and, with
//!   `mark_gone`, reports them `TASK_GONE_BY_OPERATOR` to partition-aware
//!   frameworks) in `updates.rs`.
//!
//! The master decides DRAINED itself from those updates (no task left on the
//! agent). The agent forgets its drain once it holds no framework any more
//! (`update_drain_status`, called when a framework is removed), which is also
//! when Mesos removes the checkpoint.

use std::path::{Path, PathBuf};

use libprocess::{Context, Upid};
use mesos_common::proto::internal::{DrainSlaveMessage, KillTaskMessage};
use mesos_common::proto::v0::{DrainConfig, DurationInfo, FrameworkId, KillPolicy, TaskId};

use super::Agent;
use crate::checkpoint;
use crate::error::AgentError;
use crate::paths;

/// Name of the checkpointed drain configuration under the agent's meta dir.
pub const DRAIN_CONFIG_FILE: &str = "drain.config";

/// `<meta>/slaves/<agent_id>/drain.config`.
pub fn drain_config_path(meta: &Path, agent_id: &str) -> PathBuf {
    paths::slave_path(meta, agent_id).join(DRAIN_CONFIG_FILE)
}

/// Reads a checkpointed drain configuration (`None` if the agent was not
/// draining when it stopped).
pub fn recover_drain_config(
    meta: &Path,
    agent_id: &str,
) -> Result<Option<DrainConfig>, AgentError> {
    checkpoint::read_message(&drain_config_path(meta, agent_id))
}

/// The kill policy a drain imposes on a task: the drain's grace period when
/// the task has none or a longer one; `None` keeps the task's own policy
/// (also when the drain sets no maximum).
pub fn drain_kill_policy(
    max_grace_period: Option<&DurationInfo>,
    task_policy: Option<&KillPolicy>,
) -> Option<KillPolicy> {
    let max = max_grace_period?;
    let capped = KillPolicy {
        grace_period: Some(*max),
    };
    match task_policy.and_then(|p| p.grace_period.as_ref()) {
        None => Some(capped),
        Some(own) if own.nanoseconds > max.nanoseconds => Some(capped),
        Some(_) => None,
    }
}

impl Agent {
    /// `DrainSlaveMessage` from the master.
    pub(crate) fn drain_slave(
        &mut self,
        from: Upid,
        msg: DrainSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring drain from a process that is not the leading master");
            self.metrics().invalid_messages.inc();
            return;
        }
        self.drain(msg.config, ctx);
    }

    /// Starts (or restarts, after recovery) draining with `config`.
    pub(crate) fn drain(&mut self, config: DrainConfig, ctx: &mut Context<Self>) {
        if self.frameworks.is_empty() {
            tracing::info!(
                ?config,
                "received a drain config; no framework or task here, so draining is already complete"
            );
            return;
        }
        let agent_id = self.agent_id().value;
        if let Err(e) =
            checkpoint::write_message(&drain_config_path(&self.meta_dir, &agent_id), &config)
        {
            // Without the checkpoint a restart would forget the drain: refuse
            // rather than drain half-way, the master retries on reregistration.
            tracing::error!(error = %e, "cannot checkpoint the drain config; not draining");
            return;
        }
        tracing::info!(?config, previous = ?self.drain_config, "draining the agent");
        self.drain_config = Some(config);
        self.estimated_drain_start_time = Some(crate::protobuf_utils::now_secs());
        let mut kills: Vec<KillTaskMessage> = Vec::new();
        for (fid, framework) in &self.frameworks {
            for executor in framework.executors.values() {
                let launched = executor
                    .launched_tasks
                    .values()
                    .map(|t| (t.task_id.clone(), t.kill_policy.as_ref()));
                let queued = executor
                    .queued_tasks
                    .iter()
                    .map(|t| (t.task_id.clone(), t.kill_policy.as_ref()));
                for (task_id, policy) in launched.chain(queued) {
                    kills.push(KillTaskMessage {
                        framework_id: FrameworkId { value: fid.clone() },
                        task_id: TaskId {
                            value: task_id.value,
                        },
                        kill_policy: drain_kill_policy(config.max_grace_period.as_ref(), policy),
                    });
                }
            }
        }
        for kill in kills {
            self.do_kill_task(kill, ctx);
        }
        self.changed.notify_waiters();
    }

    /// Forgets the drain once no framework is left (Mesos's `updateDrainStatus`).
    pub(crate) fn update_drain_status(&mut self) {
        if self.drain_config.is_none() || !self.frameworks.is_empty() {
            return;
        }
        tracing::info!("agent finished draining");
        let path = drain_config_path(&self.meta_dir, &self.agent_id().value);
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!(path = %path.display(), error = %e, "cannot remove the drain config checkpoint");
        }
        self.drain_config = None;
        self.estimated_drain_start_time = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(ns: i64) -> DurationInfo {
        DurationInfo { nanoseconds: ns }
    }

    fn policy(ns: i64) -> KillPolicy {
        KillPolicy {
            grace_period: Some(d(ns)),
        }
    }

    #[test]
    fn no_max_keeps_the_task_policy() {
        assert_eq!(drain_kill_policy(None, Some(&policy(5))), None);
        assert_eq!(drain_kill_policy(None, None), None);
    }

    #[test]
    fn max_caps_longer_or_missing_grace_periods() {
        assert_eq!(drain_kill_policy(Some(&d(10)), None), Some(policy(10)));
        assert_eq!(
            drain_kill_policy(Some(&d(10)), Some(&KillPolicy { grace_period: None })),
            Some(policy(10))
        );
        assert_eq!(
            drain_kill_policy(Some(&d(10)), Some(&policy(20))),
            Some(policy(10))
        );
        assert_eq!(drain_kill_policy(Some(&d(10)), Some(&policy(5))), None);
        assert_eq!(drain_kill_policy(Some(&d(10)), Some(&policy(10))), None);
    }

    #[test]
    fn drain_config_round_trips_through_its_checkpoint() {
        let dir = std::env::temp_dir().join(format!("drain-{}", uuid::Uuid::new_v4().simple()));
        assert_eq!(recover_drain_config(&dir, "S1").expect("read"), None);
        let config = DrainConfig {
            max_grace_period: Some(d(3_000_000_000)),
            mark_gone: Some(true),
        };
        let path = drain_config_path(&dir, "S1");
        assert!(path.ends_with("slaves/S1/drain.config"));
        checkpoint::write_message(&path, &config).expect("write");
        assert_eq!(
            recover_drain_config(&dir, "S1").expect("read"),
            Some(config)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
