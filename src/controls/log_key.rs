//! The KMS key that encrypts the audit logs, in the home region, with automatic rotation
//! and a key policy that lets the account administer it, lets CloudTrail encrypt only for
//! this account's trail, and lets AWS Config use it for this account only. An existing
//! key behind the alias is adopted; its policy keeps statements that are not ours.

use super::{Applied, Control, Proposal, Scope, Target, policy};
use crate::baseline::{Baseline, KmsAlias};
use crate::error::{AwsError, aws_err};
use crate::plan::Action;
use serde_json::{Value, json};

pub struct LogKey;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub alias: KmsAlias,
    /// The trail CloudTrail may encrypt for.
    pub trail_name: String,
}

/// Who the key is for: the account, its partition and home region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub partition: String,
    pub home_region: String,
}

impl Account {
    pub fn of(target: &Target) -> Account {
        Account {
            id: target.account.clone(),
            partition: target.partition.clone(),
            home_region: target.home_region.clone(),
        }
    }

    /// The account the tests use.
    #[cfg(test)]
    pub fn example(home_region: &str) -> Account {
        Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            home_region: home_region.into(),
        }
    }

    pub fn trail_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:cloudtrail:{}:{}:trail/{name}",
            self.partition, self.home_region, self.id
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub id: String,
    pub arn: String,
    pub state: String,
    pub rotation: bool,
    pub policy: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub account: Account,
    pub key: Option<Key>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        alias: String,
        policy: String,
        description: String,
    },
    Update {
        key_id: String,
        enable_rotation: bool,
        policy: Option<String>,
    },
}

impl Control for LogKey {
    const NAME: &'static str = "log_key";
    const SCOPE: Scope = Scope::Account;
    const STAGE: u8 = 1;
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let key = baseline.log_key.as_ref().filter(|k| k.enabled)?;
        Some(Desired {
            alias: key.alias.clone(),
            trail_name: baseline.trail_name(),
        })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, AwsError> {
        Ok(Observed {
            account: Account::of(target),
            key: observe_key(&target.kms(), &desired.alias.0).await?,
        })
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<Op>> {
        vec![plan(desired, observed)]
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, AwsError> {
        apply_with(&target.kms(), op).await
    }
}

/// The key behind an alias, with its rotation and policy; None when the alias is free.
pub async fn observe_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
) -> Result<Option<Key>, AwsError> {
    let Some((id, arn, state)) = describe(client, alias).await? else {
        return Ok(None);
    };
    if state != "Enabled" {
        return Err(AwsError::refused(
            "kms:DescribeKey",
            format!(
                "the key behind {alias} is {state}: enable it (or cancel its deletion), or choose another alias in [log_key]"
            ),
        ));
    }
    let (rotation, key_policy) = tokio::join!(
        client.get_key_rotation_status().key_id(&id).send(),
        client
            .get_key_policy()
            .key_id(&id)
            .policy_name("default")
            .send()
    );
    let rotation = rotation
        .map_err(aws_err("kms:GetKeyRotationStatus"))?
        .key_rotation_enabled();
    let key_policy = key_policy.map_err(aws_err("kms:GetKeyPolicy"))?;
    Ok(Some(Key {
        id,
        arn,
        state,
        rotation,
        policy: policy::parse(key_policy.policy()),
    }))
}

/// The key id, ARN and state behind an alias; None when the alias does not exist.
pub async fn describe(
    client: &aws_sdk_kms::Client,
    alias: &str,
) -> Result<Option<(String, String, String)>, AwsError> {
    match client.describe_key().key_id(alias).send().await {
        Ok(out) => {
            let meta = out.key_metadata().ok_or_else(|| {
                AwsError::invalid_response("kms:DescribeKey", "the answer has no key metadata")
            })?;
            Ok(Some((
                meta.key_id().to_owned(),
                meta.arn().unwrap_or_default().to_owned(),
                meta.key_state()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err("kms:DescribeKey")(e)),
    }
}

/// The key ARN behind an alias, for the changes that need it at apply time.
pub async fn resolve_arn(client: &aws_sdk_kms::Client, alias: &str) -> Result<String, AwsError> {
    match describe(client, alias).await? {
        Some((_, arn, _)) => Ok(arn),
        None => Err(AwsError::refused(
            "kms:DescribeKey",
            format!("the log key {alias} does not exist (its creation failed or was skipped)"),
        )),
    }
}

/// Our key policy statements.
pub fn statements(account: &Account, trail_name: &str) -> Vec<Value> {
    let trail = account.trail_arn(trail_name);
    let any_trail = format!(
        "arn:{}:cloudtrail:*:{}:trail/*",
        account.partition, account.id
    );
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
            "Condition": { "StringEquals": { "aws:SourceAccount": account.id } }
        }),
    ]
}

pub fn plan(desired: &Desired, observed: &Observed) -> Proposal<Op> {
    key_proposal(
        format!("kms.log_key[{:?}]", desired.alias.0),
        &desired.alias.0,
        &statements(&observed.account, &desired.trail_name),
        observed.key.as_ref(),
        "baseline: encrypts the CloudTrail and AWS Config logs",
    )
}

/// A customer key behind `alias` with rotation on and `ours` merged into its policy.
pub fn key_proposal(
    address: String,
    alias: &str,
    ours: &[Value],
    key: Option<&Key>,
    description: &str,
) -> Proposal<Op> {
    let Some(key) = key else {
        let doc = policy::merge_by_sid(None, ours);
        return Proposal::new(address, Action::Create)
            .after(json!({ "alias": alias, "rotation": true, "policy": doc }))
            .op(Op::Create {
                alias: alias.to_owned(),
                policy: doc.to_string(),
                description: description.to_owned(),
            });
    };
    let merged = policy::merge_by_sid(key.policy.as_ref(), ours);
    let policy_changes = key.policy.as_ref() != Some(&merged);
    if key.rotation && !policy_changes {
        return Proposal::new(address, Action::NoOp)
            .before(json!({ "key": key.arn, "rotation": true }));
    }
    let mut before = json!({ "key": key.arn, "rotation": key.rotation });
    let mut after = json!({ "key": key.arn, "rotation": true });
    if policy_changes {
        before["policy"] = key.policy.clone().unwrap_or(Value::Null);
        after["policy"] = merged.clone();
    }
    Proposal::new(address, Action::Update)
        .before(before)
        .after(after)
        .op(Op::Update {
            key_id: key.id.clone(),
            enable_rotation: !key.rotation,
            policy: policy_changes.then(|| merged.to_string()),
        })
}

pub async fn apply_with(client: &aws_sdk_kms::Client, op: &Op) -> Result<Applied, AwsError> {
    match op {
        Op::Create {
            alias,
            policy,
            description,
        } => {
            let created = client
                .create_key()
                .description(description)
                .policy(policy)
                .tags(
                    aws_sdk_kms::types::Tag::builder()
                        .tag_key("managed-by")
                        .tag_value("baseline")
                        .build()
                        .map_err(|e| AwsError::invalid_response("kms:CreateKey", e.to_string()))?,
                )
                .send()
                .await
                .map_err(aws_err("kms:CreateKey"))?;
            let key_id = created
                .key_metadata()
                .map(|m| m.key_id().to_owned())
                .ok_or_else(|| AwsError::invalid_response("kms:CreateKey", "no key id"))?;
            match client
                .create_alias()
                .alias_name(alias)
                .target_key_id(&key_id)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_already_exists_exception()) =>
                {
                    // Another run created the key first: ours is not needed.
                    client
                        .schedule_key_deletion()
                        .key_id(&key_id)
                        .pending_window_in_days(7)
                        .send()
                        .await
                        .map_err(aws_err("kms:ScheduleKeyDeletion"))?;
                    return Ok(Applied::AlreadyDone);
                }
                Err(e) => return Err(aws_err("kms:CreateAlias")(e)),
            }
            client
                .enable_key_rotation()
                .key_id(&key_id)
                .send()
                .await
                .map_err(aws_err("kms:EnableKeyRotation"))?;
            Ok(Applied::Done)
        }
        Op::Update {
            key_id,
            enable_rotation,
            policy,
        } => {
            if let Some(policy) = policy {
                client
                    .put_key_policy()
                    .key_id(key_id)
                    .policy_name("default")
                    .policy(policy)
                    .send()
                    .await
                    .map_err(aws_err("kms:PutKeyPolicy"))?;
            }
            if *enable_rotation {
                client
                    .enable_key_rotation()
                    .key_id(key_id)
                    .send()
                    .await
                    .map_err(aws_err("kms:EnableKeyRotation"))?;
            }
            Ok(Applied::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
