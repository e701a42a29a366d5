//! Customer managed KMS keys of ours: found behind their alias (or, after an apply
//! stopped between `CreateKey` and `CreateAlias`, by their tags), planned with rotation on
//! and our statements merged into their policy, and created, adopted or updated.

use super::policy;
use crate::error::TargetError;
use crate::error::{AwsError, aws_err, tolerate};
use crate::permissions::{Arns, Grant};
use crate::plan::{Action, Applied, Proposal};
use serde_json::{Value, json};

/// The tag every key we create carries, and the tag that says which of our keys it is.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "baseline");
pub const WHICH_KEY: &str = "baseline-key";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Key {
    pub id: String,
    pub arn: String,
    pub state: String,
    pub rotation: bool,
    pub policy: Option<Value>,
    /// It carries `managed-by = baseline` (the shipped IAM policy lets baseline change
    /// only such keys).
    pub tagged: bool,
    /// Found by its tags, with no alias: an apply was stopped between `CreateKey` and
    /// `CreateAlias`. It is adopted (given the alias) instead of making a second key.
    pub orphan: bool,
    /// Other enabled keys tagged as this one and without an alias (earlier interrupted
    /// applies), left alone and named in the plan.
    pub spares: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        alias: String,
        /// The `baseline-key` tag: which of our keys this is.
        which: String,
        policy: String,
        description: String,
    },
    /// Give an orphan key of ours its alias (and rotation and policy, when they lack).
    Adopt {
        key_id: String,
        alias: String,
        enable_rotation: bool,
        policy: Option<String>,
    },
    Update {
        key_id: String,
        enable_rotation: bool,
        policy: Option<String>,
    },
}

/// What making and keeping a key of ours needs. Keys are made only tagged as ours, and
/// only keys tagged as ours are changed (tags count at once; aliases take minutes).
pub fn key_grants(arns: &Arns, alias: &str) -> Vec<Grant> {
    let (tag, ours) = MANAGED_BY;
    vec![
        Grant::read(
            "KeysRead",
            &[
                "kms:DescribeKey",
                "kms:GetKeyRotationStatus",
                "kms:GetKeyPolicy",
                "kms:ListResourceTags",
                "kms:ListKeys",
                "kms:ListAliases",
            ],
        ),
        Grant::write(
            "KeysAreCreatedTaggedAsItsOwn",
            &["kms:CreateKey", "kms:TagResource"],
        )
        .when(json!({
            "StringEquals": {format!("aws:RequestTag/{tag}"): ours},
            "ForAllValues:StringEquals": {"aws:TagKeys": [tag, WHICH_KEY]}
        })),
        Grant::write(
            "OnlyKeysItMadeAreChanged",
            &[
                "kms:PutKeyPolicy",
                "kms:EnableKeyRotation",
                "kms:CreateAlias",
                "kms:ScheduleKeyDeletion",
            ],
        )
        .on([arns.regional("kms", "key/*")])
        .when(json!({"StringEquals": {format!("aws:ResourceTag/{tag}"): ours}})),
        Grant::write("OnlyItsAliases", &["kms:CreateAlias"]).on([arns.regional("kms", alias)]),
    ]
}

/// The key behind an alias, with its rotation, policy and tags. When the alias is free: an
/// enabled key of ours tagged `baseline-key = which` that has no alias (left by an apply
/// stopped between `CreateKey` and `CreateAlias`), marked `orphan`; else None.
pub async fn observe_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
    which: &str,
) -> Result<Option<Key>, TargetError> {
    let Some((id, arn, state)) = describe(client, alias).await? else {
        return Ok(find_orphan(client, which).await?);
    };
    if state != "Enabled" {
        return Err(TargetError::refused(
            "kms:DescribeKey",
            format!(
                "the key behind {alias} is {state}: enable it (or cancel its deletion), or choose another alias in [log_key]"
            ),
        ));
    }
    Ok(read_key(client, id, arn, state).await?)
}

/// Rotation, policy and tags of a key.
async fn read_key(
    client: &aws_sdk_kms::Client,
    id: String,
    arn: String,
    state: String,
) -> Result<Option<Key>, AwsError> {
    let (rotation, key_policy, tags) = tokio::join!(
        client.get_key_rotation_status().key_id(&id).send(),
        client
            .get_key_policy()
            .key_id(&id)
            .policy_name("default")
            .send(),
        tags(client, &id)
    );
    let rotation = rotation
        .map_err(aws_err("kms:GetKeyRotationStatus"))?
        .key_rotation_enabled();
    let key_policy = key_policy.map_err(aws_err("kms:GetKeyPolicy"))?;
    let tags = tags?;
    Ok(Some(Key {
        id,
        arn,
        state,
        rotation,
        policy: policy::parse(key_policy.policy()),
        tagged: tags.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1),
        ..Key::default()
    }))
}

/// A key's tags (all pages).
async fn tags(
    client: &aws_sdk_kms::Client,
    id: &str,
) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
    let mut out = std::collections::BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .list_resource_tags()
            .key_id(id)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(aws_err("kms:ListResourceTags"))?;
        for t in page.tags() {
            out.insert(t.tag_key().to_owned(), t.tag_value().to_owned());
        }
        match page.next_marker() {
            Some(m) if page.truncated() => marker = Some(m.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// Our enabled key tagged `baseline-key = which` that no alias points to, oldest first;
/// the others are its spares. Only keys without any alias are read (AWS managed keys
/// always have one), so a usual account costs one `ListAliases`, one `ListKeys` and a
/// `ListResourceTags` per unaliased key.
async fn find_orphan(client: &aws_sdk_kms::Client, which: &str) -> Result<Option<Key>, AwsError> {
    use futures::{StreamExt, TryStreamExt};
    let aliases: Vec<_> = client
        .list_aliases()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws_err("kms:ListAliases"))?;
    let aliased: std::collections::HashSet<&str> =
        aliases.iter().filter_map(|a| a.target_key_id()).collect();
    let keys: Vec<_> = client
        .list_keys()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws_err("kms:ListKeys"))?;
    let unaliased: Vec<String> = keys
        .iter()
        .filter_map(|k| k.key_id())
        .filter(|id| !aliased.contains(id))
        .map(str::to_owned)
        .collect();
    let ours: Vec<String> = futures::stream::iter(unaliased)
        .map(|id| async move {
            // A key whose policy does not let this identity read its tags is not one we
            // made (ours let the account administer them).
            match tolerate(tags(client, &id).await, NOT_READABLE)? {
                Some(tags)
                    if tags.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
                        && tags.get(WHICH_KEY).map(String::as_str) == Some(which) =>
                {
                    Ok::<_, AwsError>(Some(id))
                }
                _ => Ok(None),
            }
        })
        .buffer_unordered(8)
        .try_filter_map(|id| async move { Ok(id) })
        .try_collect()
        .await?;
    let mut enabled = Vec::new();
    for id in ours {
        let meta = client
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .map_err(aws_err("kms:DescribeKey"))?;
        let Some(meta) = meta.key_metadata() else {
            continue;
        };
        let customer = meta.key_manager() == Some(&aws_sdk_kms::types::KeyManagerType::Customer);
        if customer && meta.key_state() == Some(&aws_sdk_kms::types::KeyState::Enabled) {
            let created = meta.creation_date().map(|d| (d.secs(), d.subsec_nanos()));
            enabled.push((created, id, meta.arn().unwrap_or_default().to_owned()));
        }
    }
    enabled.sort();
    let mut enabled = enabled.into_iter();
    let Some((_, id, arn)) = enabled.next() else {
        return Ok(None);
    };
    let key = read_key(client, id, arn, "Enabled".into()).await?;
    Ok(key.map(|k| Key {
        orphan: true,
        spares: enabled.map(|(_, _, arn)| arn).collect(),
        ..k
    }))
}

/// Codes that mean "this key's tags are not ours to read".
const NOT_READABLE: &[&str] = &[
    "AccessDeniedException",
    "NotFoundException",
    "KMSInvalidStateException",
];

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
pub async fn resolve_arn(client: &aws_sdk_kms::Client, alias: &str) -> Result<String, TargetError> {
    match describe(client, alias).await? {
        Some((_, arn, _)) => Ok(arn),
        None => Err(TargetError::refused(
            "kms:DescribeKey",
            format!("the log key {alias} does not exist (its creation failed or was skipped)"),
        )),
    }
}

/// A customer key behind `alias` with rotation on and `ours` merged into its policy. An
/// orphan key of ours (`which`, no alias) is adopted rather than a second one made.
pub fn key_proposal(
    address: String,
    alias: &str,
    which: &str,
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
                which: which.to_owned(),
                policy: doc.to_string(),
                description: description.to_owned(),
            });
    };
    let merged = policy::merge_by_sid(key.policy.as_ref(), ours);
    let policy_changes = key.policy.as_ref() != Some(&merged);
    if key.orphan {
        let mut reason = format!(
            "adopt {}: an enabled key tagged {}={}, {WHICH_KEY}={which} with no alias, left by an apply stopped between CreateKey and CreateAlias; it gets {alias} instead of a second key being made",
            key.arn, MANAGED_BY.0, MANAGED_BY.1
        );
        if !key.spares.is_empty() {
            reason.push_str(&format!(
                "; {} other such key(s) are left as they are (not deleted, they may be in use): {}",
                key.spares.len(),
                key.spares.join(", ")
            ));
        }
        let mut after = json!({ "key": key.arn, "alias": alias, "rotation": true });
        if policy_changes {
            after["policy"] = merged.clone();
        }
        return Proposal::new(address, Action::Update)
            .before(json!({ "key": key.arn, "alias": null, "rotation": key.rotation }))
            .after(after)
            .reason(reason)
            .op(Op::Adopt {
                key_id: key.id.clone(),
                alias: alias.to_owned(),
                enable_rotation: !key.rotation,
                policy: policy_changes.then(|| merged.to_string()),
            });
    }
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
    let mut proposal = Proposal::new(address, Action::Update)
        .before(before)
        .after(after)
        .op(Op::Update {
            key_id: key.id.clone(),
            enable_rotation: !key.rotation,
            policy: policy_changes.then(|| merged.to_string()),
        });
    if !key.tagged {
        proposal = proposal.reason(format!(
            "this key was not made by baseline (no {}={} tag): the shipped IAM policy lets baseline change only keys it made, so tag the key or give the role kms:PutKeyPolicy and kms:EnableKeyRotation on it",
            MANAGED_BY.0, MANAGED_BY.1
        ));
    }
    proposal
}

/// Retries a call that KMS may refuse for a few minutes after `CreateKey`: tags take up
/// to five minutes to count in KMS authorization (KMS developer guide, "Use tags to
/// control access to KMS keys"), and the shipped IAM policy allows the calls that follow
/// `CreateKey` by the key's `managed-by` tag. Other errors are returned at once; for a key
/// not made in this run (`fresh` false) the call is made once.
async fn while_tags_propagate<T, F, Fut>(
    operation: &'static str,
    fresh: bool,
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    const WAITS: [u64; 12] = [1, 2, 4, 8, 15, 30, 30, 30, 45, 45, 45, 45];
    // Only a key made in this run can be waiting for its tags.
    let waits: &[u64] = if fresh { &WAITS } else { &[] };
    for &wait in waits {
        match call().await {
            Err(e) if e.code() == Some("AccessDeniedException") => {
                tracing::info!(
                    "{operation}: access denied on a key made seconds ago; its tags can take up to five minutes to count in KMS authorization, retrying in {wait}s"
                );
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            }
            other => return other,
        }
    }
    call().await
}

fn tag(key: &str, value: &str) -> Result<aws_sdk_kms::types::Tag, AwsError> {
    aws_sdk_kms::types::Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .map_err(|e| AwsError::invalid_response("kms:CreateKey", e.to_string()))
}

/// `CreateAlias`; `Ok(false)` when another run gave the alias to its key first.
async fn create_alias(
    client: &aws_sdk_kms::Client,
    alias: &str,
    key_id: &str,
    fresh: bool,
) -> Result<bool, AwsError> {
    let call = || async {
        match client
            .create_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws_err("kms:CreateAlias")(e)),
        }
    };
    while_tags_propagate("kms:CreateAlias", fresh, call).await
}

async fn enable_rotation(
    client: &aws_sdk_kms::Client,
    key_id: &str,
    fresh: bool,
) -> Result<(), AwsError> {
    let call = || async {
        client
            .enable_key_rotation()
            .key_id(key_id)
            .send()
            .await
            .map(|_| ())
            .map_err(aws_err("kms:EnableKeyRotation"))
    };
    while_tags_propagate("kms:EnableKeyRotation", fresh, call).await
}

async fn put_policy(
    client: &aws_sdk_kms::Client,
    key_id: &str,
    policy: &str,
) -> Result<(), AwsError> {
    client
        .put_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .policy(policy)
        .send()
        .await
        .map(|_| ())
        .map_err(aws_err("kms:PutKeyPolicy"))
}

pub async fn apply_with(client: &aws_sdk_kms::Client, op: &Op) -> Result<Applied, AwsError> {
    match op {
        Op::Create {
            alias,
            which,
            policy,
            description,
        } => {
            // Tagged at creation, so that an apply stopped before CreateAlias leaves a key
            // the next run finds and adopts (and so that the IAM policy can scope the
            // writes that follow to keys baseline made).
            let created = client
                .create_key()
                .description(description)
                .policy(policy)
                .tags(tag(MANAGED_BY.0, MANAGED_BY.1)?)
                .tags(tag(WHICH_KEY, which)?)
                .send()
                .await
                .map_err(aws_err("kms:CreateKey"))?;
            let key_id = created
                .key_metadata()
                .map(|m| m.key_id().to_owned())
                .ok_or_else(|| AwsError::invalid_response("kms:CreateKey", "no key id"))?;
            if !create_alias(client, alias, &key_id, true).await? {
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
            enable_rotation(client, &key_id, true).await?;
            Ok(Applied::Done)
        }
        Op::Adopt {
            key_id,
            alias,
            enable_rotation: rotate,
            policy,
        } => {
            if let Some(policy) = policy {
                put_policy(client, key_id, policy).await?;
            }
            if *rotate {
                enable_rotation(client, key_id, false).await?;
            }
            if !create_alias(client, alias, key_id, false).await? {
                // Another run gave the alias to a key meanwhile; this one stays a spare.
                return Ok(Applied::AlreadyDone);
            }
            Ok(Applied::Done)
        }
        Op::Update {
            key_id,
            enable_rotation: rotate,
            policy,
        } => {
            if let Some(policy) = policy {
                put_policy(client, key_id, policy).await?;
            }
            if *rotate {
                enable_rotation(client, key_id, false).await?;
            }
            Ok(Applied::Done)
        }
    }
}
