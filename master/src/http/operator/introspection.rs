//! The small operator queries and SET_LOGGING_LEVEL, with Mesos's shapes
//! (`Master::Http::getHealth`, `getFlags`, `getVersion`, `getMetrics`,
//! `getLoggingLevel`, `setLoggingLevel`, `getMaster`, and
//! `ReadOnlyHandler::getRoles`, `getOperations`).

use std::collections::BTreeSet;

use libprocess::{Context, Reply, Response};
use mesos_common::convert::Evolve;
use mesos_common::http::ContentType;
use mesos_common::proto::v1;
use mesos_common::resources::Resources;

use super::authz::{Action, Object};
use super::respond;
use crate::http::ApiError;
use crate::master::{MESOS_VERSION, Master};

use v1::master::response::Type as R;

fn response(kind: R) -> v1::master::Response {
    v1::master::Response {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

pub(crate) fn get_health(accept: ContentType) -> Reply {
    let mut r = response(R::GetHealth);
    r.get_health = Some(v1::master::response::GetHealth { healthy: true });
    respond(accept, r)
}

pub(crate) fn get_flags(
    m: &Master,
    accept: ContentType,
    principal: Option<&str>,
) -> Result<Reply, ApiError> {
    m.authorized(principal, Action::ViewFlags, Object::Nothing)?;
    let mut r = response(R::GetFlags);
    r.get_flags = Some(v1::master::response::GetFlags {
        flags: m
            .flag_values
            .iter()
            .map(|(name, value)| v1::Flag {
                name: name.clone(),
                value: Some(value.clone()),
            })
            .collect(),
    });
    Ok(respond(accept, r))
}

pub(crate) fn get_version(accept: ContentType) -> Reply {
    let mut r = response(R::GetVersion);
    r.get_version = Some(v1::master::response::GetVersion {
        version_info: v1::VersionInfo {
            version: MESOS_VERSION.into(),
            build_date: Some(String::new()),
            build_time: Some(0.0),
            build_user: Some(String::new()),
            git_sha: None,
            git_branch: None,
            git_tag: None,
        },
    });
    respond(accept, r)
}

/// Every metric of this master's runtime (`/metrics/snapshot`'s registry;
/// the caller refreshed our gauges, so `timeout` never cuts anything).
pub(crate) fn get_metrics(
    m: &Master,
    accept: ContentType,
    principal: Option<&str>,
    ctx: &Context<Master>,
) -> Result<Reply, ApiError> {
    m.authorized(principal, Action::ViewMetrics, Object::Nothing)?;
    let mut r = response(R::GetMetrics);
    r.get_metrics = Some(v1::master::response::GetMetrics {
        metrics: ctx
            .metrics()
            .snapshot()
            .into_iter()
            .map(|(name, value)| v1::Metric {
                name,
                value: Some(value),
            })
            .collect(),
    });
    Ok(respond(accept, r))
}

pub(crate) fn get_logging_level(accept: ContentType) -> Reply {
    let mut r = response(R::GetLoggingLevel);
    r.get_logging_level = Some(v1::master::response::GetLoggingLevel {
        level: crate::logging::verbosity(),
    });
    respond(accept, r)
}

/// Sets the verbosity now and reverts it to the original after `duration`
/// (libprocess's `Logging::set_level`); answers 200 without a body.
pub(crate) fn set_logging_level(
    m: &mut Master,
    call: v1::master::call::SetLoggingLevel,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    m.authorized(principal, Action::SetLogLevel, Object::Nothing)?;
    if call.duration.nanoseconds < 0 {
        return Err(ApiError::BadRequest(format!(
            "Invalid duration of {} nanoseconds",
            call.duration.nanoseconds
        )));
    }
    crate::logging::set_verbosity(call.level);
    m.operator.log_level_generation += 1;
    let generation = m.operator.log_level_generation;
    if call.level != crate::logging::ORIGINAL_VERBOSITY {
        let after = std::time::Duration::from_nanos(call.duration.nanoseconds.max(0) as u64);
        ctx.delay(after, move |m: &mut Master, _| {
            if m.operator.log_level_generation == generation {
                crate::logging::set_verbosity(crate::logging::ORIGINAL_VERBOSITY);
            }
        });
    }
    Ok(Reply::Now(Response::ok()))
}

pub(crate) fn get_master(m: &Master, accept: ContentType) -> Reply {
    let mut r = response(R::GetMaster);
    r.get_master = Some(v1::master::response::GetMaster {
        master_info: Some(m.info.evolve()),
        start_time: Some(m.start_time),
        elected_time: m.elected_time,
    });
    respond(accept, r)
}

/// The master tracks no offer operations with feedback yet, so there are
/// none to list.
pub(crate) fn get_operations(accept: ContentType) -> Reply {
    let mut r = response(R::GetOperations);
    r.get_operations = Some(Default::default());
    respond(accept, r)
}

/// Known roles with their weight, frameworks and allocated + offered
/// scalar quantities of cpus, mem, disk and gpus.
pub(crate) fn get_roles(m: &Master, accept: ContentType, _ctx: &Context<Master>) -> Reply {
    let mut names: BTreeSet<String> = BTreeSet::new();
    match &m.derived.role_whitelist {
        Some(list) => names.extend(list.iter().cloned()),
        None => {
            for f in m.frameworks.values() {
                names.extend(f.roles.iter().cloned());
            }
            for a in m.agents.registered.values() {
                names.extend(a.total.reservations().keys().map(|r| r.to_string()));
            }
            names.extend(m.weights.keys().cloned());
            names.extend(m.quotas.keys().cloned());
        }
    }
    let mut roles = Vec::new();
    for name in names {
        let mut held = Resources::new();
        let mut frameworks = Vec::new();
        for f in m.frameworks.values() {
            if f.roles.contains(&name) {
                frameworks.push(v1::FrameworkId {
                    value: f.id.to_string(),
                });
            }
            held += &f
                .total_used()
                .filter(|x| x.allocation_role() == Some(name.as_str()));
            held += &f
                .total_offered()
                .filter(|x| x.allocation_role() == Some(name.as_str()));
        }
        let resources = ["cpus", "mem", "disk", "gpus"]
            .into_iter()
            .filter_map(|n| {
                held.scalar_sum(n).map(|s| v1::Resource {
                    name: n.into(),
                    r#type: v1::value::Type::Scalar as i32,
                    scalar: Some(v1::value::Scalar { value: s.value() }),
                    ..Default::default()
                })
            })
            .collect();
        roles.push(v1::Role {
            weight: m.weights.get(&name).copied().unwrap_or(1.0),
            name,
            frameworks,
            resources,
        });
    }
    let mut r = response(R::GetRoles);
    r.get_roles = Some(v1::master::response::GetRoles { roles });
    respond(accept, r)
}
