//! S3 account-level Block Public Access: all four flags on.
//!
//! An account under an AWS Organizations S3 policy (`public_access_block_configuration`)
//! cannot change these settings itself: S3 answers 403. When the live flags fall short,
//! the account's effective S3 policy is read (`DescribeEffectivePolicy`, callable from any
//! account of an organization); an account it manages is reported as "managed by the
//! organization" (kept), not as drift to fix or a failure.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_s3control::types::PublicAccessBlockConfiguration;
use serde::{Deserialize, Serialize};

pub struct S3BlockPublicAccess;

const ADDRESS: &str = "s3.account_public_access_block";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct S3BlockPublicAccessConfig {
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Flags {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl Flags {
    pub const ALL_ON: Flags = Flags {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
}

impl Control for S3BlockPublicAccess {
    const NAME: &'static str = "s3_block_public_access";
    const SCOPE: Scope = Scope::Account;
    type Desired = ();
    type Observed = Observed;
    type Op = Flags;

    fn permissions(_desired: &Self::Desired, _arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write("AccountSettings", &["s3:PutAccountPublicAccessBlock"])
                .and_read(&["s3:GetAccountPublicAccessBlock"]),
            // Whether an organization S3 policy manages the settings (read on drift only).
            Grant::read(
                "OrganizationPoliciesThatManageSettings",
                &["organizations:DescribeEffectivePolicy"],
            ),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<()> {
        baseline
            .s3_block_public_access
            .as_ref()
            .filter(|c| c.enabled)
            .map(|_| ())
    }

    async fn observe(target: &Target, _: &()) -> Result<Observed, TargetError> {
        let flags = read(&target.s3control(), &target.account).await?;
        let managed_by = match flags {
            Some(f) if f == Flags::ALL_ON => None,
            _ => organization_policy(&target.session.organizations(&target.partition)).await,
        };
        Ok(Observed { flags, managed_by })
    }

    fn plan(_: &(), observed: &Observed, _: &str) -> Vec<Proposal<Flags>> {
        // The baseline wants every flag on, so "the stricter of live and desired" is
        // simply all on: a flag that is on is never turned off.
        let want = Flags::ALL_ON;
        if let (Some(assign), false) = (&observed.managed_by, observed.flags == Some(want)) {
            let p = Proposal::new(ADDRESS.into(), Action::Kept).reason(format!(
                "managed by the organization: its S3 policy sets public_access_block_configuration = {assign:?}, which the account cannot change"
            ));
            return vec![match observed.flags {
                Some(live) => p.before(json(live)),
                None => p,
            }];
        }
        vec![match observed.flags {
            None => Proposal::new(ADDRESS.into(), Action::Create)
                .after(json(want))
                .op(want),
            Some(live) if live == want => {
                Proposal::new(ADDRESS.into(), Action::NoOp).before(json(live))
            }
            Some(live) => Proposal::new(ADDRESS.into(), Action::Update)
                .before(json(live))
                .after(json(want))
                .op(want),
        }]
    }

    async fn apply(target: &Target, want: &Flags) -> Result<Applied, TargetError> {
        let client = target.s3control();
        client
            .put_public_access_block()
            .account_id(&target.account)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(want.block_public_acls)
                    .ignore_public_acls(want.ignore_public_acls)
                    .block_public_policy(want.block_public_policy)
                    .restrict_public_buckets(want.restrict_public_buckets)
                    .build(),
            )
            .send()
            .await
            .map_err(aws_err("s3control:PutPublicAccessBlock"))?;
        Ok(Applied::Done)
    }
}

/// The account's settings, and the value an organization S3 policy assigns them when one
/// manages them (`all`, `none`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub flags: Option<Flags>,
    pub managed_by: Option<String>,
}

/// The `public_access_block_configuration` the account's effective S3 policy assigns.
/// None when no S3 policy applies (`EffectivePolicyNotFoundException`), the account is in
/// no organization, or the policy cannot be read: the settings are then the account's.
async fn organization_policy(client: &aws_sdk_organizations::Client) -> Option<String> {
    use aws_sdk_organizations::types::EffectivePolicyType;
    let out = match client
        .describe_effective_policy()
        .policy_type(EffectivePolicyType::S3Policy)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            tracing::debug!(error = %crate::error::causes(&e).join(": "), "no organization S3 policy read");
            return None;
        }
    };
    let content = out.effective_policy()?.policy_content()?;
    assigned(content)
}

/// `{"s3_attributes": {"public_access_block_configuration": "all"}}`, or with the
/// operator still in it (`{"@@assign": "all"}`).
fn assigned(content: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(content).ok()?;
    let v = &doc["s3_attributes"]["public_access_block_configuration"];
    v.as_str()
        .or_else(|| v["@@assign"].as_str())
        .map(str::to_owned)
}

fn json(f: Flags) -> serde_json::Value {
    serde_json::to_value(f).expect("flags always serialize")
}

async fn read(
    client: &aws_sdk_s3control::Client,
    account: &str,
) -> Result<Option<Flags>, AwsError> {
    match client
        .get_public_access_block()
        .account_id(account)
        .send()
        .await
    {
        Ok(out) => Ok(out.public_access_block_configuration().map(|c| Flags {
            block_public_acls: c.block_public_acls().unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
            block_public_policy: c.block_public_policy().unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_public_access_block_configuration()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err("s3control:GetPublicAccessBlock")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(flags: Option<Flags>) -> Observed {
        Observed {
            flags,
            managed_by: None,
        }
    }

    #[test]
    fn no_configuration_is_created_all_on() {
        let p = S3BlockPublicAccess::plan(&(), &seen(None), "us-east-1");
        assert_eq!(p[0].action, Action::Create);
        assert_eq!(p[0].op, Some(Flags::ALL_ON));
    }

    #[test]
    fn partly_on_is_completed_without_turning_anything_off() {
        let live = Flags {
            block_public_acls: true,
            ignore_public_acls: false,
            block_public_policy: true,
            restrict_public_buckets: false,
        };
        let p = S3BlockPublicAccess::plan(&(), &seen(Some(live)), "us-east-1");
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(p[0].op, Some(Flags::ALL_ON));
    }

    #[test]
    fn all_on_is_a_no_op() {
        let p = S3BlockPublicAccess::plan(&(), &seen(Some(Flags::ALL_ON)), "us-east-1");
        assert_eq!(p[0].action, Action::NoOp);
        assert!(p[0].op.is_none());
    }

    #[test]
    fn settings_an_organization_s3_policy_manages_are_kept_and_said() {
        let live = Flags {
            block_public_acls: false,
            ignore_public_acls: false,
            block_public_policy: false,
            restrict_public_buckets: false,
        };
        let observed = Observed {
            flags: Some(live),
            managed_by: Some("none".into()),
        };
        let p = S3BlockPublicAccess::plan(&(), &observed, "us-east-1");
        assert_eq!(p[0].action, Action::Kept);
        assert!(p[0].op.is_none(), "a Put would be refused with 403");
        assert!(
            p[0].reason
                .as_deref()
                .unwrap()
                .contains("managed by the organization")
        );
        // All on under a policy: nothing to say but that it matches.
        let observed = Observed {
            flags: Some(Flags::ALL_ON),
            managed_by: Some("all".into()),
        };
        assert_eq!(
            S3BlockPublicAccess::plan(&(), &observed, "us-east-1")[0].action,
            Action::NoOp
        );
    }

    #[test]
    fn the_effective_policy_is_read_with_or_without_its_operator() {
        assert_eq!(
            assigned(r#"{"s3_attributes":{"public_access_block_configuration":"all"}}"#).as_deref(),
            Some("all")
        );
        assert_eq!(
            assigned(
                r#"{"s3_attributes":{"public_access_block_configuration":{"@@assign":"none"}}}"#
            )
            .as_deref(),
            Some("none")
        );
        assert_eq!(assigned(r#"{"tags":{}}"#), None);
    }
}
