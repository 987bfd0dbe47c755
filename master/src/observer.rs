//! The agent observer process `slave-observer(N)`, one per registered agent
//! (Mesos `SlaveObserver`): pings the agent every `--agent_ping_timeout` and,
//! after `--max_agent_ping_timeouts` pings in a row without a pong, asks the
//! master to mark the agent unreachable. It keeps pinging afterwards, so an
//! agent that only lost its master link notices (`connected: false`) and
//! reregisters.
//!
//! Supervision: the master spawns one on (re)registration and terminates it
//! when the agent is removed. Messages: sends `PingSlaveMessage` to the
//! agent, receives `PongSlaveMessage` from it; tells the master through
//! `LocalPid<Master>::dispatch`.

use std::time::Duration;

use libprocess::{Context, Install, LocalPid, Process, Upid};
use mesos_common::ids::AgentId;
use mesos_common::proto::internal::{PingSlaveMessage, PongSlaveMessage};

use crate::master::Master;

/// One agent's health checker.
pub struct AgentObserver {
    agent_id: AgentId,
    agent_pid: Upid,
    master: LocalPid<Master>,
    ping_timeout: Duration,
    max_ping_timeouts: u64,
    /// Whether the master considers the agent connected (sent in pings).
    connected: bool,
    /// A ping is outstanding.
    pinged: bool,
    timeouts: u64,
    /// A request to mark the agent unreachable is in flight.
    marking_unreachable: bool,
}

impl AgentObserver {
    pub fn new(
        agent_id: AgentId,
        agent_pid: Upid,
        master: LocalPid<Master>,
        ping_timeout: Duration,
        max_ping_timeouts: u64,
    ) -> Self {
        Self {
            agent_id,
            agent_pid,
            master,
            ping_timeout,
            max_ping_timeouts,
            connected: true,
            pinged: false,
            timeouts: 0,
            marking_unreachable: false,
        }
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        // The timeout is armed before the ping leaves (tests that see the
        // ping then advance the paused clock rely on it).
        ctx.delay(self.ping_timeout, |this: &mut Self, ctx| this.timeout(ctx));
        self.pinged = true;
        ctx.send(
            &self.agent_pid,
            &PingSlaveMessage {
                connected: self.connected,
            },
        );
    }

    fn pong(&mut self, from: Upid, _msg: PongSlaveMessage, _ctx: &mut Context<Self>) {
        if from.address() != self.agent_pid.address() {
            tracing::debug!(%from, agent = %self.agent_id, "pong from an unexpected address ignored");
            return;
        }
        self.timeouts = 0;
        self.pinged = false;
        // The agent is alive: a removal still waiting for its permit
        // (`--agent_removal_rate_limit`) is cancelled.
        if self.marking_unreachable {
            let agent = self.agent_id.clone();
            self.master
                .dispatch(move |m, _| m.cancel_unreachable(&agent));
        }
        self.marking_unreachable = false;
    }

    fn timeout(&mut self, ctx: &mut Context<Self>) {
        if self.pinged {
            self.timeouts += 1;
            if self.timeouts >= self.max_ping_timeouts && !self.marking_unreachable {
                self.marking_unreachable = true;
                let agent = self.agent_id.clone();
                tracing::info!(%agent, timeouts = self.timeouts, "agent failed health checks");
                self.master
                    .dispatch(move |m, ctx| m.schedule_unreachable(agent, ctx));
            }
        }
        self.ping(ctx);
    }

    /// The agent's socket broke (pings now say `connected: false`).
    pub fn disconnect(&mut self) {
        self.connected = false;
    }

    /// The agent reregistered, possibly from a new pid.
    pub fn reconnect(&mut self, pid: Upid) {
        self.connected = true;
        self.agent_pid = pid;
        self.marking_unreachable = false;
        self.timeouts = 0;
    }
}

impl Process for AgentObserver {
    fn install(t: &mut Install<Self>) {
        t.message::<PongSlaveMessage, _>(Self::pong);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.ping(ctx);
    }
}
