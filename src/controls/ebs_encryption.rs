//! EBS encryption by default, in every target region, optionally with a chosen KMS key.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::account::Account;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub struct EbsEncryption;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EbsEncryptionConfig {
    pub enabled: bool,
    /// A key id, key ARN, alias name (`alias/x`) or alias ARN; default: the AWS-managed key.
    pub kms_key_id: Option<KmsKeyRef>,
}

/// A reference to a KMS key, checked for shape (not existence) when the file is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KmsKeyRef(pub String);

impl<'de> Deserialize<'de> for KmsKeyRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let is_alias = s
            .strip_prefix("alias/")
            .is_some_and(|n| !n.is_empty() && !n.starts_with("aws/"));
        let is_arn = s.starts_with("arn:") && (s.contains(":key/") || s.contains(":alias/"));
        let is_id = s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        let is_mrk = s.starts_with("mrk-") && s.len() > 4;
        if is_alias || is_arn || is_id || is_mrk {
            Ok(KmsKeyRef(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid KMS key {s:?}: expected a key id, a key ARN, \"alias/<name>\" of a customer key, or an alias ARN (leave it out for the AWS-managed key)"
            )))
        }
    }
}

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
    /// The region's default key as EC2 reports it (`alias/aws/ebs`, an alias ARN or a key ARN).
    pub live: String,
    /// The live key's key ARN as KMS resolves it, when it can (it may be another account's).
    pub live_arn: Option<String>,
    /// The ARN of the key the baseline names, as KMS resolves it in this region.
    pub wanted_arn: String,
    /// For a customer managed key: whether its key policy lets the EC2 Auto Scaling
    /// service-linked role use it (None: not a customer key, or the policy is unreadable).
    pub autoscaling_can_use: Option<bool>,
}

impl KeyState {
    /// Like with like: both sides as key ARNs, whatever form EC2 or the baseline used.
    pub fn matches(&self) -> bool {
        self.live_arn.as_deref().unwrap_or(&self.live) == self.wanted_arn
    }
}

/// The EC2 Auto Scaling service-linked role of the account.
pub fn autoscaling_role(account: &Account) -> String {
    format!(
        "arn:{}:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        account.partition, account.id
    )
}

/// Whether a key policy allows `role` to use the key for EBS volumes that Auto Scaling
/// launches: the EC2 Auto Scaling guide ("Required AWS KMS key policy for use with encrypted
/// volumes") asks for `kms:Encrypt`, `kms:Decrypt`, `kms:ReEncrypt*`, `kms:GenerateDataKey*`,
/// `kms:DescribeKey` and `kms:CreateGrant` for the service-linked role, as its own
/// permissions do not cover customer managed keys. Grants made outside the key policy are
/// not seen here, which is why this is a warning and not a change.
pub fn lets_role_use(policy: &str, role: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => vec![],
        }
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        v @ serde_json::Value::Object(_) => vec![v.clone()],
        _ => vec![],
    };
    let granted: Vec<String> = statements
        .iter()
        .filter(|st| st["Effect"] == "Allow")
        .filter(|st| {
            let p = &st["Principal"];
            p == "*" || list(&p["AWS"]).iter().any(|a| a == role || a == "*")
        })
        .flat_map(|st| list(&st["Action"]))
        .collect();
    let allows = |action: &str| {
        granted.iter().any(|g| {
            let g = g.to_ascii_lowercase();
            let a = action.to_ascii_lowercase();
            match g.strip_suffix('*') {
                Some(prefix) => a.starts_with(prefix),
                None => g == a,
            }
        })
    };
    [
        "kms:Decrypt",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:CreateGrant",
    ]
    .iter()
    .all(|a| allows(a))
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

    fn permissions(_desired: &Self::Desired, _arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write(
                "AccountSettings",
                &[
                    "ec2:EnableEbsEncryptionByDefault",
                    "ec2:ModifyEbsDefaultKmsKeyId",
                ],
            )
            .and_read(&["ec2:GetEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId"]),
            // The key a baseline names is checked before it is made the default.
            Grant::read("KeysRead", &["kms:DescribeKey"]),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let c = baseline.ebs_encryption.as_ref().filter(|c| c.enabled)?;
        Some(Desired {
            kms_key_id: c.kms_key_id.as_ref().map(|k| k.0.clone()),
        })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        observe_with(&target.ec2(), &target.kms(), desired, &Account::of(target))
            .await
            .map_err(TargetError::from)
    }

    fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
        plan(desired, observed, region)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        apply_with(&target.ec2(), op)
            .await
            .map_err(TargetError::from)
    }
}

/// Reads the region's setting; the key only when the baseline names one.
pub async fn observe_with(
    ec2: &aws_sdk_ec2::Client,
    kms: &aws_sdk_kms::Client,
    desired: &Desired,
    account: &Account,
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
        let live = live.kms_key_id().unwrap_or("alias/aws/ebs").to_owned();
        let meta = wanted.key_metadata();
        let wanted_arn = meta.and_then(|m| m.arn()).unwrap_or(want).to_owned();
        let customer = meta
            .and_then(|m| m.key_manager())
            .is_some_and(|m| m.as_str() == "CUSTOMER");
        // EC2 reports the default key as it was set (often an alias): resolve it to its
        // key ARN to compare like with like. A key KMS cannot describe for us (another
        // account's) is compared as reported.
        let live_arn = async {
            match kms.describe_key().key_id(&live).send().await {
                Ok(o) => o.key_metadata().and_then(|m| m.arn()).map(str::to_owned),
                Err(_) => None,
            }
        };
        let policy = async {
            if !customer {
                return None;
            }
            kms.get_key_policy()
                .key_id(&wanted_arn)
                .policy_name("default")
                .send()
                .await
                .ok()
                .and_then(|o| o.policy().map(str::to_owned))
        };
        let (live_arn, policy) = tokio::join!(live_arn, policy);
        let role = autoscaling_role(account);
        Ok(Some(KeyState {
            live,
            live_arn,
            autoscaling_can_use: policy.map(|p| lets_role_use(&p, &role)),
            wanted_arn,
        }))
    };
    let (enabled, key) = tokio::try_join!(enabled, key)?;
    Ok(Observed { enabled, key })
}

pub fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
    let address = format!("ec2.ebs_encryption[\"{region}\"]");
    // The resolved key ARN is what ModifyEbsDefaultKmsKeyId gets: the plan shows it, and an
    // alias moved between plan and apply cannot change what is set.
    let set_key = match (&desired.kms_key_id, &observed.key) {
        (Some(_), Some(key)) if !key.matches() => Some(key.wanted_arn.clone()),
        _ => None,
    };
    let warning = observed
        .key
        .as_ref()
        .filter(|k| k.autoscaling_can_use == Some(false))
        .map(|k| {
            format!(
                "warning: the key policy of {} does not let the EC2 Auto Scaling service-linked role AWSServiceRoleForAutoScaling use it (kms:Decrypt, kms:GenerateDataKey*, kms:CreateGrant): Auto Scaling launches with encrypted volumes will fail unless a grant allows it",
                k.wanted_arn
            )
        });
    let mut before = json!({ "encryption_by_default": observed.enabled });
    let mut after = json!({ "encryption_by_default": true });
    if let Some(key) = &observed.key {
        before["kms_key_id"] = json!(key.live);
        after["kms_key_id"] = json!(key.wanted_arn);
    }
    let mut p = if observed.enabled && set_key.is_none() {
        Proposal::new(address, Action::NoOp).before(before)
    } else {
        Proposal::new(address, Action::Update)
            .before(before)
            .after(after)
            .op(Op {
                enable: !observed.enabled,
                set_key,
            })
    };
    if let Some(w) = warning {
        p = p.reason(w);
    }
    vec![p]
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
    use aws_sdk_kms::{
        operation::{describe_key::DescribeKeyOutput, get_key_policy::GetKeyPolicyOutput},
        types::{KeyManagerType, KeyMetadata},
    };

    const AWS_EBS_ARN: &str =
        "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-12ab-34cd-56ef-1234567890ab";
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
                            .key_manager(KeyManagerType::Customer)
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let describe_live = mock!(aws_sdk_kms::Client::describe_key)
            .match_requests(|r| r.key_id() == Some("alias/aws/ebs"))
            .then_output(|| {
                DescribeKeyOutput::builder()
                    .key_metadata(
                        KeyMetadata::builder()
                            .key_id("aws-ebs")
                            .arn(AWS_EBS_ARN)
                            .key_manager(KeyManagerType::Aws)
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        // The key policy as AWS makes it by default: the account only, not the role.
        let policy = mock!(aws_sdk_kms::Client::get_key_policy)
            .match_requests(|r| r.key_id() == Some(KEY_ARN))
            .then_output(|| {
                GetKeyPolicyOutput::builder()
                    .policy(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}"#)
                    .build()
            });
        let kms = mock_client!(
            aws_sdk_kms,
            RuleMode::MatchAny,
            [&describe, &describe_live, &policy]
        );

        let desired = Desired {
            kms_key_id: Some("alias/ebs".into()),
        };
        let account = Account::example("eu-west-1");
        let observed = observe_with(&ec2, &kms, &desired, &account).await.unwrap();
        assert_eq!(
            observed,
            Observed {
                enabled: true,
                key: Some(KeyState {
                    live: "alias/aws/ebs".into(),
                    live_arn: Some(AWS_EBS_ARN.into()),
                    wanted_arn: KEY_ARN.into(),
                    autoscaling_can_use: Some(false),
                })
            }
        );
        assert_eq!(
            (
                enabled.num_calls(),
                live_key.num_calls(),
                describe.num_calls() + describe_live.num_calls(),
                policy.num_calls()
            ),
            (1, 1, 2, 1)
        );
        let p = plan(&desired, &observed, "eu-west-1");
        // ModifyEbsDefaultKmsKeyId gets the resolved ARN, and the plan warns about Auto Scaling.
        assert_eq!(
            p[0].op,
            Some(Op {
                enable: false,
                set_key: Some(KEY_ARN.into())
            })
        );
        assert!(
            p[0].reason
                .as_deref()
                .unwrap()
                .contains("AWSServiceRoleForAutoScaling"),
            "{:?}",
            p[0]
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
        let observed = observe_with(
            &ec2,
            &kms,
            &Desired { kms_key_id: None },
            &Account::example("eu-west-1"),
        )
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
            .match_requests(|r| r.kms_key_id() == Some(KEY_ARN))
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
            set_key: Some(KEY_ARN.into()),
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
                live_arn: None,
                wanted_arn: KEY_ARN.into(),
                autoscaling_can_use: Some(true),
            }),
        };
        let p = plan(&desired, &observed, "eu-west-1");
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(
            p[0].op,
            Some(Op {
                enable: false,
                set_key: Some(KEY_ARN.into())
            })
        );
        assert!(p[0].reason.is_none());
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
                live_arn: None,
                wanted_arn: KEY_ARN.into(),
                autoscaling_can_use: None,
            }),
        };
        assert_eq!(
            plan(&desired, &observed, "eu-west-1")[0].action,
            Action::NoOp
        );
        // Set as an alias ARN, it is the same key once resolved: no change.
        let observed = Observed {
            enabled: true,
            key: Some(KeyState {
                live: "arn:aws:kms:eu-west-1:123456789012:alias/ebs".into(),
                live_arn: Some(KEY_ARN.into()),
                wanted_arn: KEY_ARN.into(),
                autoscaling_can_use: None,
            }),
        };
        assert_eq!(
            plan(&desired, &observed, "eu-west-1")[0].action,
            Action::NoOp
        );
    }

    #[test]
    fn the_autoscaling_role_needs_decrypt_data_keys_and_grants() {
        let role = autoscaling_role(&Account::example("eu-west-1"));
        let doc = |actions: serde_json::Value| {
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": [role.clone()]},
                "Action": actions, "Resource": "*"}]})
            .to_string()
        };
        assert!(lets_role_use(
            &doc(json!([
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
                "kms:CreateGrant"
            ])),
            &role
        ));
        assert!(lets_role_use(&doc(json!("kms:*")), &role));
        assert!(!lets_role_use(
            &doc(json!(["kms:Decrypt", "kms:GenerateDataKey*"])),
            &role
        ));
        assert!(!lets_role_use("not json", &role));
    }
}
