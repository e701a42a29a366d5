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
        let ec2 = target.ec2();
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
            let kms = target.kms();
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

    fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
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

    async fn apply(target: &Target, op: &Op) -> Result<Applied, AwsError> {
        let ec2 = target.ec2();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_ARN: &str =
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn disabled_encryption_is_enabled() {
        let p = EbsEncryption::plan(
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
        let p = EbsEncryption::plan(
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
        let p = EbsEncryption::plan(&desired, &observed, "eu-west-1");
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
            EbsEncryption::plan(&desired, &observed, "eu-west-1")[0].action,
            Action::NoOp
        );
    }
}
