//! `validation::scheduler::call::validate`: the shape of a scheduler call
//! (v0 `mesos.scheduler.Call`, which v1 calls are devolved into).

use mesos_common::proto::v0::scheduler::{Call, call::Type};

use super::{Result, ValidationError, validate_uuid_bytes};

/// Checks a call's type and that the part its type needs is present.
/// `principal` is the authenticated HTTP principal, if any.
pub fn validate(call: &Call, principal: Option<&str>) -> Result {
    let Some(kind) = call.r#type else {
        return Err(ValidationError::new("Expecting 'type' to be present"));
    };
    let kind = Type::try_from(kind).unwrap_or(Type::Unknown);
    if kind == Type::Subscribe {
        let Some(subscribe) = &call.subscribe else {
            return Err(ValidationError::new("Expecting 'subscribe' to be present"));
        };
        let info = &subscribe.framework_info;
        let info_id = info.id.as_ref().map(|i| i.value.as_str()).unwrap_or("");
        let call_id = call
            .framework_id
            .as_ref()
            .map(|i| i.value.as_str())
            .unwrap_or("");
        if info_id != call_id {
            return Err(ValidationError::new(
                "'framework_id' differs from 'subscribe.framework_info.id'",
            ));
        }
        if let (Some(p), Some(fp)) = (principal, info.principal.as_deref())
            && p != fp
        {
            return Err(ValidationError::new(format!(
                "Authenticated principal '{p}' does not match principal '{fp}' set in `FrameworkInfo`"
            )));
        }
        return Ok(());
    }
    if call.framework_id.is_none() {
        return Err(ValidationError::new(
            "Expecting 'framework_id' to be present",
        ));
    }
    let need = |present: bool, name: &str| {
        if present {
            Ok(())
        } else {
            Err(ValidationError::new(format!(
                "Expecting '{name}' to be present"
            )))
        }
    };
    match kind {
        Type::Subscribe => unreachable!("handled above"),
        Type::Teardown | Type::Revive | Type::Suppress | Type::Unknown => Ok(()),
        Type::Accept => need(call.accept.is_some(), "accept"),
        Type::Decline => need(call.decline.is_some(), "decline"),
        Type::AcceptInverseOffers => need(
            call.accept_inverse_offers.is_some(),
            "accept_inverse_offers",
        ),
        Type::DeclineInverseOffers => need(
            call.decline_inverse_offers.is_some(),
            "decline_inverse_offers",
        ),
        Type::Kill => need(call.kill.is_some(), "kill"),
        Type::Shutdown => need(call.shutdown.is_some(), "shutdown"),
        Type::Acknowledge => {
            let Some(ack) = &call.acknowledge else {
                return need(false, "acknowledge");
            };
            validate_uuid_bytes(&ack.uuid)
        }
        Type::AcknowledgeOperationStatus => {
            let Some(ack) = &call.acknowledge_operation_status else {
                return need(false, "acknowledge_operation_status");
            };
            validate_uuid_bytes(&ack.uuid)?;
            need(ack.slave_id.is_some(), "agent_id")
        }
        Type::Reconcile => need(call.reconcile.is_some(), "reconcile"),
        Type::ReconcileOperations => {
            need(call.reconcile_operations.is_some(), "reconcile_operations")
        }
        Type::Message => need(call.message.is_some(), "message"),
        Type::Request => need(call.request.is_some(), "request"),
        Type::UpdateFramework => {
            let Some(update) = &call.update_framework else {
                return need(false, "update_framework");
            };
            if update.framework_info.id != call.framework_id {
                return Err(ValidationError::new(
                    "'framework_id' differs from 'update_framework.framework_info.id'",
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v0;
    use mesos_common::proto::v0::scheduler::call;

    fn fid(v: &str) -> Option<v0::FrameworkId> {
        Some(v0::FrameworkId { value: v.into() })
    }

    #[test]
    fn subscribe_ids_must_agree() {
        let mut c = Call {
            r#type: Some(Type::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info: v0::FrameworkInfo {
                    id: fid("a"),
                    ..Default::default()
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(
            validate(&c, None)
                .unwrap_err()
                .0
                .contains("'framework_id' differs")
        );
        c.framework_id = fid("a");
        assert!(validate(&c, None).is_ok());
        c.subscribe.as_mut().unwrap().framework_info.principal = Some("p".into());
        assert!(validate(&c, Some("q")).unwrap_err().0.contains("principal"));
    }

    #[test]
    fn other_calls_need_framework_id_and_their_part() {
        let mut c = Call {
            r#type: Some(Type::Accept as i32),
            ..Default::default()
        };
        assert_eq!(
            validate(&c, None).unwrap_err().0,
            "Expecting 'framework_id' to be present"
        );
        c.framework_id = fid("a");
        assert_eq!(
            validate(&c, None).unwrap_err().0,
            "Expecting 'accept' to be present"
        );
        c.r#type = Some(Type::Acknowledge as i32);
        c.acknowledge = Some(call::Acknowledge {
            slave_id: v0::SlaveId { value: "s".into() },
            task_id: v0::TaskId { value: "t".into() },
            uuid: b"not-a-uuid".to_vec(),
        });
        assert!(validate(&c, None).unwrap_err().0.contains("UUID"));
        let no_type = Call::default();
        assert_eq!(
            validate(&no_type, None).unwrap_err().0,
            "Expecting 'type' to be present"
        );
    }
}
