//! Registry garbage collection (Mesos `Master::doRegistryGc`): every
//! `--registry_gc_interval`, unreachable and gone agents beyond
//! `--registry_max_agent_count` (oldest first) or older than
//! `--registry_max_agent_age` are pruned from the registry, so the lists
//! stay bounded however many agents come and go.
//!
//! [`prune`] is the pure decision; the `impl Master` below arms the timer
//! and applies `Operation::Prune`.

use std::collections::BTreeMap;
use std::time::Duration;

use libprocess::Context;
use mesos_common::ids::AgentId;
use mesos_common::proto::v0;

use super::Operation;
use crate::master::Master;

/// Which of `agents` (id -> when it became unreachable or gone) to prune
/// at `now_ns`: the oldest ones past `max_count`, then any older than
/// `max_age`. Mesos walks its list in insertion order; the master keeps
/// these by id, so the timestamp stands in for insertion order.
pub fn prune(
    agents: &BTreeMap<AgentId, v0::TimeInfo>,
    now_ns: i64,
    max_age: Duration,
    max_count: u64,
) -> Vec<AgentId> {
    let mut by_age: Vec<(&AgentId, i64)> =
        agents.iter().map(|(id, t)| (id, t.nanoseconds)).collect();
    by_age.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
    let max_age_ns = i64::try_from(max_age.as_nanos()).unwrap_or(i64::MAX);
    let excess = by_age.len().saturating_sub(max_count as usize);
    by_age
        .into_iter()
        .enumerate()
        .filter(|(i, (_, t))| *i < excess || now_ns.saturating_sub(*t) > max_age_ns)
        .map(|(_, (id, _))| id.clone())
        .collect()
}

impl Master {
    /// Arms the next registry GC (`scheduleRegistryGc`).
    pub(crate) fn schedule_registry_gc(&mut self, ctx: &mut Context<Self>) {
        let interval = self
            .flags
            .registry_gc_interval
            .to_std()
            .unwrap_or(Duration::from_secs(15 * 60));
        ctx.delay(interval, |m: &mut Master, ctx| m.registry_gc(ctx));
    }

    /// `doRegistryGc`: prunes what [`prune`] selects, then forgets it.
    pub(crate) fn registry_gc(&mut self, ctx: &mut Context<Self>) {
        self.schedule_registry_gc(ctx);
        if !self.ready() {
            return;
        }
        let now_ns = (crate::state::task::unix_now() * 1e9) as i64;
        let max_age = self
            .flags
            .registry_max_agent_age
            .to_std()
            .unwrap_or(Duration::MAX);
        let max_count = self.flags.registry_max_agent_count;
        let unreachable = prune(&self.agents.unreachable, now_ns, max_age, max_count);
        let gone = prune(&self.agents.gone, now_ns, max_age, max_count);
        if unreachable.is_empty() && gone.is_empty() {
            tracing::debug!("registry GC: no agents qualify for removal");
            return;
        }
        tracing::info!(
            unreachable = unreachable.len(),
            gone = gone.len(),
            "registry GC: removing agents from the registry"
        );
        let wire = |ids: &[AgentId]| -> Vec<v0::SlaveId> {
            ids.iter()
                .map(|id| v0::SlaveId {
                    value: id.to_string(),
                })
                .collect()
        };
        let op = Operation::Prune {
            unreachable: wire(&unreachable),
            gone: wire(&gone),
        };
        ctx.spawn(self.registrar.apply(op), move |m: &mut Master, r, _| {
            if let Err(e) = r {
                tracing::error!(error = %e, "registry GC failed");
                return;
            }
            for id in &unreachable {
                m.agents.unreachable.remove(id);
                m.agents.unreachable_tasks.remove(id);
            }
            for id in &gone {
                m.agents.gone.remove(id);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agents(times: &[(&str, i64)]) -> BTreeMap<AgentId, v0::TimeInfo> {
        times
            .iter()
            .map(|(id, t)| (AgentId::new(id).unwrap(), v0::TimeInfo { nanoseconds: *t }))
            .collect()
    }

    fn ids(v: Vec<AgentId>) -> Vec<String> {
        let mut v: Vec<String> = v.into_iter().map(|a| a.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn the_oldest_past_the_count_and_all_past_the_age_go() {
        let sec = 1_000_000_000i64;
        let a = agents(&[
            ("a", 50 * sec),
            ("b", 10 * sec),
            ("c", 90 * sec),
            ("d", 30 * sec),
        ]);
        // Count: keep 2 -> the two oldest (b, d) go.
        assert_eq!(ids(prune(&a, 100 * sec, Duration::MAX, 2)), ["b", "d"]);
        // Age: older than 60 s at t=100 s -> b (90 s old) and d (70 s old).
        assert_eq!(
            ids(prune(&a, 100 * sec, Duration::from_secs(60), 10)),
            ["b", "d"]
        );
        // Both: count removes b, age removes a as well (50 s > 45 s).
        assert_eq!(
            ids(prune(&a, 100 * sec, Duration::from_secs(45), 3)),
            ["a", "b", "d"]
        );
        assert!(prune(&a, 100 * sec, Duration::from_secs(3600), 100).is_empty());
        assert!(prune(&BTreeMap::new(), 0, Duration::ZERO, 0).is_empty());
    }
}
