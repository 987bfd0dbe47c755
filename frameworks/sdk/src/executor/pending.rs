//! What a resubscription must carry (pure): the tasks the agent launched
//! whose updates are not acknowledged yet, and the updates themselves in
//! the order they were sent (the agent replays them into each task's
//! stream in that order).

use std::collections::{BTreeMap, HashMap};

use mesos_common::proto::v1;

/// Unacknowledged updates kept at most; beyond that the oldest are
/// dropped with a log line (a stuck agent must not grow the executor).
pub const UPDATES_PENDING_MAX: usize = 10_000;
/// Unacknowledged tasks kept at most.
pub const TASKS_PENDING_MAX: usize = 10_000;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pending {
    tasks: BTreeMap<String, v1::TaskInfo>,
    /// By the order they were added (`next` numbers them), indexed by uuid
    /// in `by_uuid`: an executor with thousands of updates in flight adds
    /// and acknowledges each without scanning the others.
    updates: BTreeMap<u64, (Vec<u8>, v1::executor::call::Update)>,
    by_uuid: HashMap<Vec<u8>, u64>,
    next: u64,
}

impl Pending {
    /// A task the agent launched.
    pub fn add_task(&mut self, task: v1::TaskInfo) {
        if self.tasks.len() >= TASKS_PENDING_MAX && !self.tasks.contains_key(&task.task_id.value) {
            tracing::warn!(task = %task.task_id.value, "too many unacknowledged tasks; not kept");
            return;
        }
        self.tasks.insert(task.task_id.value.clone(), task);
    }

    /// Remembers an update until its acknowledgement (by uuid).
    pub fn add_update(&mut self, uuid: Vec<u8>, update: v1::executor::call::Update) {
        if self.by_uuid.contains_key(&uuid) {
            return;
        }
        if self.updates.len() >= UPDATES_PENDING_MAX
            && let Some((_, (oldest, dropped))) = self.updates.pop_first()
        {
            self.by_uuid.remove(&oldest);
            tracing::warn!(task = %dropped.status.task_id.value, "too many unacknowledged updates; dropped the oldest");
        }
        let seq = self.next;
        self.next += 1;
        self.by_uuid.insert(uuid.clone(), seq);
        self.updates.insert(seq, (uuid, update));
    }

    /// An acknowledgement: forgets the update and, as Mesos does, the task.
    pub fn acknowledged(&mut self, task_id: &str, uuid: &[u8]) {
        if let Some(seq) = self.by_uuid.remove(uuid) {
            self.updates.remove(&seq);
        }
        self.tasks.remove(task_id);
    }

    /// The unacknowledged updates, oldest first.
    pub fn updates(&self) -> impl Iterator<Item = &v1::executor::call::Update> {
        self.updates.values().map(|(_, u)| u)
    }

    pub fn tasks(&self) -> impl Iterator<Item = &v1::TaskInfo> {
        self.tasks.values()
    }

    /// The SUBSCRIBE body a (re)subscription sends.
    pub fn subscribe(&self) -> v1::executor::call::Subscribe {
        v1::executor::call::Subscribe {
            unacknowledged_tasks: self.tasks().cloned().collect(),
            unacknowledged_updates: self.updates().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(task: &str, first_byte: u8) -> (Vec<u8>, v1::executor::call::Update) {
        let uuid = vec![first_byte; 16];
        let status = v1::TaskStatus {
            task_id: v1::TaskId { value: task.into() },
            uuid: Some(uuid.clone()),
            ..Default::default()
        };
        (uuid, v1::executor::call::Update { status })
    }

    #[test]
    fn updates_keep_their_order_and_leave_on_acknowledgement() {
        let mut p = Pending::default();
        p.add_task(v1::TaskInfo {
            task_id: v1::TaskId { value: "a".into() },
            ..Default::default()
        });
        for b in [9u8, 1, 5] {
            let (u, up) = update("a", b);
            p.add_update(u, up);
        }
        let (u, up) = update("a", 1);
        p.add_update(u, up);
        let order = |p: &Pending| -> Vec<u8> {
            p.updates()
                .map(|x| x.status.uuid.as_ref().unwrap()[0])
                .collect()
        };
        assert_eq!(order(&p), [9, 1, 5]);
        let sub = p.subscribe();
        assert_eq!(sub.unacknowledged_tasks.len(), 1);
        assert_eq!(sub.unacknowledged_updates.len(), 3);
        p.acknowledged("a", &[1; 16]);
        assert_eq!(order(&p), [9, 5]);
        assert_eq!(p.tasks().count(), 0);
    }

    #[test]
    fn pending_updates_are_bounded() {
        let mut p = Pending::default();
        for i in 0..(UPDATES_PENDING_MAX + 3) {
            let uuid = (i as u64).to_be_bytes().to_vec();
            p.add_update(uuid, update("a", 0).1);
        }
        assert_eq!(p.updates().count(), UPDATES_PENDING_MAX);
        // The oldest three left, the index with them: acknowledging one of
        // them changes nothing, re-adding it counts as new.
        p.acknowledged("a", &0u64.to_be_bytes());
        assert_eq!(p.updates().count(), UPDATES_PENDING_MAX);
        p.acknowledged("a", &3u64.to_be_bytes());
        assert_eq!(p.updates().count(), UPDATES_PENDING_MAX - 1);
        p.add_update(0u64.to_be_bytes().to_vec(), update("a", 0).1);
        assert_eq!(p.updates().count(), UPDATES_PENDING_MAX);
        assert_eq!(p.by_uuid.len(), p.updates.len());
    }
}
