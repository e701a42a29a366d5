//! Amazon Inspector: EC2, ECR and Lambda scanning in every target region, each a toggle.
//! A toggle that is off leaves the live state as it is; the tool never disables scanning.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::aws_err;
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_inspector2::types::ResourceScanType;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub struct Inspector;

/// The baseline's key and the API's resource type, in the order they are shown.
const TYPES: [(&str, &str); 3] = [("ec2", "EC2"), ("ecr", "ECR"), ("lambda", "LAMBDA")];

/// Scan status per baseline key (`ec2`, `ecr`, `lambda`): `ENABLED`, `DISABLED`, …
pub type Observed = BTreeMap<&'static str, String>;

/// Amazon Inspector scanning; each resource type its own toggle. `false` never disables
/// scanning that is on (it is left as it is).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InspectorConfig {
    pub enabled: bool,
    #[serde(default = "crate::baseline::yes")]
    pub ec2: bool,
    #[serde(default = "crate::baseline::yes")]
    pub ecr: bool,
    #[serde(default = "crate::baseline::yes")]
    pub lambda: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enable {
    /// API resource types: `EC2`, `ECR`, `LAMBDA`.
    pub resource_types: Vec<&'static str>,
}

impl Control for Inspector {
    const NAME: &'static str = "inspector";
    const SCOPE: Scope = Scope::Regional;
    type Desired = InspectorConfig;
    type Observed = Observed;
    type Op = Enable;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write("ThreatDetection", &["inspector2:Enable"])
                .and_read(&["inspector2:BatchGetAccountStatus"]),
            Grant::write("ServiceLinkedRolesOfTheServicesItEnables", &["iam:CreateServiceLinkedRole"])
                .on([arns.iam("role/aws-service-role/*")])
                .when(json!({"StringEquals": {"iam:AWSServiceName": ["inspector2.amazonaws.com", "agentless.inspector2.amazonaws.com"]}})),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<InspectorConfig> {
        baseline.inspector.clone().filter(|i| i.enabled)
    }

    async fn observe(target: &Target, _: &InspectorConfig) -> Result<Observed, TargetError> {
        observe_with(&target.inspector(), &target.account).await
    }

    fn plan(desired: &InspectorConfig, observed: &Observed, region: &str) -> Vec<Proposal<Enable>> {
        vec![plan(desired, observed, region)]
    }

    async fn apply(target: &Target, op: &Enable) -> Result<Applied, TargetError> {
        apply_with(&target.inspector(), &target.account, op).await
    }
}

pub async fn observe_with(
    client: &aws_sdk_inspector2::Client,
    account: &str,
) -> Result<Observed, TargetError> {
    let out = client
        .batch_get_account_status()
        .account_ids(account)
        .send()
        .await
        .map_err(aws_err("inspector2:BatchGetAccountStatus"))?;
    if let Some(failed) = out.failed_accounts().first() {
        return Err(TargetError::refused(
            "inspector2:BatchGetAccountStatus",
            format!(
                "{}: {}",
                failed.error_code().as_str(),
                failed.error_message()
            ),
        ));
    }
    // An account that never enabled Inspector may be absent from the answer: all off.
    let state = out
        .accounts()
        .iter()
        .find(|a| a.account_id() == account)
        .and_then(|a| a.resource_state());
    Ok(TYPES
        .iter()
        .map(|&(key, _)| {
            let s = state.and_then(|r| match key {
                "ec2" => r.ec2(),
                "ecr" => r.ecr(),
                _ => r.lambda(),
            });
            (
                key,
                s.map(|s| s.status().as_str().to_owned())
                    .unwrap_or_else(|| "DISABLED".to_owned()),
            )
        })
        .collect())
}

fn on(status: &str) -> bool {
    matches!(status, "ENABLED" | "ENABLING")
}

pub fn plan(desired: &InspectorConfig, observed: &Observed, region: &str) -> Proposal<Enable> {
    let address = format!("inspector.scanning[\"{region}\"]");
    let wanted = |key: &str| match key {
        "ec2" => desired.ec2,
        "ecr" => desired.ecr,
        _ => desired.lambda,
    };
    let status = |key: &str| observed.get(key).map(String::as_str).unwrap_or("DISABLED");
    let missing: Vec<(&str, &'static str)> = TYPES
        .iter()
        .copied()
        .filter(|&(key, _)| wanted(key) && !on(status(key)))
        .collect();
    let before: Map<String, Value> = TYPES
        .iter()
        .map(|&(key, _)| (key.to_owned(), Value::from(status(key))))
        .collect();
    if missing.is_empty() {
        return Proposal::new(address, Action::NoOp).before(Value::Object(before));
    }
    let mut after = before.clone();
    for (key, _) in &missing {
        after.insert((*key).to_owned(), Value::from("ENABLED"));
    }
    let action = if before.values().all(|v| v == "DISABLED") {
        Action::Create
    } else {
        Action::Update
    };
    Proposal::new(address, action)
        .before(Value::Object(before))
        .after(Value::Object(after))
        .op(Enable {
            resource_types: missing.iter().map(|&(_, api)| api).collect(),
        })
}

pub async fn apply_with(
    client: &aws_sdk_inspector2::Client,
    account: &str,
    op: &Enable,
) -> Result<Applied, TargetError> {
    let out = client
        .enable()
        .account_ids(account)
        .set_resource_types(Some(
            op.resource_types
                .iter()
                .map(|t| ResourceScanType::from(*t))
                .collect(),
        ))
        .send()
        .await
        .map_err(aws_err("inspector2:Enable"))?;
    match out.failed_accounts().first() {
        Some(f) => Err(TargetError::refused(
            "inspector2:Enable",
            format!("{}: {}", f.error_code().as_str(), f.error_message()),
        )),
        None => Ok(Applied::Done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired() -> InspectorConfig {
        InspectorConfig {
            enabled: true,
            ec2: true,
            ecr: true,
            lambda: true,
        }
    }

    fn observed(ec2: &str, ecr: &str, lambda: &str) -> Observed {
        [("ec2", ec2), ("ecr", ecr), ("lambda", lambda)]
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect()
    }

    #[test]
    fn a_fresh_account_enables_every_toggled_type() {
        let p = plan(&desired(), &Observed::new(), "eu-west-1");
        assert_eq!(p.action, Action::Create);
        assert_eq!(
            p.op,
            Some(Enable {
                resource_types: vec!["EC2", "ECR", "LAMBDA"]
            })
        );
        assert_eq!(
            p.after,
            Some(json!({"ec2": "ENABLED", "ecr": "ENABLED", "lambda": "ENABLED"}))
        );
    }

    #[test]
    fn only_missing_types_are_enabled_and_none_disabled() {
        let no_lambda = InspectorConfig {
            lambda: false,
            ..desired()
        };
        let p = plan(
            &no_lambda,
            &observed("ENABLED", "DISABLED", "ENABLED"),
            "eu-west-1",
        );
        assert_eq!(p.action, Action::Update);
        assert_eq!(
            p.op,
            Some(Enable {
                resource_types: vec!["ECR"]
            })
        );
        assert_eq!(p.after.unwrap()["lambda"], "ENABLED");
        let p = plan(
            &no_lambda,
            &observed("ENABLING", "ENABLED", "DISABLED"),
            "eu-west-1",
        );
        assert_eq!((p.action, p.op), (Action::NoOp, None));
    }
}
