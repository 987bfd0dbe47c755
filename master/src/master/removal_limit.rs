//! `--agent_removal_rate_limit`: agents that fail their health checks are
//! marked unreachable at most N per duration, first come first served, and
//! a pong that arrives while an agent waits for its turn cancels the
//! transition (Mesos's `SlaveObserver::markUnreachable` with the master's
//! `RateLimiter`). Without the flag, transitions start at once.
//!
//! The limiter is a pure core ([`RemovalLimiter`], time passed in); the
//! master arms one timer for the head of the queue.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use libprocess::Context;
use mesos_common::ids::AgentId;

use super::Master;

/// What [`RemovalLimiter::acquire`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// Go ahead now.
    Now,
    /// Queued; a permit comes at the given time (or later, behind others).
    Queued,
    /// Already waiting.
    AlreadyQueued,
}

/// Permits spaced `interval` apart (libprocess `RateLimiter(permits,
/// duration)`: one permit every `duration / permits`). A cancelled waiter
/// leaves the queue and so uses no permit.
#[derive(Debug)]
pub struct RemovalLimiter {
    interval: Duration,
    /// When the last permit was handed out.
    previous: Option<Instant>,
    queue: VecDeque<AgentId>,
}

impl RemovalLimiter {
    pub fn new(permits: u32, per: Duration) -> RemovalLimiter {
        RemovalLimiter {
            interval: per / permits.max(1),
            previous: None,
            queue: VecDeque::new(),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn free_at(&self) -> Option<Instant> {
        self.previous.map(|p| p + self.interval)
    }

    pub fn acquire(&mut self, agent: &AgentId, now: Instant) -> Acquired {
        if self.queue.contains(agent) {
            return Acquired::AlreadyQueued;
        }
        if self.queue.is_empty() && self.free_at().is_none_or(|t| t <= now) {
            self.previous = Some(now);
            return Acquired::Now;
        }
        self.queue.push_back(agent.clone());
        Acquired::Queued
    }

    /// When the head of the queue gets its permit (`None`: nobody waits).
    /// Someone waits only behind a permit already handed out, so the time
    /// follows from that one.
    pub fn next_grant(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            return None;
        }
        self.free_at()
    }

    /// The head of the queue if its permit is due at `now`.
    pub fn grant(&mut self, now: Instant) -> Option<AgentId> {
        if self.free_at().is_some_and(|t| t > now) {
            return None;
        }
        let agent = self.queue.pop_front()?;
        self.previous = Some(now);
        Some(agent)
    }

    /// Takes `agent` out of the queue; true if it was waiting.
    pub fn cancel(&mut self, agent: &AgentId) -> bool {
        let before = self.queue.len();
        self.queue.retain(|a| a != agent);
        self.queue.len() != before
    }

    pub fn waiting(&self) -> usize {
        self.queue.len()
    }
}

/// Parses `--agent_removal_rate_limit` (`<number of agents>/<duration>`,
/// e.g. `1/10mins`).
pub fn parse_rate(text: &str) -> Result<(u32, Duration), String> {
    let format = || {
        format!("Invalid agent_removal_rate_limit: {text}. Format is <Number of agents>/<Duration>")
    };
    let tokens: Vec<&str> = text.split('/').filter(|t| !t.is_empty()).collect();
    let [permits, duration] = tokens.as_slice() else {
        return Err(format());
    };
    let permits: u32 = permits
        .trim()
        .parse()
        .map_err(|e| format!("{}: {e}", format()))?;
    if permits == 0 {
        return Err(format!(
            "{}: the number of agents must be positive",
            format()
        ));
    }
    let duration = mesos_common::units::Duration::parse(duration.trim())
        .map_err(|e| format!("{}: {e}", format()))?
        .to_std()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{}: the duration must be positive", format()))?;
    Ok((permits, duration))
}

impl Master {
    /// An observer saw `max_agent_ping_timeouts` pings go unanswered.
    pub(crate) fn schedule_unreachable(&mut self, id: AgentId, ctx: &mut Context<Self>) {
        let now = ctx.now();
        let Some(limiter) = self.removal_limiter.as_mut() else {
            self.metrics.counters.slave_unreachable_scheduled.inc();
            self.mark_unreachable_by_observer(id, ctx);
            return;
        };
        match limiter.acquire(&id, now) {
            Acquired::AlreadyQueued => {}
            Acquired::Now => {
                self.metrics.counters.slave_unreachable_scheduled.inc();
                self.mark_unreachable_by_observer(id, ctx);
            }
            Acquired::Queued => {
                self.metrics.counters.slave_unreachable_scheduled.inc();
                tracing::info!(agent = %id, waiting = limiter.waiting(),
                    "scheduling transition of agent to UNREACHABLE because of health check timeout");
                self.arm_removal_timer(ctx);
            }
        }
    }

    /// A pong came back: an agent still waiting for its permit stays.
    pub(crate) fn cancel_unreachable(&mut self, id: &AgentId) {
        if self.removal_limiter.as_mut().is_some_and(|l| l.cancel(id)) {
            tracing::info!(agent = %id, "canceling transition of agent to UNREACHABLE because a pong was received");
            self.metrics.counters.slave_unreachable_canceled.inc();
        }
    }

    fn arm_removal_timer(&mut self, ctx: &mut Context<Self>) {
        if self.removal_timer_armed {
            return;
        }
        let Some(at) = self.removal_limiter.as_ref().and_then(|l| l.next_grant()) else {
            return;
        };
        self.removal_timer_armed = true;
        let wait = at.saturating_duration_since(ctx.now());
        ctx.delay(wait, |m: &mut Master, ctx| {
            m.removal_timer_armed = false;
            let now = ctx.now();
            if let Some(id) = m.removal_limiter.as_mut().and_then(|l| l.grant(now)) {
                m.mark_unreachable_by_observer(id, ctx);
            }
            m.arm_removal_timer(ctx);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AgentId {
        AgentId::new(s).unwrap()
    }

    #[test]
    fn permits_are_spaced_and_first_come_first_served() {
        let t0 = Instant::now();
        let mut l = RemovalLimiter::new(2, Duration::from_secs(60));
        assert_eq!(l.interval(), Duration::from_secs(30));
        assert_eq!(l.acquire(&id("a"), t0), Acquired::Now);
        assert_eq!(l.acquire(&id("b"), t0), Acquired::Queued);
        assert_eq!(l.acquire(&id("c"), t0), Acquired::Queued);
        assert_eq!(l.acquire(&id("b"), t0), Acquired::AlreadyQueued);
        assert_eq!(l.next_grant(), Some(t0 + Duration::from_secs(30)));
        assert_eq!(l.grant(t0 + Duration::from_secs(29)), None);
        assert_eq!(l.grant(t0 + Duration::from_secs(30)), Some(id("b")));
        assert_eq!(l.next_grant(), Some(t0 + Duration::from_secs(60)));
        assert_eq!(l.grant(t0 + Duration::from_secs(60)), Some(id("c")));
        assert_eq!(l.next_grant(), None);
        // Idle long enough: the next one goes at once.
        assert_eq!(
            l.acquire(&id("d"), t0 + Duration::from_secs(95)),
            Acquired::Now
        );
    }

    #[test]
    fn a_cancelled_waiter_uses_no_permit() {
        let t0 = Instant::now();
        let mut l = RemovalLimiter::new(1, Duration::from_secs(10));
        assert_eq!(l.acquire(&id("a"), t0), Acquired::Now);
        assert_eq!(l.acquire(&id("b"), t0), Acquired::Queued);
        assert_eq!(l.acquire(&id("c"), t0), Acquired::Queued);
        assert!(l.cancel(&id("b")));
        assert!(!l.cancel(&id("b")));
        assert_eq!(l.grant(t0 + Duration::from_secs(10)), Some(id("c")));
        assert_eq!(l.waiting(), 0);
    }

    #[test]
    fn rates_parse_as_mesos_reads_them() {
        assert_eq!(
            parse_rate("1/10mins").unwrap(),
            (1, Duration::from_secs(600))
        );
        assert_eq!(parse_rate("5/1secs").unwrap(), (5, Duration::from_secs(1)));
        for bad in [
            "1",
            "x/1secs",
            "1/xyz",
            "1/2/3secs",
            "0/1secs",
            "1/0secs",
            "",
        ] {
            let e = parse_rate(bad).unwrap_err();
            assert!(
                e.contains("Format is <Number of agents>/<Duration>"),
                "{bad}: {e}"
            );
        }
    }
}
