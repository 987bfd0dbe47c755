//! Operator calls on agents and frameworks: DRAIN_AGENT, DEACTIVATE_AGENT,
//! REACTIVATE_AGENT, MARK_AGENT_GONE (Mesos's `Master::Http::drainAgent`,
//! `deactivateAgent`, `reactivateAgent`, `markAgentGone`) and TEARDOWN.
//! Each checks what it can at once, stores the change in the registry, and
//! answers `200` once stored; the master-side effects are in
//! `crate::master::maintenance`.

use futures::channel::oneshot;
use libprocess::{Context, Reply, Response};
use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::{v0, v1};

use super::authz::{Action, Object};
use crate::http::{ApiError, CallAnswer, CallFuture};
use crate::master::Master;
use crate::master::maintenance::MachineKey;
use crate::registrar::Operation;

/// Applies `op` to the registry, then runs `then` in the master with the
/// outcome; the call is answered with what `then` returns.
pub(crate) fn after_registry(
    m: &Master,
    op: Operation,
    ctx: &mut Context<Master>,
    then: impl FnOnce(&mut Master, &mut Context<Master>) -> Result<CallAnswer, ApiError> + 'static,
) -> CallFuture {
    let (tx, rx) = oneshot::channel();
    ctx.spawn(m.registrar.apply(op), move |m: &mut Master, stored, ctx| {
        let result = match stored {
            Ok(_) => then(m, ctx),
            Err(e) => {
                tracing::error!(error = %e, "registry update of an operator call failed");
                Err(ApiError::Internal(format!(
                    "Failed to update the registry: {e}"
                )))
            }
        };
        let _ = tx.send(result);
    });
    Box::pin(async move {
        rx.await
            .unwrap_or_else(|_| Err(ApiError::Internal("The master is gone".into())))
    })
}

/// The reply of a change answered `200` without a body.
fn ok_reply(future: CallFuture) -> Reply {
    Reply::later(async move {
        match future.await {
            Ok(CallAnswer::Accepted) => Response::accepted(),
            Ok(_) => Response::ok(),
            Err(e) => e.into_response(),
        }
    })
}

fn agent_id(id: &v1::AgentId) -> Result<AgentId, ApiError> {
    AgentId::new(&id.value).map_err(|e| ApiError::BadRequest(format!("Invalid agent id: {e}")))
}

fn known(m: &Master, id: &AgentId) -> bool {
    m.agents.recovered.contains_key(id)
        || m.agents.registered.contains_key(id)
        || m.agents.unreachable.contains_key(id)
}

/// The `DurationInfo` of a `google.protobuf.Duration`.
fn duration_info(seconds: i64, nanos: i32) -> v0::DurationInfo {
    v0::DurationInfo {
        nanoseconds: seconds
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(nanos)),
    }
}

pub(crate) fn drain_agent(
    m: &mut Master,
    call: v1::master::call::DrainAgent,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    let id = agent_id(&call.agent_id)?;
    if let Some(agent) = m.agents.registered.get(&id) {
        let key = MachineKey::of_agent(&agent.info.hostname, agent.pid.ip());
        if let Some(machine) = m
            .maintenance
            .schedule
            .iter()
            .flat_map(|s| &s.windows)
            .flat_map(|w| &w.machine_ids)
            .find(|mid| MachineKey::of(mid) == key)
        {
            return Err(ApiError::BadRequest(format!(
                "Agent {id} is part of a maintenance schedule under Machine {}",
                mesos_common::json::to_string(machine)
            )));
        }
        if !agent.capabilities.agent_draining {
            return Err(ApiError::BadRequest(format!(
                "Agent {id} is not capable of draining"
            )));
        }
    }
    let mark_gone = call.mark_gone.unwrap_or(false);
    m.authorized(principal, Action::DrainAgent, Object::Agent(id.as_str()))?;
    if mark_gone {
        m.authorized(principal, Action::MarkAgentGone, Object::Agent(id.as_str()))?;
    }
    if !known(m, &id) {
        return Err(ApiError::BadRequest("Unknown agent".into()));
    }
    if m.agents.marking_gone.contains(&id) {
        return Err(ApiError::Conflict(
            "Agent is currently being marked gone".into(),
        ));
    }
    let max_grace_period = call
        .max_grace_period
        .as_ref()
        .map(|d| duration_info(d.seconds, d.nanos));
    if max_grace_period.is_some_and(|d| d.nanoseconds < 0) {
        return Err(ApiError::BadRequest(
            "'max_grace_period' must not be negative".into(),
        ));
    }
    let config = v0::DrainConfig {
        max_grace_period,
        mark_gone: Some(mark_gone),
    };
    let op = Operation::DrainAgent {
        id: v0::SlaveId {
            value: id.to_string(),
        },
        max_grace_period,
        mark_gone,
    };
    Ok(ok_reply(after_registry(m, op, ctx, move |m, ctx| {
        m.start_draining(&id, config, ctx);
        Ok(CallAnswer::Ok)
    })))
}

pub(crate) fn deactivate_agent(
    m: &mut Master,
    agent: &v1::AgentId,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    let id = agent_id(agent)?;
    m.authorized(
        principal,
        Action::DeactivateAgent,
        Object::Agent(id.as_str()),
    )?;
    if !known(m, &id) {
        return Err(ApiError::BadRequest("Unknown agent".into()));
    }
    let op = Operation::DeactivateAgent(v0::SlaveId {
        value: id.to_string(),
    });
    Ok(ok_reply(after_registry(m, op, ctx, move |m, ctx| {
        m.maintenance.deactivated.insert(id.clone());
        if m.agents.registered.contains_key(&id) {
            m.deactivate_agent_now(&id, ctx);
        }
        Ok(CallAnswer::Ok)
    })))
}

pub(crate) fn reactivate_agent(
    m: &mut Master,
    agent: &v1::AgentId,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    let id = agent_id(agent)?;
    m.authorized(
        principal,
        Action::ReactivateAgent,
        Object::Agent(id.as_str()),
    )?;
    if !m.maintenance.deactivated.contains(&id) {
        return Err(ApiError::BadRequest("Agent is not deactivated".into()));
    }
    if m.maintenance
        .draining
        .get(&id)
        .is_some_and(|d| d.state == v0::DrainState::Draining as i32)
    {
        return Err(ApiError::BadRequest(
            "Agent is still in the DRAINING state".into(),
        ));
    }
    let op = Operation::ReactivateAgent(v0::SlaveId {
        value: id.to_string(),
    });
    Ok(ok_reply(after_registry(m, op, ctx, move |m, _| {
        m.maintenance.draining.remove(&id);
        m.maintenance.deactivated.remove(&id);
        m.maintenance.drain_started.remove(&id);
        let Some(agent) = m.agents.registered.get_mut(&id) else {
            return Err(ApiError::Conflict(
                "Agent removed while processing the call".into(),
            ));
        };
        agent.touch();
        if agent.connected() {
            tracing::info!(agent = %id, "reactivating agent");
            agent.active = true;
            if let Some(a) = m.alloc() {
                a.activate_agent(id.clone());
            }
        } else {
            tracing::info!(agent = %id, "disconnected agent will be reactivated when it reregisters");
        }
        m.mark_gauges_dirty();
        Ok(CallAnswer::Ok)
    })))
}

pub(crate) fn mark_agent_gone(
    m: &mut Master,
    agent: &v1::AgentId,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    let id = agent_id(agent)?;
    m.authorized(principal, Action::MarkAgentGone, Object::Agent(id.as_str()))?;
    tracing::info!(agent = %id, "marking agent as gone");
    if m.agents.gone.contains_key(&id) {
        tracing::warn!(agent = %id, "agent is already gone");
        return Ok(Reply::Now(Response::ok()));
    }
    if m.agents.marking_gone.contains(&id) {
        return Err(ApiError::Unavailable(format!(
            "Agent '{id}' is already being transitioned to gone"
        )));
    }
    if m.agents.marking_unreachable.contains(&id) {
        return Err(ApiError::Unavailable(format!(
            "Agent '{id}' is being transitioned to unreachable"
        )));
    }
    if !known(m, &id) {
        return Err(ApiError::NotFound(format!("Agent '{id}' not found")));
    }
    m.agents.marking_gone.insert(id.clone());
    let time = v0::TimeInfo {
        nanoseconds: (crate::state::task::unix_now() * 1e9) as i64,
    };
    let op = Operation::MarkSlaveGone {
        id: v0::SlaveId {
            value: id.to_string(),
        },
        time,
    };
    let failed = id.clone();
    let future = after_registry(m, op, ctx, move |m, ctx| {
        m.mark_gone(&id, time, ctx);
        Ok(CallAnswer::Ok)
    });
    // A failed registry write must not leave the agent "being marked gone".
    let pid = ctx.local_pid();
    Ok(ok_reply(Box::pin(async move {
        let result = future.await;
        if result.is_err() {
            pid.dispatch(move |m: &mut Master, _| {
                m.agents.marking_gone.remove(&failed);
            });
        }
        result
    })))
}

pub(crate) fn teardown(
    m: &mut Master,
    framework: &v1::FrameworkId,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    let Some(fid) = FrameworkId::new(&framework.value)
        .ok()
        .filter(|f| m.frameworks.contains_key(f))
    else {
        return Err(ApiError::BadRequest(
            "No framework found with specified ID".into(),
        ));
    };
    let info = m.frameworks[&fid].info.clone();
    m.authorized(
        principal,
        Action::TeardownFramework,
        Object::Framework(&info),
    )?;
    m.teardown(&fid, ctx);
    Ok(Reply::Now(Response::ok()))
}
