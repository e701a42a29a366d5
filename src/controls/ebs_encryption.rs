//! EBS encryption by default, in every target region, optionally with a chosen KMS key.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::{AwsError, aws_err};
use crate::plan::Action;
use serde_json::json;

pub struct EbsEncryption;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// None: whatever key is set stays (the AWS-managed key unless someone chose another).
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub enabled: bool,
    /// Only read when the baseline names a key.
    pub key: Option<KeyState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// The region's default key as EC2 reports it (`alias/aws/ebs` or a key ARN).
    pub live: String,
    /// The ARN of the key the baseline names, as KMS resolves it in this region.
    pub wanted_arn: String,
}

impl KeyState {
    pub fn matches(&self) -> bool {
        self.live == self.wanted_arn
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub enable: bool,
    pub set_key: Option<String>,
}

impl Control for EbsEncryption {
    const NAME: &'static str = "ebs_encryption";
    const SCOPE: Scope = Scope::Regional;
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let c = baseline.ebs_encryption.as_ref().filter(|c| c.enabled)?;
        Some(Desired {
            kms_key_id: c.kms_key_id.as_ref().map(|k| k.0.clone()),
        })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, AwsError> {
        observe_with(&target.ec2(), &target.kms(), desired).await
    }

    fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
        plan(desired, observed, region)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, AwsError> {
        apply_with(&target.ec2(), op).await
    }
}

/// Reads the region's setting; the key only when the baseline names one.
pub async fn observe_with(
    ec2: &aws_sdk_ec2::Client,
    kms: &aws_sdk_kms::Client,
    desired: &Desired,
) -> Result<Observed, AwsError> {
    let enabled = async {
        ec2.get_ebs_encryption_by_default()
            .send()
            .await
            .map_err(aws_err("ec2:GetEbsEncryptionByDefault"))
            .map(|o| o.ebs_encryption_by_default().unwrap_or(false))
    };
    let key = async {
        let Some(want) = &desired.kms_key_id else {
            return Ok(None);
        };
        let (live, wanted) = tokio::join!(
            ec2.get_ebs_default_kms_key_id().send(),
            kms.describe_key().key_id(want).send()
        );
        let live = live.map_err(aws_err("ec2:GetEbsDefaultKmsKeyId"))?;
        let wanted = wanted.map_err(aws_err("kms:DescribeKey"))?;
        Ok(Some(KeyState {
            live: live.kms_key_id().unwrap_or("alias/aws/ebs").to_owned(),
            wanted_arn: wanted
                .key_metadata()
                .and_then(|m| m.arn())
                .unwrap_or(want)
                .to_owned(),
        }))
    };
    let (enabled, key) = tokio::try_join!(enabled, key)?;
    Ok(Observed { enabled, key })
}

pub fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
    let address = format!("ec2.ebs_encryption[\"{region}\"]");
    let set_key = match (&desired.kms_key_id, &observed.key) {
        (Some(want), Some(key)) if !key.matches() => Some(want.clone()),
        _ => None,
    };
    let mut before = json!({ "encryption_by_default": observed.enabled });
    let mut after = json!({ "encryption_by_default": true });
    if let Some(key) = &observed.key {
        before["kms_key_id"] = json!(key.live);
        after["kms_key_id"] = json!(key.wanted_arn);
    }
    if observed.enabled && set_key.is_none() {
        return vec![Proposal::new(address, Action::NoOp).before(before)];
    }
    vec![
        Proposal::new(address, Action::Update)
            .before(before)
            .after(after)
            .op(Op {
                enable: !observed.enabled,
                set_key,
            }),
    ]
}

pub async fn apply_with(ec2: &aws_sdk_ec2::Client, op: &Op) -> Result<Applied, AwsError> {
    // The key first, so no volume is encrypted by default with the wrong one.
    if let Some(key) = &op.set_key {
        ec2.modify_ebs_default_kms_key_id()
            .kms_key_id(key)
            .send()
            .await
            .map_err(aws_err("ec2:ModifyEbsDefaultKmsKeyId"))?;
    }
    if op.enable {
        ec2.enable_ebs_encryption_by_default()
            .send()
            .await
            .map_err(aws_err("ec2:EnableEbsEncryptionByDefault"))?;
    }
    Ok(Applied::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_ARN: &str =
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    use aws_sdk_ec2::operation::{
        enable_ebs_encryption_by_default::EnableEbsEncryptionByDefaultOutput,
        get_ebs_default_kms_key_id::GetEbsDefaultKmsKeyIdOutput,
        get_ebs_encryption_by_default::GetEbsEncryptionByDefaultOutput,
        modify_ebs_default_kms_key_id::ModifyEbsDefaultKmsKeyIdOutput,
    };
    use aws_sdk_kms::{operation::describe_key::DescribeKeyOutput, types::KeyMetadata};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    // The emulator does not implement GetEbsDefaultKmsKeyId, so the key path is mocked
    // with the real API's shapes.
    #[tokio::test]
    async fn the_named_key_is_resolved_by_kms_and_compared_by_arn() {
        let enabled = mock!(aws_sdk_ec2::Client::get_ebs_encryption_by_default).then_output(|| {
            GetEbsEncryptionByDefaultOutput::builder()
                .ebs_encryption_by_default(true)
                .build()
        });
        let live_key = mock!(aws_sdk_ec2::Client::get_ebs_default_kms_key_id).then_output(|| {
            GetEbsDefaultKmsKeyIdOutput::builder()
                .kms_key_id("alias/aws/ebs")
                .build()
        });
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&enabled, &live_key]);
        let describe = mock!(aws_sdk_kms::Client::describe_key)
            .match_requests(|r| r.key_id() == Some("alias/ebs"))
            .then_output(|| {
                DescribeKeyOutput::builder()
                    .key_metadata(
                        KeyMetadata::builder()
                            .key_id("1234")
                            .arn(KEY_ARN)
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let kms = mock_client!(aws_sdk_kms, [&describe]);

        let desired = Desired {
            kms_key_id: Some("alias/ebs".into()),
        };
        let observed = observe_with(&ec2, &kms, &desired).await.unwrap();
        assert_eq!(
            observed,
            Observed {
                enabled: true,
                key: Some(KeyState {
                    live: "alias/aws/ebs".into(),
                    wanted_arn: KEY_ARN.into()
                })
            }
        );
        assert_eq!(
            (
                enabled.num_calls(),
                live_key.num_calls(),
                describe.num_calls()
            ),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn without_a_named_key_neither_the_key_nor_kms_is_read() {
        let enabled = mock!(aws_sdk_ec2::Client::get_ebs_encryption_by_default).then_output(|| {
            GetEbsEncryptionByDefaultOutput::builder()
                .ebs_encryption_by_default(false)
                .build()
        });
        let ec2 = mock_client!(aws_sdk_ec2, [&enabled]);
        let kms = mock_client!(
            aws_sdk_kms,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        );
        let observed = observe_with(&ec2, &kms, &Desired { kms_key_id: None })
            .await
            .unwrap();
        assert_eq!(
            observed,
            Observed {
                enabled: false,
                key: None
            }
        );
        assert_eq!(enabled.num_calls(), 1);
    }

    #[tokio::test]
    async fn the_key_is_set_before_encryption_is_enabled() {
        let modify = mock!(aws_sdk_ec2::Client::modify_ebs_default_kms_key_id)
            .match_requests(|r| r.kms_key_id() == Some("alias/ebs"))
            .then_output(|| {
                ModifyEbsDefaultKmsKeyIdOutput::builder()
                    .kms_key_id(KEY_ARN)
                    .build()
            });
        let enable =
            mock!(aws_sdk_ec2::Client::enable_ebs_encryption_by_default).then_output(|| {
                EnableEbsEncryptionByDefaultOutput::builder()
                    .ebs_encryption_by_default(true)
                    .build()
            });
        // Sequential: a call out of this order fails the test.
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&modify, &enable]);
        let op = Op {
            enable: true,
            set_key: Some("alias/ebs".into()),
        };
        assert_eq!(apply_with(&ec2, &op).await.unwrap(), Applied::Done);
        assert_eq!((modify.num_calls(), enable.num_calls()), (1, 1));
    }

    #[test]
    fn disabled_encryption_is_enabled() {
        let p = plan(
            &Desired { kms_key_id: None },
            &Observed {
                enabled: false,
                key: None,
            },
            "eu-west-1",
        );
        assert_eq!(p[0].address, "ec2.ebs_encryption[\"eu-west-1\"]");
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(
            p[0].op,
            Some(Op {
                enable: true,
                set_key: None
            })
        );
    }

    #[test]
    fn enabled_without_a_key_wish_is_a_no_op_whatever_the_key() {
        let p = plan(
            &Desired { kms_key_id: None },
            &Observed {
                enabled: true,
                key: None,
            },
            "eu-west-1",
        );
        assert_eq!(p[0].action, Action::NoOp);
    }

    #[test]
    fn a_different_key_is_replaced_by_the_named_one() {
        let desired = Desired {
            kms_key_id: Some("alias/ebs".into()),
        };
        let observed = Observed {
            enabled: true,
            key: Some(KeyState {
                live: "alias/aws/ebs".into(),
                wanted_arn: KEY_ARN.into(),
            }),
        };
        let p = plan(&desired, &observed, "eu-west-1");
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(
            p[0].op,
            Some(Op {
                enable: false,
                set_key: Some("alias/ebs".into())
            })
        );
        assert_eq!(p[0].after.as_ref().unwrap()["kms_key_id"], KEY_ARN);
    }

    #[test]
    fn the_named_key_already_set_is_a_no_op() {
        let desired = Desired {
            kms_key_id: Some("alias/ebs".into()),
        };
        let observed = Observed {
            enabled: true,
            key: Some(KeyState {
                live: KEY_ARN.into(),
                wanted_arn: KEY_ARN.into(),
            }),
        };
        assert_eq!(
            plan(&desired, &observed, "eu-west-1")[0].action,
            Action::NoOp
        );
    }
}
