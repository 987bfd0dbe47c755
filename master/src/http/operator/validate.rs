//! Pure checks of an operator call before it is dispatched (Mesos's
//! `validation::master::call::validate`): a type, and the payload each
//! type needs. Deeper checks (unknown agents, resource math, schedules)
//! belong to each handler.

use mesos_common::proto::v1;

use v1::master::call::Type;

/// The call's type if the call is well formed, else Mesos's reason.
/// (SET_QUOTA and REMOVE_QUOTA are deprecated but still checked.)
#[allow(deprecated)]
pub fn validate(call: &v1::master::Call) -> Result<Type, String> {
    let Some(kind) = call.r#type.and_then(|t| Type::try_from(t).ok()) else {
        return Err("Expecting 'type' to be present".into());
    };
    let need = |present: bool, field: &str| {
        if present {
            Ok(kind)
        } else {
            Err(format!("Expecting '{field}' to be present"))
        }
    };
    let resources = |rs: &[v1::Resource]| {
        mesos_common::resources::proto::v1::resources_from(rs)
            .map(|_| kind)
            .map_err(|e| e.to_string())
    };
    match kind {
        Type::Unknown
        | Type::GetHealth
        | Type::GetFlags
        | Type::GetVersion
        | Type::GetLoggingLevel
        | Type::GetState
        | Type::GetAgents
        | Type::GetFrameworks
        | Type::GetExecutors
        | Type::GetOperations
        | Type::GetTasks
        | Type::GetRoles
        | Type::GetWeights
        | Type::GetMaster
        | Type::Subscribe
        | Type::GetMaintenanceStatus
        | Type::GetMaintenanceSchedule
        | Type::GetQuota => Ok(kind),
        Type::GetMetrics => need(call.get_metrics.is_some(), "get_metrics"),
        Type::SetLoggingLevel => need(call.set_logging_level.is_some(), "set_logging_level"),
        Type::ListFiles => need(call.list_files.is_some(), "list_files"),
        Type::ReadFile => need(call.read_file.is_some(), "read_file"),
        Type::UpdateWeights => need(call.update_weights.is_some(), "update_weights"),
        Type::ReserveResources => match &call.reserve_resources {
            None => need(false, "reserve_resources"),
            Some(r) => resources(&r.resources),
        },
        Type::UnreserveResources => match &call.unreserve_resources {
            None => need(false, "unreserve_resources"),
            Some(r) => resources(&r.resources),
        },
        Type::CreateVolumes => need(call.create_volumes.is_some(), "create_volumes"),
        Type::DestroyVolumes => need(call.destroy_volumes.is_some(), "destroy_volumes"),
        Type::GrowVolume => match &call.grow_volume {
            None => need(false, "grow_volume"),
            Some(g) if g.agent_id.is_none() => Err(
                "Expecting 'agent_id' to be present; only agent default resources are supported right now"
                    .into(),
            ),
            Some(_) => Ok(kind),
        },
        Type::ShrinkVolume => match &call.shrink_volume {
            None => need(false, "shrink_volume"),
            Some(s) if s.agent_id.is_none() => Err(
                "Expecting 'agent_id' to be present; only agent default resources are supported right now"
                    .into(),
            ),
            Some(_) => Ok(kind),
        },
        Type::UpdateMaintenanceSchedule => need(
            call.update_maintenance_schedule.is_some(),
            "update_maintenance_schedule",
        ),
        Type::StartMaintenance => need(call.start_maintenance.is_some(), "start_maintenance"),
        Type::StopMaintenance => need(call.stop_maintenance.is_some(), "stop_maintenance"),
        Type::DrainAgent => need(call.drain_agent.is_some(), "drain_agent"),
        Type::DeactivateAgent => need(call.deactivate_agent.is_some(), "deactivate_agent"),
        Type::ReactivateAgent => need(call.reactivate_agent.is_some(), "reactivate_agent"),
        Type::UpdateQuota => need(call.update_quota.is_some(), "update_quota"),
        Type::SetQuota => need(call.set_quota.is_some(), "set_quota"),
        Type::RemoveQuota => need(call.remove_quota.is_some(), "remove_quota"),
        Type::Teardown => need(call.teardown.is_some(), "teardown"),
        Type::MarkAgentGone => need(call.mark_agent_gone.is_some(), "mark_agent_gone"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(kind: Type) -> v1::master::Call {
        v1::master::Call {
            r#type: Some(kind as i32),
            ..Default::default()
        }
    }

    #[test]
    fn a_type_is_required_and_unknown_numbers_count_as_missing() {
        let mut c = v1::master::Call::default();
        assert_eq!(validate(&c).unwrap_err(), "Expecting 'type' to be present");
        c.r#type = Some(999);
        assert_eq!(validate(&c).unwrap_err(), "Expecting 'type' to be present");
    }

    #[test]
    #[allow(deprecated)]
    fn every_call_with_a_payload_requires_it() {
        let cases = [
            (Type::GetMetrics, "get_metrics"),
            (Type::SetLoggingLevel, "set_logging_level"),
            (Type::ListFiles, "list_files"),
            (Type::ReadFile, "read_file"),
            (Type::UpdateWeights, "update_weights"),
            (Type::ReserveResources, "reserve_resources"),
            (Type::UnreserveResources, "unreserve_resources"),
            (Type::CreateVolumes, "create_volumes"),
            (Type::DestroyVolumes, "destroy_volumes"),
            (Type::GrowVolume, "grow_volume"),
            (Type::ShrinkVolume, "shrink_volume"),
            (
                Type::UpdateMaintenanceSchedule,
                "update_maintenance_schedule",
            ),
            (Type::StartMaintenance, "start_maintenance"),
            (Type::StopMaintenance, "stop_maintenance"),
            (Type::DrainAgent, "drain_agent"),
            (Type::DeactivateAgent, "deactivate_agent"),
            (Type::ReactivateAgent, "reactivate_agent"),
            (Type::UpdateQuota, "update_quota"),
            (Type::SetQuota, "set_quota"),
            (Type::RemoveQuota, "remove_quota"),
            (Type::Teardown, "teardown"),
            (Type::MarkAgentGone, "mark_agent_gone"),
        ];
        for (kind, field) in cases {
            assert_eq!(
                validate(&call(kind)).unwrap_err(),
                format!("Expecting '{field}' to be present"),
                "{kind:?}"
            );
        }
        assert_eq!(validate(&call(Type::GetState)).unwrap(), Type::GetState);
        assert_eq!(validate(&call(Type::Unknown)).unwrap(), Type::Unknown);
    }

    #[test]
    fn volume_resizes_need_an_agent_and_reservations_valid_resources() {
        let mut grow = call(Type::GrowVolume);
        grow.grow_volume = Some(Default::default());
        assert!(
            validate(&grow)
                .unwrap_err()
                .contains("only agent default resources")
        );
        let mut reserve = call(Type::ReserveResources);
        reserve.reserve_resources = Some(v1::master::call::ReserveResources {
            resources: vec![v1::Resource {
                name: "cpus".into(),
                r#type: v1::value::Type::Scalar as i32,
                scalar: Some(v1::value::Scalar { value: -1.0 }),
                ..Default::default()
            }],
            ..Default::default()
        });
        assert!(validate(&reserve).is_err());
    }
}
