//! The KMS key that encrypts the audit logs, in the home region, with automatic rotation
//! and a key policy that lets the account administer it, lets CloudTrail encrypt only for
//! this account's trail, and lets AWS Config use it for this account only. An existing
//! key behind the alias is adopted; its policy keeps statements that are not ours.

use super::{Applied, Control, Proposal, Scope, Seat, Target};
use crate::baseline::{Baseline, KmsAlias};
use crate::error::TargetError;
use crate::permissions::{Arns, Grant};
use crate::toolkit::account::Account;
use crate::toolkit::kms::{Key, Op, apply_with, key_grants, key_proposal, observe_key};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub struct LogKey;

/// The `baseline-key` tag of the log key.
pub const WHICH_LOG: &str = "log";

/// The KMS key that encrypts the audit logs, in the home region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogKeyConfig {
    pub enabled: bool,
    #[serde(default = "default_log_alias")]
    pub alias: KmsAlias,
}

pub(crate) fn default_log_alias() -> KmsAlias {
    KmsAlias("alias/baseline-logs".into())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub alias: KmsAlias,
    /// The trail CloudTrail may encrypt for.
    pub trail_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub account: Account,
    pub key: Option<Key>,
}

impl Control for LogKey {
    const NAME: &'static str = "log_key";
    const SCOPE: Scope = Scope::Account;
    const SEAT: Seat = Seat::LogArchive;
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn permissions(desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        key_grants(arns, &desired.alias.0)
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let key = baseline.log_key.as_ref().filter(|k| k.enabled)?;
        Some(Desired {
            alias: key.alias.clone(),
            trail_name: baseline.trail_name(),
        })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        Ok(Observed {
            account: Account::of(target),
            key: observe_key(&target.kms(), &desired.alias.0, WHICH_LOG).await?,
        })
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<Op>> {
        vec![plan(desired, observed)]
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        apply_with(&target.kms(), op)
            .await
            .map_err(TargetError::from)
    }
}

/// Our key policy statements.
pub fn statements(account: &Account, trail_name: &str) -> Vec<Value> {
    let trail = account.trail_arn(trail_name);
    let any_trail = format!(
        "arn:{}:cloudtrail:*:{}:trail/*",
        account.partition,
        account.trail_account()
    );
    // AWS Config: this account's, or in an organization every member's (aws:SourceOrgID,
    // the condition the AWS Config guide gives for an organization's delivery).
    let config_condition = match &account.central {
        None => json!({ "StringEquals": { "aws:SourceAccount": account.id } }),
        Some(c) => json!({ "StringEquals": { "aws:SourceOrgID": c.org_id } }),
    };
    vec![
        json!({
            "Sid": "BaselineAccountAdministers",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{}:iam::{}:root", account.partition, account.id) },
            "Action": "kms:*",
            "Resource": "*"
        }),
        json!({
            "Sid": "BaselineCloudTrailEncrypts",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": { "aws:SourceArn": trail },
                "StringLike": { "kms:EncryptionContext:aws:cloudtrail:arn": any_trail }
            }
        }),
        json!({
            "Sid": "BaselineCloudTrailDescribesKey",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:SourceArn": trail } }
        }),
        json!({
            "Sid": "BaselineConfigUsesKey",
            "Effect": "Allow",
            "Principal": { "Service": "config.amazonaws.com" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": config_condition
        }),
    ]
}

pub fn plan(desired: &Desired, observed: &Observed) -> Proposal<Op> {
    key_proposal(
        format!("kms.log_key[{:?}]", desired.alias.0),
        &desired.alias.0,
        WHICH_LOG,
        &statements(&observed.account, &desired.trail_name),
        observed.key.as_ref(),
        "baseline: encrypts the CloudTrail and AWS Config logs",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::toolkit::policy;

    fn account() -> Account {
        Account::example("us-east-1")
    }

    fn desired() -> Desired {
        Desired {
            alias: KmsAlias("alias/baseline-logs".into()),
            trail_name: "baseline-trail".into(),
        }
    }

    #[test]
    fn no_key_is_created_with_the_policy() {
        let p = plan(
            &desired(),
            &Observed {
                account: account(),
                key: None,
            },
        );
        assert_eq!(p.action, Action::Create);
        let Some(Op::Create { alias, policy, .. }) = &p.op else {
            panic!("{:?}", p.op)
        };
        assert_eq!(alias, "alias/baseline-logs");
        let doc: Value = serde_json::from_str(policy).unwrap();
        let trail = &doc["Statement"][1];
        assert_eq!(
            trail["Condition"]["StringEquals"]["aws:SourceArn"],
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/baseline-trail"
        );
        assert_eq!(
            trail["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"],
            "arn:aws:cloudtrail:*:123456789012:trail/*"
        );
        assert_eq!(
            doc["Statement"][3]["Condition"]["StringEquals"]["aws:SourceAccount"],
            "123456789012"
        );
        assert_eq!(
            doc["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::123456789012:root"
        );
    }

    #[test]
    fn an_adopted_key_gets_rotation_and_our_statements_and_keeps_its_own() {
        let theirs = json!({"Sid": "Auditors", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:Decrypt", "Resource": "*"});
        let key = Key {
            id: "k-1".into(),
            arn: "arn:aws:kms:us-east-1:123456789012:key/k-1".into(),
            state: "Enabled".into(),
            rotation: false,
            policy: Some(json!({"Version": "2012-10-17", "Statement": [theirs.clone()]})),
            ..Key::default()
        };
        let observed = Observed {
            account: account(),
            key: Some(key.clone()),
        };
        let p = plan(&desired(), &observed);
        assert_eq!(p.action, Action::Update);
        let Some(Op::Update {
            key_id,
            enable_rotation,
            policy: Some(policy),
        }) = &p.op
        else {
            panic!("{:?}", p.op)
        };
        assert_eq!((key_id.as_str(), *enable_rotation), ("k-1", true));
        let doc: Value = serde_json::from_str(policy).unwrap();
        assert_eq!(doc["Statement"][0], theirs);
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 5);

        // Once applied, nothing is left to do.
        let done = Observed {
            account: account(),
            key: Some(Key {
                rotation: true,
                policy: Some(doc),
                ..key
            }),
        };
        let p = plan(&desired(), &done);
        assert_eq!((p.action, p.op), (Action::NoOp, None));
    }

    #[test]
    fn an_orphan_key_of_ours_is_adopted_with_the_alias_not_made_again() {
        let ours = statements(&account(), "baseline-trail");
        let orphan = Key {
            id: "k-orphan".into(),
            arn: "arn:aws:kms:us-east-1:123456789012:key/k-orphan".into(),
            state: "Enabled".into(),
            rotation: false,
            policy: Some(policy::merge_by_sid(None, &ours)),
            tagged: true,
            orphan: true,
            spares: vec!["arn:aws:kms:us-east-1:123456789012:key/k-spare".into()],
        };
        let p = plan(
            &desired(),
            &Observed {
                account: account(),
                key: Some(orphan),
            },
        );
        assert_eq!(p.action, Action::Update);
        assert_eq!(
            p.op,
            Some(Op::Adopt {
                key_id: "k-orphan".into(),
                alias: "alias/baseline-logs".into(),
                enable_rotation: true,
                policy: None,
            })
        );
        let reason = p.reason.unwrap();
        assert!(
            reason.contains("adopt arn:aws:kms:us-east-1:123456789012:key/k-orphan"),
            "{reason}"
        );
        assert!(
            reason.contains("interrupted")
                || reason.contains("stopped between CreateKey and CreateAlias"),
            "{reason}"
        );
        assert!(
            reason.contains("k-spare") && reason.contains("not deleted"),
            "{reason}"
        );
        assert_eq!(p.after.unwrap()["alias"], "alias/baseline-logs");
    }

    #[test]
    fn a_key_we_did_not_make_is_corrected_with_a_word_on_the_iam_policy() {
        let key = Key {
            id: "k-theirs".into(),
            arn: "arn:aws:kms:us-east-1:123456789012:key/k-theirs".into(),
            state: "Enabled".into(),
            rotation: false,
            policy: Some(policy::merge_by_sid(
                None,
                &statements(&account(), "baseline-trail"),
            )),
            ..Key::default()
        };
        let p = plan(
            &desired(),
            &Observed {
                account: account(),
                key: Some(key),
            },
        );
        assert_eq!(p.action, Action::Update);
        assert!(p.reason.unwrap().contains("not made by baseline"));
    }

    // The calls that follow CreateKey are retried while KMS still refuses them (tags take
    // up to five minutes to count in authorization); the key is made once, tagged.
    #[tokio::test]
    async fn a_new_key_is_tagged_and_its_alias_retried_while_tags_propagate() {
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let create = mock!(aws_sdk_kms::Client::create_key)
            .match_requests(|r| {
                let tags: Vec<(&str, &str)> = r
                    .tags()
                    .iter()
                    .map(|t| (t.tag_key(), t.tag_value()))
                    .collect();
                tags == [("managed-by", "baseline"), ("baseline-key", "log")]
            })
            .then_output(|| {
                aws_sdk_kms::operation::create_key::CreateKeyOutput::builder()
                    .key_metadata(
                        aws_sdk_kms::types::KeyMetadata::builder()
                            .key_id("k-new")
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let denied = mock!(aws_sdk_kms::Client::create_alias).then_error(|| {
            aws_sdk_kms::operation::create_alias::CreateAliasError::generic(
                aws_sdk_kms::error::ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized")
                    .build(),
            )
        });
        let alias = mock!(aws_sdk_kms::Client::create_alias)
            .match_requests(|r| r.target_key_id() == Some("k-new"))
            .then_output(|| {
                aws_sdk_kms::operation::create_alias::CreateAliasOutput::builder().build()
            });
        let rotate = mock!(aws_sdk_kms::Client::enable_key_rotation).then_output(|| {
            aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput::builder().build()
        });
        let kms = mock_client!(
            aws_sdk_kms,
            RuleMode::Sequential,
            [&create, &denied, &alias, &rotate]
        );
        let op = Op::Create {
            alias: "alias/baseline-logs".into(),
            which: "log".into(),
            policy: "{}".into(),
            description: "d".into(),
        };
        assert_eq!(apply_with(&kms, &op).await.unwrap(), Applied::Done);
        assert_eq!(
            (
                create.num_calls(),
                denied.num_calls(),
                alias.num_calls(),
                rotate.num_calls()
            ),
            (1, 1, 1, 1)
        );
    }
}
