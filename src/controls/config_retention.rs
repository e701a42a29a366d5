//! How long AWS Config keeps configuration item history (`[config] retention_days`), in
//! every target region, through its one retention configuration (named `default`).
//! Without one, AWS Config keeps the history for 2557 days (seven years, the most it
//! allows), so a baseline's shorter period never shortens it: a longer live value, the
//! default included, is kept.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::{AwsError, TargetError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use serde_json::json;

pub struct ConfigRetention;

/// What AWS Config keeps without a retention configuration, and the most it allows.
pub const DEFAULT_DAYS: u32 = 2557;

impl Control for ConfigRetention {
    const NAME: &'static str = "config_retention";
    const SCOPE: Scope = Scope::Regional;
    /// Days.
    type Desired = u32;
    /// The live retention configuration's days; None when there is none.
    type Observed = Option<u32>;
    /// Days to set.
    type Op = u32;

    fn desired(baseline: &Baseline) -> Option<u32> {
        let config = baseline.config.as_ref().filter(|c| c.enabled)?;
        config.retention_days.map(|d| d.get())
    }

    fn permissions(_: &u32, _: &Arns) -> Vec<Grant> {
        // The retention configuration has no ARN of its own (the Service Authorization
        // Reference lists no resource type for these actions).
        vec![
            Grant::write("ConfigRetention", &["config:PutRetentionConfiguration"])
                .and_read(&["config:DescribeRetentionConfigurations"]),
        ]
    }

    async fn observe(target: &Target, _: &u32) -> Result<Option<u32>, TargetError> {
        Ok(observe_with(&target.config()).await?)
    }

    fn plan(desired: &u32, observed: &Option<u32>, region: &str) -> Vec<Proposal<u32>> {
        vec![plan(*desired, *observed, region)]
    }

    async fn apply(target: &Target, days: &u32) -> Result<Applied, TargetError> {
        Ok(apply_with(&target.config(), *days).await?)
    }
}

pub fn plan(desired: u32, live: Option<u32>, region: &str) -> Proposal<u32> {
    let address = format!("config.retention[\"{region}\"]");
    let effective = live.unwrap_or(DEFAULT_DAYS);
    let before = json!({ "retention_days": live });
    if effective >= desired {
        let mut p = Proposal::new(address, Action::NoOp).before(before);
        if live.is_none() {
            p = p.reason(format!(
                "no retention configuration: AWS Config keeps {DEFAULT_DAYS} days by default, not less than {desired}"
            ));
        } else if effective > desired {
            p = p.reason(format!(
                "the live {effective} days are longer than the baseline's {desired}: kept"
            ));
        }
        return p;
    }
    let action = if live.is_some() {
        Action::Update
    } else {
        Action::Create
    };
    Proposal::new(address, action)
        .before(before)
        .after(json!({ "retention_days": desired }))
        .op(desired)
}

pub async fn observe_with(client: &aws_sdk_config::Client) -> Result<Option<u32>, AwsError> {
    let out = client
        .describe_retention_configurations()
        .send()
        .await
        .map_err(aws_err("config:DescribeRetentionConfigurations"))?;
    // One per region at most; the longest counts if AWS ever returns more.
    Ok(out
        .retention_configurations()
        .iter()
        .map(|c| c.retention_period_in_days().max(0) as u32)
        .max())
}

pub async fn apply_with(client: &aws_sdk_config::Client, days: u32) -> Result<Applied, AwsError> {
    let days = i32::try_from(days).map_err(|_| {
        AwsError::invalid_response("config:PutRetentionConfiguration", "days out of range")
    })?;
    client
        .put_retention_configuration()
        .retention_period_in_days(days)
        .send()
        .await
        .map_err(aws_err("config:PutRetentionConfiguration"))?;
    Ok(Applied::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_live_period_is_raised() {
        let p = plan(365, Some(30), "eu-west-1");
        assert_eq!(p.action, Action::Update);
        assert_eq!(p.op, Some(365));
        assert_eq!(p.address, "config.retention[\"eu-west-1\"]");
    }

    #[test]
    fn a_longer_live_period_is_kept() {
        let p = plan(365, Some(2557), "eu-west-1");
        assert_eq!(p.action, Action::NoOp);
        assert_eq!(p.op, None);
        assert!(p.reason.unwrap().contains("longer"));
    }

    #[test]
    fn no_configuration_means_the_default_seven_years_which_is_never_shortened() {
        let p = plan(365, None, "eu-west-1");
        assert_eq!(p.action, Action::NoOp);
        assert_eq!(p.op, None);
        let p = plan(2557, None, "eu-west-1");
        assert_eq!(p.action, Action::NoOp);
    }

    #[test]
    fn the_same_period_is_no_change_without_a_reason() {
        let p = plan(400, Some(400), "eu-west-1");
        assert_eq!(p.action, Action::NoOp);
        assert_eq!(p.reason, None);
    }
}
