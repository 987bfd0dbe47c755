//! Which ReregisterSlaveMessages the master handles in full: after a
//! failover every agent sends one within a second and retries on its
//! backoff. A retry queued behind the agent's reregistration, or sent
//! before our acknowledgement reached it, is ignored on a look at its
//! agent id; the others are decoded ahead on the I/O thread that reads
//! them (`Context::predecode`).

use bytes::Bytes;
use libprocess::{Context, Predecoded, Upid};
use mesos_common::ids::AgentId;
use mesos_common::proto::{ProtoDecodeError, decode_strict, internal};

use super::Master;

/// How long after an agent reregistered a ReregisterSlaveMessage from the
/// same pid is taken for a retry it sent before our acknowledgement reached
/// it, and ignored. After a failover 40k agents retry on their backoff
/// (random, from 2 s) while acknowledgements queue; handling each such
/// retry as a new reregistration (all its tasks reconciled again) delayed
/// the others further, and they retried more: up to 24k extra full
/// reregistrations for 40k agents. An agent whose acknowledgement was lost
/// retries after the window and is handled in full; one that restarted
/// has a new pid.
pub const REREGISTRATION_RETRY_WINDOW: std::time::Duration = std::time::Duration::from_secs(5);

/// A ReregisterSlaveMessage decoded on the I/O thread.
type PredecodedReregistration = Result<internal::ReregisterSlaveMessage, ProtoDecodeError>;

/// Bound on the agents with a reregistration decoded ahead and not yet
/// handled (a process that stops before handling them leaves their ids).
const PREDECODED_MAX: usize = 200_000;

impl Master {
    /// ReregisterSlaveMessage, with what its predecoder made of it.
    pub(super) fn reregistration_message(
        &mut self,
        from: Upid,
        body: Bytes,
        pre: Option<Predecoded>,
        ctx: &mut Context<Self>,
    ) {
        let predecoded = pre
            .and_then(|p| p.downcast::<PredecodedReregistration>().ok())
            .map(|p| *p);
        let id = peek_agent_id(&body);
        if predecoded.is_some()
            && let Some(id) = id
        {
            self.agents.predecoded.lock().remove(id);
        }
        if !self.ready() {
            self.metrics.counters.dropped_messages.inc();
            tracing::debug!(%from, "dropping ReregisterSlaveMessage: not elected or not recovered");
            return;
        }
        // A retry queued while the agent's reregistration is under
        // way, or sent before its acknowledgement arrived, costs a
        // look at its id, not a full decode.
        if let Some(id) = id
            && (self.reregistration_in_progress(id) || self.just_reregistered(id, &from))
        {
            self.metrics.counters.messages_reregister_slave.inc();
            tracing::debug!(agent = %id, %from, "ignoring reregistration: one is in progress or was just handled");
            return;
        }
        let msg = match predecoded {
            Some(decoded) => self.decoded(&from, decoded),
            None => self.decode::<internal::ReregisterSlaveMessage>(&from, &body),
        };
        if let Some(msg) = msg {
            self.reregister_agent(from, msg, ctx);
        }
    }

    /// Decodes agents' reregistrations on the I/O thread that reads them:
    /// after a failover every agent sends one (with all its tasks) within
    /// a second, and decoding them was a fifth of the new leader's actor
    /// thread, which runs the master, the allocator and every agent
    /// observer. A message from an agent whose earlier one is still queued
    /// is left to the handler (a retry it ignores after a look at its id).
    pub(super) fn predecode_reregistrations(&self, ctx: &Context<Self>) {
        let pending = self.agents.predecoded.clone();
        ctx.predecode(
            &<internal::ReregisterSlaveMessage as prost::Name>::full_name(),
            move |body| {
                let id = peek_agent_id(body)?;
                {
                    let mut pending = pending.lock();
                    if pending.len() >= PREDECODED_MAX || !pending.insert(id.to_owned()) {
                        return None;
                    }
                }
                let decoded: PredecodedReregistration = decode_strict(body);
                Some(Box::new(decoded))
            },
        );
    }

    /// Whether agent `id` reregistered from `from` within
    /// [`REREGISTRATION_RETRY_WINDOW`] and is still connected there.
    pub(crate) fn just_reregistered(&self, id: &str, from: &Upid) -> bool {
        let Ok(id) = AgentId::new(id) else {
            return false;
        };
        let connected = self
            .agents
            .registered
            .get(&id)
            .is_some_and(|a| a.connected() && a.pid == *from);
        connected
            && self
                .agents
                .recently_reregistered
                .get(&id)
                .is_some_and(|(pid, at)| {
                    pid == from
                        && libprocess::Clock::now().duration_since(*at)
                            < REREGISTRATION_RETRY_WINDOW
                })
    }

    /// Remembers that agent `id` reregistered from `pid` now, forgetting
    /// those older than the window (bounded by the agents that reregister
    /// within one window).
    pub(super) fn remember_reregistered(&mut self, id: &AgentId, pid: &Upid) {
        let now = libprocess::Clock::now();
        let recent = &mut self.agents;
        while let Some((at, _)) = recent.recent_order.front() {
            if now.duration_since(*at) < REREGISTRATION_RETRY_WINDOW {
                break;
            }
            if let Some((at, old)) = recent.recent_order.pop_front()
                && recent
                    .recently_reregistered
                    .get(&old)
                    .is_some_and(|(_, t)| *t == at)
            {
                recent.recently_reregistered.remove(&old);
            }
        }
        recent
            .recently_reregistered
            .insert(id.clone(), (pid.clone(), now));
        recent.recent_order.push_back((now, id.clone()));
    }

    /// Whether a ReregisterSlaveMessage from agent `id` is to be ignored
    /// because a reregistration or a registry operation on it is under
    /// way (Mesos's first checks in `reregisterSlave`).
    pub(crate) fn reregistration_in_progress(&self, id: &str) -> bool {
        self.agents.reregistering.contains(id)
            || self.agents.reregistration_window.contains(id)
            || self.agents.marking_unreachable.contains(id)
            || self.agents.marking_gone.contains(id)
    }
}

/// The agent id of an encoded ReregisterSlaveMessage (its `slave` is
/// field 2, the SlaveInfo's `id` field 6, the SlaveID's `value` field 1),
/// read without decoding the rest: a retry from an agent whose
/// reregistration is under way is dropped on it. `None` when the bytes do
/// not hold exactly one of each (the full decode then decides).
pub(super) fn peek_agent_id(body: &[u8]) -> Option<&str> {
    let slave = only_field(body, 2)?;
    let id = only_field(slave, 6)?;
    std::str::from_utf8(only_field(id, 1)?).ok()
}

/// The bytes of length-delimited field `tag` in the encoded message `buf`,
/// when it occurs exactly once and the message parses.
fn only_field(mut buf: &[u8], tag: u64) -> Option<&[u8]> {
    fn varint(buf: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = buf.split_first()?;
            *buf = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut found = None;
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let skip = match key & 7 {
            0 => {
                varint(&mut buf)?;
                0
            }
            1 => 8,
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                let (field, rest) = buf.split_at_checked(len)?;
                if key >> 3 == tag {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(field);
                }
                buf = rest;
                0
            }
            5 => 4,
            // Groups (deprecated) or an invalid wire type.
            _ => return None,
        };
        buf = buf.get(skip..)?;
    }
    found
}

#[cfg(test)]
mod tests {
    use mesos_common::proto::{internal, v0};
    use prost::Message;

    use super::peek_agent_id;

    fn reregistration(id: &str) -> internal::ReregisterSlaveMessage {
        internal::ReregisterSlaveMessage {
            slave: v0::SlaveInfo {
                hostname: "agent-1".into(),
                id: Some(v0::SlaveId { value: id.into() }),
                ..Default::default()
            },
            version: Some("1.11.0".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_agent_id_is_read_from_the_encoded_message() {
        let body = reregistration("S7").encode_to_vec();
        assert_eq!(peek_agent_id(&body), Some("S7"));
        // Two `slave` fields would be merged by a full decode: no guess.
        let twice = [body.clone(), reregistration("S8").encode_to_vec()].concat();
        assert_eq!(peek_agent_id(&twice), None);
        assert_eq!(peek_agent_id(&body[..body.len() - 3]), None);
        assert_eq!(peek_agent_id(&[0x0a, 0xff]), None);
        assert_eq!(peek_agent_id(&[]), None);
        let no_id = internal::ReregisterSlaveMessage::default().encode_to_vec();
        assert_eq!(peek_agent_id(&no_id), None);
    }
}
