//! The maintenance calls (GET_MAINTENANCE_STATUS, GET_MAINTENANCE_SCHEDULE,
//! UPDATE_MAINTENANCE_SCHEDULE, START_MAINTENANCE, STOP_MAINTENANCE) and
//! the legacy endpoints behind the same code: `/maintenance/schedule`
//! (GET, POST), `/maintenance/status` (GET), `/machine/down` and
//! `/machine/up` (POST, a JSON array of machine ids), as Mesos's
//! `Master::Http::maintenanceSchedule` ... `machineUp`.
//!
//! Changes are checked (`crate::master::maintenance::validate_*`, machine
//! modes), stored in the registry, then applied to the master; every
//! refusal is `400` with Mesos's reason, an unauthorized machine `403`.

use futures::channel::oneshot;
use libprocess::{Context, Reply, Request, Response};
use mesos_common::convert::{Devolve, Evolve};
use mesos_common::http::ContentType;
use mesos_common::proto::{v0, v1};

use super::agents::after_registry;
use super::authz::{Action, Object};
use super::respond;
use crate::http::{ApiError, CallAnswer, CallFuture};
use crate::master::Master;
use crate::master::maintenance::{MachineKey, validate_machines, validate_schedule};
use crate::registrar::Operation;

use v0::machine_info::Mode;

fn ok_reply(future: CallFuture) -> Reply {
    Reply::later(async move {
        match future.await {
            Ok(_) => Response::ok(),
            Err(e) => e.into_response(),
        }
    })
}

/// The schedule as the principal may see it (machines it may not view are
/// left out, and windows left empty dropped).
fn visible_schedule(m: &Master, principal: Option<&str>) -> v0::maintenance::Schedule {
    let mut schedule = v0::maintenance::Schedule::default();
    for window in m.maintenance.schedule.iter().flat_map(|s| &s.windows) {
        let machine_ids: Vec<v0::MachineId> = window
            .machine_ids
            .iter()
            .filter(|id| {
                m.operator.authorizer.authorized(
                    principal,
                    Action::GetMaintenanceSchedule,
                    &Object::Machine(id),
                )
            })
            .cloned()
            .collect();
        if !machine_ids.is_empty() {
            schedule.windows.push(v0::maintenance::Window {
                machine_ids,
                unavailability: window.unavailability,
            });
        }
    }
    schedule
}

pub(crate) fn get_schedule(
    m: &Master,
    accept: ContentType,
    principal: Option<&str>,
) -> Result<Reply, ApiError> {
    let schedule: v1::maintenance::Schedule = visible_schedule(m, principal).evolve();
    Ok(respond(
        accept,
        v1::master::Response {
            r#type: Some(v1::master::response::Type::GetMaintenanceSchedule as i32),
            get_maintenance_schedule: Some(v1::master::response::GetMaintenanceSchedule {
                schedule,
            }),
            ..Default::default()
        },
    ))
}

/// The cluster status: machine modes here, inverse offer answers from the
/// allocator.
fn status_future(
    m: &Master,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> impl std::future::Future<Output = Result<v0::maintenance::ClusterStatus, ApiError>> + Send + 'static
{
    let (tx, rx) = oneshot::channel();
    let principal = principal.map(String::from);
    match m.alloc() {
        Some(a) => {
            ctx.spawn(
                a.inverse_offer_statuses(),
                move |m: &mut Master, statuses, _| {
                    let statuses = statuses.unwrap_or_default();
                    let mut status = m.maintenance_status(&statuses);
                    let allowed = |id: &v0::MachineId| {
                        m.operator.authorizer.authorized(
                            principal.as_deref(),
                            Action::GetMaintenanceStatus,
                            &Object::Machine(id),
                        )
                    };
                    status.draining_machines.retain(|d| allowed(&d.id));
                    status.down_machines.retain(|id| allowed(id));
                    let _ = tx.send(Ok(status));
                },
            );
        }
        None => {
            let _ = tx.send(Err(ApiError::Internal(
                "The allocator is not running".into(),
            )));
        }
    }
    async move {
        rx.await
            .unwrap_or_else(|_| Err(ApiError::Internal("The master is gone".into())))
    }
}

pub(crate) fn get_status(
    m: &mut Master,
    accept: ContentType,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    let status = status_future(m, principal, ctx);
    Ok(Reply::later(async move {
        match status.await {
            Ok(status) => super::encode_response(
                accept,
                &v1::master::Response {
                    r#type: Some(v1::master::response::Type::GetMaintenanceStatus as i32),
                    get_maintenance_status: Some(v1::master::response::GetMaintenanceStatus {
                        status: status.evolve(),
                    }),
                    ..Default::default()
                },
            ),
            Err(e) => e.into_response(),
        }
    }))
}

/// UPDATE_MAINTENANCE_SCHEDULE and `POST /maintenance/schedule`.
fn update(
    m: &mut Master,
    schedule: v0::maintenance::Schedule,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<CallFuture, ApiError> {
    validate_schedule(&schedule, &m.maintenance.machines).map_err(ApiError::BadRequest)?;
    for id in schedule.windows.iter().flat_map(|w| &w.machine_ids) {
        m.authorized(
            principal,
            Action::UpdateMaintenanceSchedule,
            Object::Machine(id),
        )?;
    }
    let stored = schedule.clone();
    Ok(after_registry(
        m,
        Operation::UpdateSchedule(stored),
        ctx,
        move |m, ctx| {
            m.apply_schedule(schedule, ctx);
            Ok(CallAnswer::Ok)
        },
    ))
}

pub(crate) fn update_schedule(
    m: &mut Master,
    schedule: v1::maintenance::Schedule,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    Ok(ok_reply(update(m, schedule.devolve(), principal, ctx)?))
}

/// START_MAINTENANCE and `POST /machine/down`.
fn down(
    m: &mut Master,
    ids: Vec<v0::MachineId>,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<CallFuture, ApiError> {
    validate_machines(&ids).map_err(ApiError::BadRequest)?;
    for id in &ids {
        let text = mesos_common::json::to_string(id);
        let key = MachineKey::of(id);
        if !m.maintenance.machines.contains_key(&key) {
            return Err(ApiError::BadRequest(format!(
                "Machine '{text}' is not part of a maintenance schedule"
            )));
        }
        if m.maintenance.mode(&key) != Mode::Draining {
            return Err(ApiError::BadRequest(format!(
                "Machine '{text}' is not in DRAINING mode and cannot be brought down"
            )));
        }
        m.authorized(principal, Action::StartMaintenance, Object::Machine(id))?;
    }
    let stored = ids.clone();
    Ok(after_registry(
        m,
        Operation::StartMaintenance(stored),
        ctx,
        move |m, ctx| {
            m.machines_down(&ids, ctx);
            Ok(CallAnswer::Ok)
        },
    ))
}

pub(crate) fn start(
    m: &mut Master,
    machines: Vec<v1::MachineId>,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    let ids = machines.iter().map(Devolve::devolve).collect();
    Ok(ok_reply(down(m, ids, principal, ctx)?))
}

/// STOP_MAINTENANCE and `POST /machine/up`.
fn up(
    m: &mut Master,
    ids: Vec<v0::MachineId>,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<CallFuture, ApiError> {
    validate_machines(&ids).map_err(ApiError::BadRequest)?;
    for id in &ids {
        let text = mesos_common::json::to_string(id);
        let key = MachineKey::of(id);
        if !m.maintenance.machines.contains_key(&key) {
            return Err(ApiError::BadRequest(format!(
                "Machine '{text}' is not part of a maintenance schedule"
            )));
        }
        if m.maintenance.mode(&key) != Mode::Down {
            return Err(ApiError::BadRequest(format!(
                "Machine '{text}' is not in DOWN mode and cannot be brought up"
            )));
        }
        m.authorized(principal, Action::StopMaintenance, Object::Machine(id))?;
    }
    let stored = ids.clone();
    Ok(after_registry(
        m,
        Operation::StopMaintenance(stored),
        ctx,
        move |m, _| {
            m.machines_up(&ids);
            Ok(CallAnswer::Ok)
        },
    ))
}

pub(crate) fn stop(
    m: &mut Master,
    machines: Vec<v1::MachineId>,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    let ids = machines.iter().map(Devolve::devolve).collect();
    Ok(ok_reply(up(m, ids, principal, ctx)?))
}

// ---- legacy endpoints ------------------------------------------------------

fn legacy(m: &mut Master, r: &Request, allowed: &'static str) -> Result<(), ApiError> {
    m.require_leader(r)?;
    let ok = allowed.split(", ").any(|a| a == r.method);
    if !ok {
        return Err(ApiError::MethodNotAllowed { allowed });
    }
    Ok(())
}

fn machines_body(body: &[u8]) -> Result<Vec<v0::MachineId>, ApiError> {
    mesos_common::json::from_slice_array::<v0::MachineId>(body)
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `/maintenance/schedule`: GET the schedule as JSON, POST a new one.
pub(crate) fn schedule_endpoint(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Reply {
    if let Err(e) = legacy(m, &r, "GET, POST") {
        return Reply::Now(e.into_response());
    }
    if r.method == "GET" {
        let schedule = visible_schedule(m, None);
        return Reply::Now(Response::json(&r, mesos_common::json::to_vec(&schedule)));
    }
    let schedule: v0::maintenance::Schedule = match mesos_common::json::from_slice(&r.body) {
        Ok(s) => s,
        Err(e) => return Reply::Now(ApiError::BadRequest(e.to_string()).into_response()),
    };
    match update(m, schedule, None, ctx) {
        Ok(f) => ok_reply(f),
        Err(e) => Reply::Now(e.into_response()),
    }
}

/// `/maintenance/status`: GET the cluster status as JSON.
pub(crate) fn status_endpoint(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Reply {
    if let Err(e) = legacy(m, &r, "GET") {
        return Reply::Now(e.into_response());
    }
    let status = status_future(m, None, ctx);
    Reply::later(async move {
        match status.await {
            Ok(status) => Response::json(&r, mesos_common::json::to_vec(&status)),
            Err(e) => e.into_response(),
        }
    })
}

/// `/machine/down`: POST a JSON array of machine ids.
pub(crate) fn down_endpoint(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Reply {
    if let Err(e) = legacy(m, &r, "POST") {
        return Reply::Now(e.into_response());
    }
    match machines_body(&r.body).and_then(|ids| down(m, ids, None, ctx)) {
        Ok(f) => ok_reply(f),
        Err(e) => Reply::Now(e.into_response()),
    }
}

/// `/machine/up`: POST a JSON array of machine ids.
pub(crate) fn up_endpoint(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Reply {
    if let Err(e) = legacy(m, &r, "POST") {
        return Reply::Now(e.into_response());
    }
    match machines_body(&r.body).and_then(|ids| up(m, ids, None, ctx)) {
        Ok(f) => ok_reply(f),
        Err(e) => Reply::Now(e.into_response()),
    }
}
