//! S3 account-level Block Public Access: all four flags on.

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
    type Observed = Option<Flags>;
    type Op = Flags;

    fn permissions(_desired: &Self::Desired, _arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write("AccountSettings", &["s3:PutAccountPublicAccessBlock"])
                .and_read(&["s3:GetAccountPublicAccessBlock"]),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<()> {
        baseline
            .s3_block_public_access
            .as_ref()
            .filter(|c| c.enabled)
            .map(|_| ())
    }

    async fn observe(target: &Target, _: &()) -> Result<Option<Flags>, TargetError> {
        read(&target.s3control(), &target.account)
            .await
            .map_err(TargetError::from)
    }

    fn plan(_: &(), observed: &Option<Flags>, _: &str) -> Vec<Proposal<Flags>> {
        // The baseline wants every flag on, so "the stricter of live and desired" is
        // simply all on: a flag that is on is never turned off.
        let want = Flags::ALL_ON;
        vec![match observed {
            None => Proposal::new(ADDRESS.into(), Action::Create)
                .after(json(want))
                .op(want),
            Some(live) if *live == want => {
                Proposal::new(ADDRESS.into(), Action::NoOp).before(json(*live))
            }
            Some(live) => Proposal::new(ADDRESS.into(), Action::Update)
                .before(json(*live))
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

    #[test]
    fn no_configuration_is_created_all_on() {
        let p = S3BlockPublicAccess::plan(&(), &None, "us-east-1");
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
        let p = S3BlockPublicAccess::plan(&(), &Some(live), "us-east-1");
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(p[0].op, Some(Flags::ALL_ON));
    }

    #[test]
    fn all_on_is_a_no_op() {
        let p = S3BlockPublicAccess::plan(&(), &Some(Flags::ALL_ON), "us-east-1");
        assert_eq!(p[0].action, Action::NoOp);
        assert!(p[0].op.is_none());
    }
}
