//! The log buckets CloudTrail and AWS Config deliver to, in the home region, hardened:
//! SSE-KMS with the log key and S3 Bucket Keys, all four Block Public Access flags,
//! `BucketOwnerEnforced`, versioning, a policy that denies requests without TLS and
//! grants each service exactly the writes it needs (with `aws:SourceAccount` and, for
//! CloudTrail, `aws:SourceArn`), and a lifecycle rule. An existing bucket of ours is
//! adopted and only what it lacks is applied; its other policy statements and lifecycle
//! rules stay.

use super::{Applied, Control, Proposal, Scope, Seat, Target};
use crate::baseline::{Baseline, Bounded, BucketTemplate};
use crate::error::TargetError;
use crate::error::{AwsError, aws_err, tolerate};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::account::Account;
use crate::toolkit::kms;
use crate::toolkit::policy;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Transition, TransitionStorageClass, VersioningConfiguration,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub struct LogBuckets;

/// The id of our lifecycle rule; other rules of the bucket are kept.
pub const RULE_ID: &str = "baseline-log-retention";
const ABORT_UPLOADS_DAYS: i32 = 7;
const OWNERSHIP: &str = "BucketOwnerEnforced";

/// The S3 buckets the trail and AWS Config deliver to, in the home region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogBucketsConfig {
    pub enabled: bool,
    #[serde(default = "default_trail_bucket")]
    pub cloudtrail: BucketTemplate,
    #[serde(default = "default_config_bucket")]
    pub config: BucketTemplate,
    /// Days before objects move to Glacier Instant Retrieval; 0: never.
    #[serde(default = "default_glacier_days")]
    pub transition_to_glacier_ir_days: Bounded<0, 36500>,
    /// Days before objects expire; 0: never.
    #[serde(default)]
    pub expire_days: Bounded<0, 36500>,
    /// Server access logging of the log buckets to a separate bucket.
    #[serde(default)]
    pub access_logging: bool,
    #[serde(default = "default_access_log_bucket")]
    pub access_log_bucket: BucketTemplate,
}

impl LogBucketsConfig {
    /// A lifecycle S3 refuses, or no log key to encrypt with.
    pub(crate) fn problem(&self, baseline: &Baseline) -> Option<(String, String)> {
        if !self.enabled {
            return None;
        }
        let (transition, expire) = (
            self.transition_to_glacier_ir_days.get(),
            self.expire_days.get(),
        );
        // S3 PutBucketLifecycleConfiguration: the expiration's Days must be greater than
        // the transition's Days in the same rule (InvalidArgument otherwise).
        if transition > 0 && expire > 0 && expire <= transition {
            return Some((
                "log_buckets.expire_days".into(),
                format!(
                    "{expire} must be later than transition_to_glacier_ir_days ({transition}): S3 refuses a lifecycle rule that expires objects before or when they move to Glacier; set expire_days above {transition}, or 0 (never)"
                ),
            ));
        }
        (!baseline.log_key_on()).then(|| {
            (
                "log_buckets.enabled".into(),
                "needs [log_key] enabled: the log buckets are encrypted with it".into(),
            )
        })
    }
}

fn default_trail_bucket() -> BucketTemplate {
    BucketTemplate("baseline-cloudtrail-{account}-{region}".into())
}
fn default_config_bucket() -> BucketTemplate {
    BucketTemplate("baseline-config-{account}-{region}".into())
}
fn default_access_log_bucket() -> BucketTemplate {
    BucketTemplate("baseline-access-logs-{account}-{region}".into())
}
fn default_glacier_days() -> Bounded<0, 36500> {
    Bounded(365)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub config: LogBucketsConfig,
    pub key_alias: String,
    pub trail_name: String,
}

/// One bucket and what it serves (a baseline may point both at one bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub name: String,
    pub cloudtrail: bool,
    pub config: bool,
    /// The target of the other buckets' server access logs (SSE-S3: S3 cannot deliver
    /// access logs to an SSE-KMS bucket).
    pub access_logs: bool,
    /// For the access log bucket: the buckets that log to it.
    pub log_sources: Vec<String>,
    /// Where this bucket's server access logs go.
    pub log_to: Option<String>,
}

/// What a bucket looks like. `exists == false`: every other field is empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bucket {
    pub name: String,
    pub exists: bool,
    /// (algorithm, KMS key, bucket key enabled) of the default encryption.
    pub encryption: Option<(String, Option<String>, bool)>,
    pub public_access_block: [bool; 4],
    pub ownership: Option<String>,
    pub versioning: Option<String>,
    pub policy: Option<Value>,
    pub lifecycle: Vec<LifecycleRule>,
    /// Server access logging: (target bucket, prefix).
    pub logging: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub account: Account,
    /// The log key's ARN, when the key exists.
    pub key_arn: Option<String>,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Create,
    BlockPublicAccess,
    Ownership,
    Encryption,
    /// SSE-S3, for the access log bucket.
    EncryptionS3,
    Versioning,
    Lifecycle(Vec<LifecycleRule>),
    Policy(String),
    Logging {
        target: String,
        prefix: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct BucketOp {
    pub bucket: String,
    pub key_alias: String,
    pub steps: Vec<Step>,
}

/// The log buckets, by the baseline's names (in any region: `{region}` is a wildcard).
fn bucket_grants(desired: &Desired, arns: &Arns) -> Vec<Grant> {
    let render = |t: &crate::baseline::BucketTemplate| arns.s3(&t.render(&arns.account, "*"));
    let mut buckets = vec![
        render(&desired.config.cloudtrail),
        render(&desired.config.config),
    ];
    let mut write = vec![
        "s3:CreateBucket",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketVersioning",
        "s3:PutBucketPolicy",
        "s3:PutLifecycleConfiguration",
    ];
    if desired.config.access_logging {
        buckets.push(render(&desired.config.access_log_bucket));
        write.push("s3:PutBucketLogging");
    }
    vec![
        // A bucket HeadBucket may not read is looked for among the caller's own.
        Grant::read("Discover", &["s3:ListAllMyBuckets"]),
        Grant::write("LogBuckets", &write)
            .and_read(&[
                "s3:ListBucket",
                "s3:GetEncryptionConfiguration",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketOwnershipControls",
                "s3:GetBucketVersioning",
                "s3:GetBucketPolicy",
                "s3:GetLifecycleConfiguration",
                "s3:GetBucketLogging",
            ])
            .on(buckets),
    ]
}

impl Control for LogBuckets {
    const NAME: &'static str = "log_buckets";
    const SCOPE: Scope = Scope::Account;
    const AFTER: &'static [&'static str] = &["log_key"];
    const SEAT: Seat = Seat::LogArchive;
    type Desired = Desired;
    type Observed = Observed;
    type Op = BucketOp;

    fn permissions(desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        bucket_grants(desired, arns)
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let config = baseline.log_buckets.clone().filter(|b| b.enabled)?;
        Some(Desired {
            config,
            key_alias: baseline.log_key_alias(),
            trail_name: baseline.trail_name(),
        })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        let account = Account::of(target);
        let s3 = target.s3();
        let kms = target.kms();
        let wanted = wanted(desired, &account);
        let (key, buckets) = tokio::join!(
            kms::describe(&kms, &desired.key_alias),
            futures::future::try_join_all(
                wanted
                    .iter()
                    .map(|w| observe_bucket(&s3, &w.name, &account))
            )
        );
        Ok(Observed {
            key_arn: key?.map(|(_, arn, _)| arn),
            buckets: buckets?,
            account,
        })
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<BucketOp>> {
        plan(desired, observed)
    }

    async fn apply(target: &Target, op: &BucketOp) -> Result<Applied, TargetError> {
        apply_with(&target.s3(), &target.kms(), &target.home_region, op).await
    }
}

/// The distinct buckets the baseline names, with what each serves.
pub fn wanted(desired: &Desired, account: &Account) -> Vec<Wanted> {
    let render = |t: &crate::baseline::BucketTemplate| t.render(&account.id, &account.home_region);
    let (trail, config) = (
        render(&desired.config.cloudtrail),
        render(&desired.config.config),
    );
    let access = desired
        .config
        .access_logging
        .then(|| render(&desired.config.access_log_bucket));
    let bucket = |name: String, cloudtrail: bool, config: bool| Wanted {
        name,
        cloudtrail,
        config,
        access_logs: false,
        log_sources: Vec::new(),
        log_to: access.clone(),
    };
    let mut logged = Vec::new();
    if trail == config {
        logged.push(bucket(trail, true, true));
    } else {
        logged.push(bucket(trail, true, false));
        logged.push(bucket(config, false, true));
    }
    let mut out = Vec::new();
    // The access log bucket first: the others log to it.
    if let Some(name) = access {
        out.push(Wanted {
            name,
            cloudtrail: false,
            config: false,
            access_logs: true,
            log_sources: logged.iter().map(|w| w.name.clone()).collect(),
            log_to: None,
        });
    }
    out.extend(logged);
    out
}

/// Whether `name` is in this account's bucket list (ListBuckets lists the caller's account's
/// buckets only); None when the list cannot be read.
async fn owns_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Option<bool> {
    let mut pages = s3.list_buckets().prefix(name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.ok()?;
        if page.buckets().iter().any(|b| b.name() == Some(name)) {
            return Some(true);
        }
    }
    Some(false)
}

pub async fn observe_bucket(
    s3: &aws_sdk_s3::Client,
    name: &str,
    account: &Account,
) -> Result<Bucket, TargetError> {
    let head = s3
        .head_bucket()
        .bucket(name)
        .expected_bucket_owner(&account.id)
        .send()
        .await;
    match head {
        Ok(h) => {
            if let Some(region) = h.bucket_region()
                && region != account.home_region
            {
                return Err(TargetError::refused(
                    "s3:HeadBucket",
                    format!(
                        "the bucket {name} is in {region}, not in the home region {}: choose another name in [log_buckets]",
                        account.home_region
                    ),
                ));
            }
        }
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
            return Ok(Bucket {
                name: name.to_owned(),
                ..Bucket::default()
            });
        }
        // S3 answers 403 both for another account's bucket (ExpectedBucketOwner does not
        // match) and for our own bucket when this identity lacks s3:ListBucket (a read-only
        // plan role). A second probe tells them apart: the account's own bucket list.
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            let message = match owns_bucket(s3, name).await {
                Some(true) => format!(
                    "the bucket {name} is this account's, but this identity may not read it (s3:HeadBucket answered 403): allow s3:ListBucket and the s3:Get* reads on it (see `baseline permissions`)"
                ),
                Some(false) => format!(
                    "the bucket {name} belongs to another account: choose another name in [log_buckets]"
                ),
                None => format!(
                    "the bucket {name} exists but is either another account's or not readable by this identity (s3:HeadBucket answered 403, and s3:ListAllMyBuckets is denied, so the two cannot be told apart): allow s3:ListAllMyBuckets, or choose another name in [log_buckets]"
                ),
            };
            return Err(TargetError::refused("s3:HeadBucket", message));
        }
        Err(e) => return Err(aws_err("s3:HeadBucket")(e).into()),
    }
    let (enc, pab, own, ver, pol, life, logging) = tokio::join!(
        s3.get_bucket_encryption().bucket(name).send(),
        s3.get_public_access_block().bucket(name).send(),
        s3.get_bucket_ownership_controls().bucket(name).send(),
        s3.get_bucket_versioning().bucket(name).send(),
        s3.get_bucket_policy().bucket(name).send(),
        s3.get_bucket_lifecycle_configuration().bucket(name).send(),
        s3.get_bucket_logging().bucket(name).send(),
    );
    let logging = logging
        .map_err(aws_err("s3:GetBucketLogging"))?
        .logging_enabled()
        .map(|l| (l.target_bucket().to_owned(), l.target_prefix().to_owned()));
    let encryption = tolerate(
        enc.map_err(aws_err("s3:GetBucketEncryption")),
        &["ServerSideEncryptionConfigurationNotFoundError"],
    )?
    .and_then(|out| {
        out.server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .map(|r| {
                let d = r.apply_server_side_encryption_by_default();
                (
                    d.map(|d| d.sse_algorithm().as_str().to_owned())
                        .unwrap_or_default(),
                    d.and_then(|d| d.kms_master_key_id().map(str::to_owned)),
                    r.bucket_key_enabled().unwrap_or(false),
                )
            })
    });
    let public_access_block = tolerate(
        pab.map_err(aws_err("s3:GetPublicAccessBlock")),
        &["NoSuchPublicAccessBlockConfiguration"],
    )?
    .and_then(|out| {
        out.public_access_block_configuration().map(|c| {
            [
                c.block_public_acls().unwrap_or(false),
                c.ignore_public_acls().unwrap_or(false),
                c.block_public_policy().unwrap_or(false),
                c.restrict_public_buckets().unwrap_or(false),
            ]
        })
    })
    .unwrap_or_default();
    let ownership = tolerate(
        own.map_err(aws_err("s3:GetBucketOwnershipControls")),
        &["OwnershipControlsNotFoundError"],
    )?
    .and_then(|out| {
        out.ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_owned())
    });
    let versioning = ver
        .map_err(aws_err("s3:GetBucketVersioning"))?
        .status()
        .map(|s| s.as_str().to_owned());
    let policy = tolerate(
        pol.map_err(aws_err("s3:GetBucketPolicy")),
        &["NoSuchBucketPolicy"],
    )?
    .and_then(|out| policy::parse(out.policy()));
    let lifecycle = tolerate(
        life.map_err(aws_err("s3:GetBucketLifecycleConfiguration")),
        &["NoSuchLifecycleConfiguration"],
    )?
    .map(|out| out.rules().to_vec())
    .unwrap_or_default();
    Ok(Bucket {
        name: name.to_owned(),
        exists: true,
        encryption,
        public_access_block,
        ownership,
        versioning,
        policy,
        lifecycle,
        logging,
    })
}

/// Our bucket policy statements for a bucket serving `w`.
pub fn statements(w: &Wanted, account: &Account, trail_name: &str) -> Vec<Value> {
    let p = &account.partition;
    let bucket = format!("arn:{p}:s3:::{}", w.name);
    let mut out = vec![json!({
        "Sid": "BaselineDenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket, format!("{bucket}/*")],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } }
    })];
    if w.cloudtrail {
        // The trail of this account, or in an organization the management account's
        // organization trail, which writes its own logs under its account and the
        // members' under the organization's id.
        let trail = account.trail_arn(trail_name);
        let source = account.trail_account();
        let written = match &account.central {
            None => json!(format!("{bucket}/AWSLogs/{}/*", account.id)),
            Some(c) => json!([
                format!("{bucket}/AWSLogs/{}/*", c.management),
                format!("{bucket}/AWSLogs/{}/*", c.org_id)
            ]),
        };
        out.push(json!({
            "Sid": "BaselineCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "s3:GetBucketAcl",
            "Resource": bucket,
            "Condition": { "StringEquals": { "aws:SourceAccount": source, "aws:SourceArn": trail } }
        }));
        out.push(json!({
            "Sid": "BaselineCloudTrailWrite",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": written,
            "Condition": { "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceAccount": source,
                "aws:SourceArn": trail
            } }
        }));
    }
    if w.access_logs {
        let sources: Vec<String> = w
            .log_sources
            .iter()
            .map(|b| format!("arn:{p}:s3:::{b}"))
            .collect();
        out.push(json!({
            "Sid": "BaselineS3ServerAccessLogs",
            "Effect": "Allow",
            "Principal": { "Service": "logging.s3.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": format!("{bucket}/*"),
            "Condition": {
                "StringEquals": { "aws:SourceAccount": account.id },
                "ArnLike": { "aws:SourceArn": sources }
            }
        }));
    }
    if w.config {
        // AWS Config's deliveries carry no stable source ARN per recorder: the account
        // is the confused-deputy condition AWS documents for Config.
        // In an organization every member's recorder delivers here: the organization's
        // id is the condition (aws:SourceOrgID), each under its own account's prefix.
        let (cond, written, writer) = match &account.central {
            None => (
                json!({ "StringEquals": { "aws:SourceAccount": account.id } }),
                format!("{bucket}/AWSLogs/{}/Config/*", account.id),
                json!({ "aws:SourceAccount": account.id }),
            ),
            Some(c) => (
                json!({ "StringEquals": { "aws:SourceOrgID": c.org_id } }),
                format!("{bucket}/AWSLogs/*/Config/*"),
                json!({ "aws:SourceOrgID": c.org_id }),
            ),
        };
        for (sid, action) in [
            ("BaselineConfigAclCheck", "s3:GetBucketAcl"),
            ("BaselineConfigListBucket", "s3:ListBucket"),
        ] {
            out.push(json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": { "Service": "config.amazonaws.com" },
                "Action": action,
                "Resource": bucket,
                "Condition": cond
            }));
        }
        out.push(json!({
            "Sid": "BaselineConfigWrite",
            "Effect": "Allow",
            "Principal": { "Service": "config.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": written,
            "Condition": { "StringEquals": merged(json!({
                "s3:x-amz-acl": "bucket-owner-full-control"
            }), writer) }
        }));
    }
    out
}

fn merged(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Our lifecycle rule.
pub fn our_rule(config: &LogBucketsConfig) -> LifecycleRule {
    let glacier = config.transition_to_glacier_ir_days.get() as i32;
    let expire = config.expire_days.get() as i32;
    let mut rule = LifecycleRule::builder()
        .id(RULE_ID)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(ABORT_UPLOADS_DAYS)
                .build(),
        );
    if glacier > 0 {
        rule = rule.transitions(
            Transition::builder()
                .days(glacier)
                .storage_class(TransitionStorageClass::GlacierIr)
                .build(),
        );
    }
    if expire > 0 {
        rule = rule
            .expiration(LifecycleExpiration::builder().days(expire).build())
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(expire)
                    .build(),
            );
    }
    rule.build().expect("id and status are set")
}

/// A rule as the plan shows it.
fn rule_view(rule: Option<&LifecycleRule>) -> Value {
    let Some(r) = rule else {
        return Value::Null;
    };
    json!({
        "id": r.id(),
        "status": r.status().as_str(),
        "glacier_ir_after_days": r.transitions().iter()
            .find(|t| t.storage_class() == Some(&TransitionStorageClass::GlacierIr))
            .and_then(|t| t.days()),
        "expire_after_days": r.expiration().and_then(|e| e.days()),
        "noncurrent_expire_after_days": r.noncurrent_version_expiration().and_then(|e| e.noncurrent_days()),
        "abort_incomplete_uploads_after_days": r.abort_incomplete_multipart_upload().and_then(|a| a.days_after_initiation()),
    })
}

fn view(
    b: &Bucket,
    key_label: &str,
    rule: Option<&LifecycleRule>,
    policy: Option<&Value>,
) -> Value {
    json!({
        "encryption": b.encryption.as_ref().map(|(alg, key, _)| match key {
            Some(k) => format!("{alg} {}", if k.is_empty() { key_label } else { k }),
            None => alg.clone(),
        }),
        "bucket_key": b.encryption.as_ref().is_some_and(|e| e.2),
        "block_public_access": b.public_access_block.iter().all(|f| *f),
        "object_ownership": b.ownership,
        "versioning": b.versioning,
        "lifecycle": rule_view(rule),
        "access_logging": b.logging.as_ref().map(|(t, p)| format!("s3://{t}/{p}")),
        "policy": policy.cloned().unwrap_or(Value::Null),
    })
}

pub fn plan(desired: &Desired, observed: &Observed) -> Vec<Proposal<BucketOp>> {
    let wanted = wanted(desired, &observed.account);
    let key = observed
        .key_arn
        .clone()
        .unwrap_or_else(|| desired.key_alias.clone());
    let rule = our_rule(&desired.config);
    wanted
        .iter()
        .map(|w| {
            let live = observed
                .buckets
                .iter()
                .find(|b| b.name == w.name)
                .cloned()
                .unwrap_or_else(|| Bucket {
                    name: w.name.clone(),
                    ..Bucket::default()
                });
            plan_bucket(desired, &observed.account, w, &live, &key, &rule)
        })
        .collect()
}

fn plan_bucket(
    desired: &Desired,
    account: &Account,
    w: &Wanted,
    live: &Bucket,
    key: &str,
    rule: &LifecycleRule,
) -> Proposal<BucketOp> {
    let address = format!("s3.log_bucket[{:?}]", w.name);
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    if !live.exists {
        steps.push(Step::Create);
    }
    if !live.public_access_block.iter().all(|f| *f) {
        steps.push(Step::BlockPublicAccess);
    }
    if live.ownership.as_deref() != Some(OWNERSHIP) {
        steps.push(Step::Ownership);
    }
    let mut enc_after = live.encryption.clone();
    match &live.encryption {
        // S3 delivers access logs only to a bucket encrypted with SSE-S3.
        Some((alg, _, _)) if w.access_logs && alg == "AES256" => {}
        _ if w.access_logs => {
            steps.push(Step::EncryptionS3);
            enc_after = Some(("AES256".into(), None, false));
        }
        Some((alg, Some(k), true)) if alg.starts_with("aws:kms") && k != key => {
            notes.push(format!("encrypted with another KMS key ({k}), kept"));
        }
        Some((alg, Some(_), true)) if alg.starts_with("aws:kms") => {}
        _ => {
            steps.push(Step::Encryption);
            enc_after = Some(("aws:kms".into(), Some(key.to_owned()), true));
        }
    }
    if live.versioning.as_deref() != Some("Enabled") {
        steps.push(Step::Versioning);
    }
    let live_rule = live.lifecycle.iter().find(|r| r.id() == Some(RULE_ID));
    if rule_view(live_rule) != rule_view(Some(rule)) {
        let mut rules: Vec<LifecycleRule> = live
            .lifecycle
            .iter()
            .filter(|r| r.id() != Some(RULE_ID))
            .cloned()
            .collect();
        rules.push(rule.clone());
        steps.push(Step::Lifecycle(rules));
    }
    let ours = statements(w, account, &desired.trail_name);
    let merged = policy::merge_by_sid(live.policy.as_ref(), &ours);
    if live.policy.as_ref() != Some(&merged) {
        steps.push(Step::Policy(merged.to_string()));
    }
    let logging = w
        .log_to
        .as_ref()
        .map(|t| (t.clone(), format!("{}/", w.name)));
    if let Some((target, prefix)) = &logging
        && live.logging.as_ref() != Some(&(target.clone(), prefix.clone()))
    {
        steps.push(Step::Logging {
            target: target.clone(),
            prefix: prefix.clone(),
        });
    }

    let after_bucket = Bucket {
        name: live.name.clone(),
        exists: true,
        encryption: enc_after,
        public_access_block: [true; 4],
        ownership: Some(OWNERSHIP.into()),
        versioning: Some("Enabled".into()),
        policy: Some(merged.clone()),
        lifecycle: Vec::new(),
        logging: logging.or_else(|| live.logging.clone()),
    };
    let after = view(&after_bucket, key, Some(rule), Some(&merged));
    let p = if steps.is_empty() {
        Proposal::new(address, Action::NoOp)
    } else if !live.exists {
        Proposal::new(address, Action::Create)
            .after(after)
            .op(BucketOp {
                bucket: w.name.clone(),
                key_alias: desired.key_alias.clone(),
                steps,
            })
    } else {
        Proposal::new(address, Action::Update)
            .before(view(live, key, live_rule, live.policy.as_ref()))
            .after(after)
            .op(BucketOp {
                bucket: w.name.clone(),
                key_alias: desired.key_alias.clone(),
                steps,
            })
    };
    if notes.is_empty() {
        p
    } else {
        p.reason(notes.join("; "))
    }
}

pub async fn apply_with(
    s3: &aws_sdk_s3::Client,
    kms: &aws_sdk_kms::Client,
    home_region: &str,
    op: &BucketOp,
) -> Result<Applied, TargetError> {
    let b = op.bucket.as_str();
    for step in &op.steps {
        match step {
            Step::Create => {
                let mut req = s3.create_bucket().bucket(b);
                // us-east-1 takes no location constraint.
                if home_region != "us-east-1" {
                    req = req.create_bucket_configuration(
                        CreateBucketConfiguration::builder()
                            .location_constraint(BucketLocationConstraint::from(home_region))
                            .build(),
                    );
                }
                let created = req.send().await.map_err(aws_err("s3:CreateBucket"));
                match tolerate(created, &["BucketAlreadyOwnedByYou"]) {
                    Err(e) if e.code() == Some("BucketAlreadyExists") => {
                        return Err(TargetError::refused(
                            "s3:CreateBucket",
                            format!(
                                "the bucket name {b} belongs to another account: choose another name in [log_buckets]"
                            ),
                        ));
                    }
                    created => {
                        created?;
                    }
                }
            }
            Step::BlockPublicAccess => {
                s3.put_public_access_block()
                    .bucket(b)
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(true)
                            .ignore_public_acls(true)
                            .block_public_policy(true)
                            .restrict_public_buckets(true)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(aws_err("s3:PutPublicAccessBlock"))?;
            }
            Step::Ownership => {
                let rule = OwnershipControlsRule::builder()
                    .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                    .build()
                    .map_err(|e| {
                        AwsError::invalid_response("s3:PutBucketOwnershipControls", e.to_string())
                    })?;
                s3.put_bucket_ownership_controls()
                    .bucket(b)
                    .ownership_controls(OwnershipControls::builder().rules(rule).build().map_err(
                        |e| {
                            AwsError::invalid_response(
                                "s3:PutBucketOwnershipControls",
                                e.to_string(),
                            )
                        },
                    )?)
                    .send()
                    .await
                    .map_err(aws_err("s3:PutBucketOwnershipControls"))?;
            }
            Step::Encryption => {
                let key = kms::resolve_arn(kms, &op.key_alias).await?;
                put_encryption(s3, b, Some(key)).await?;
            }
            Step::EncryptionS3 => put_encryption(s3, b, None).await?,
            Step::Logging { target, prefix } => {
                let enabled = aws_sdk_s3::types::LoggingEnabled::builder()
                    .target_bucket(target)
                    .target_prefix(prefix)
                    .build()
                    .map_err(|e| {
                        AwsError::invalid_response("s3:PutBucketLogging", e.to_string())
                    })?;
                s3.put_bucket_logging()
                    .bucket(b)
                    .bucket_logging_status(
                        aws_sdk_s3::types::BucketLoggingStatus::builder()
                            .logging_enabled(enabled)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(aws_err("s3:PutBucketLogging"))?;
            }
            Step::Versioning => {
                s3.put_bucket_versioning()
                    .bucket(b)
                    .versioning_configuration(
                        VersioningConfiguration::builder()
                            .status(BucketVersioningStatus::Enabled)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(aws_err("s3:PutBucketVersioning"))?;
            }
            Step::Lifecycle(rules) => {
                s3.put_bucket_lifecycle_configuration()
                    .bucket(b)
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .set_rules(Some(rules.clone()))
                            .build()
                            .map_err(|e| {
                                AwsError::invalid_response(
                                    "s3:PutBucketLifecycleConfiguration",
                                    e.to_string(),
                                )
                            })?,
                    )
                    .send()
                    .await
                    .map_err(aws_err("s3:PutBucketLifecycleConfiguration"))?;
            }
            Step::Policy(doc) => {
                s3.put_bucket_policy()
                    .bucket(b)
                    .policy(doc)
                    .send()
                    .await
                    .map_err(aws_err("s3:PutBucketPolicy"))?;
            }
        }
    }
    Ok(Applied::Done)
}

/// Default encryption: SSE-KMS with `kms_key` and an S3 Bucket Key, or SSE-S3 without one.
async fn put_encryption(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    kms_key: Option<String>,
) -> Result<(), AwsError> {
    let invalid = |e: aws_smithy_types::error::operation::BuildError| {
        AwsError::invalid_response("s3:PutBucketEncryption", e.to_string())
    };
    let algorithm = if kms_key.is_some() {
        ServerSideEncryption::AwsKms
    } else {
        ServerSideEncryption::Aes256
    };
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(algorithm)
        .set_kms_master_key_id(kms_key.clone())
        .build()
        .map_err(invalid)?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .set_bucket_key_enabled(kms_key.is_some().then_some(true))
                .build(),
        )
        .build()
        .map_err(invalid)?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map_err(aws_err("s3:PutBucketEncryption"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::{Bounded, BucketTemplate};

    fn account() -> Account {
        Account::example("eu-west-1")
    }

    fn desired(shared: bool) -> Desired {
        Desired {
            config: LogBucketsConfig {
                enabled: true,
                cloudtrail: BucketTemplate("baseline-cloudtrail-{account}-{region}".into()),
                config: BucketTemplate(if shared {
                    "baseline-cloudtrail-{account}-{region}".into()
                } else {
                    "baseline-config-{account}-{region}".into()
                }),
                transition_to_glacier_ir_days: Bounded(365),
                expire_days: Bounded(0),
                access_logging: false,
                access_log_bucket: BucketTemplate("x-{account}".into()),
            },
            key_alias: "alias/baseline-logs".into(),
            trail_name: "baseline-trail".into(),
        }
    }

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/k-1";

    fn observed(buckets: Vec<Bucket>) -> Observed {
        Observed {
            account: account(),
            key_arn: Some(KEY.into()),
            buckets,
        }
    }

    #[test]
    fn missing_buckets_are_created_with_every_setting_in_order() {
        let p = plan(&desired(false), &observed(vec![]));
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].address,
            "s3.log_bucket[\"baseline-cloudtrail-123456789012-eu-west-1\"]"
        );
        let steps: Vec<String> = p[1]
            .op
            .as_ref()
            .unwrap()
            .steps
            .iter()
            .map(|s| format!("{s:?}").split('(').next().unwrap().to_owned())
            .collect();
        assert_eq!(
            steps,
            [
                "Create",
                "BlockPublicAccess",
                "Ownership",
                "Encryption",
                "Versioning",
                "Lifecycle",
                "Policy"
            ]
        );
        let after = p[1].after.as_ref().unwrap();
        assert_eq!(after["encryption"], format!("aws:kms {KEY}"));
        assert_eq!(after["lifecycle"]["glacier_ir_after_days"], 365);
        assert_eq!(after["lifecycle"]["expire_after_days"], Value::Null);
        assert_eq!(after["lifecycle"]["abort_incomplete_uploads_after_days"], 7);
        let sids: Vec<&str> = after["policy"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(
            sids,
            [
                "BaselineDenyInsecureTransport",
                "BaselineConfigAclCheck",
                "BaselineConfigListBucket",
                "BaselineConfigWrite"
            ]
        );
    }

    #[test]
    fn in_the_log_archive_the_organization_trail_and_every_member_may_write() {
        let mut archive = Account::example("us-east-1");
        archive.id = "333333333333".into();
        archive.central = Some(crate::toolkit::account::CentralLogs {
            management: "111111111111".into(),
            archive: "333333333333".into(),
            org_id: "o-abcdefghij".into(),
        });
        let w = Wanted {
            name: "logs".into(),
            cloudtrail: true,
            config: true,
            access_logs: false,
            log_sources: vec![],
            log_to: None,
        };
        let st = statements(&w, &archive, "baseline-trail");
        let by_sid = |sid: &str| st.iter().find(|s| s["Sid"] == sid).unwrap().clone();
        let trail = by_sid("BaselineCloudTrailWrite");
        assert_eq!(
            trail["Resource"],
            json!([
                "arn:aws:s3:::logs/AWSLogs/111111111111/*",
                "arn:aws:s3:::logs/AWSLogs/o-abcdefghij/*"
            ])
        );
        assert_eq!(
            trail["Condition"]["StringEquals"]["aws:SourceArn"],
            "arn:aws:cloudtrail:us-east-1:111111111111:trail/baseline-trail"
        );
        assert_eq!(
            trail["Condition"]["StringEquals"]["aws:SourceAccount"],
            "111111111111"
        );
        let config = by_sid("BaselineConfigWrite");
        assert_eq!(config["Resource"], "arn:aws:s3:::logs/AWSLogs/*/Config/*");
        assert_eq!(
            config["Condition"]["StringEquals"],
            json!({"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceOrgID": "o-abcdefghij"})
        );
        assert_eq!(
            by_sid("BaselineConfigAclCheck")["Condition"],
            json!({"StringEquals": {"aws:SourceOrgID": "o-abcdefghij"}})
        );
    }

    #[test]
    fn one_bucket_for_both_gets_both_grants() {
        let p = plan(&desired(true), &observed(vec![]));
        assert_eq!(p.len(), 1);
        let policy = &p[0].after.as_ref().unwrap()["policy"];
        let trail_write = &policy["Statement"][2];
        assert_eq!(trail_write["Sid"], "BaselineCloudTrailWrite");
        assert_eq!(
            trail_write["Condition"]["StringEquals"]["aws:SourceArn"],
            "arn:aws:cloudtrail:eu-west-1:123456789012:trail/baseline-trail"
        );
        assert_eq!(
            trail_write["Resource"],
            "arn:aws:s3:::baseline-cloudtrail-123456789012-eu-west-1/AWSLogs/123456789012/*"
        );
        assert_eq!(policy["Statement"].as_array().unwrap().len(), 6);
    }

    fn compliant(name: &str, w: &Wanted, extra: Option<Value>) -> Bucket {
        let mut statements = statements(w, &account(), "baseline-trail");
        if let Some(x) = extra {
            statements.insert(0, x);
        }
        Bucket {
            name: name.into(),
            exists: true,
            encryption: Some(("aws:kms".into(), Some(KEY.into()), true)),
            public_access_block: [true; 4],
            ownership: Some(OWNERSHIP.into()),
            versioning: Some("Enabled".into()),
            policy: Some(json!({"Version": "2012-10-17", "Statement": statements})),
            lifecycle: vec![our_rule(&desired(true).config)],
            logging: None,
        }
    }

    #[test]
    fn a_compliant_bucket_with_an_extra_statement_is_left_alone() {
        let d = desired(true);
        let w = &wanted(&d, &account())[0];
        let extra = json!({"Sid": "Auditors", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:GetObject", "Resource": "*"});
        let b = compliant(&w.name, w, Some(extra));
        let p = plan(&d, &observed(vec![b]));
        assert_eq!((p[0].action, p[0].op.is_none()), (Action::NoOp, true));
    }

    #[test]
    fn an_adopted_bucket_gets_only_what_it_lacks_and_keeps_its_statements_and_rules() {
        let d = desired(true);
        let w = &wanted(&d, &account())[0];
        let extra = json!({"Sid": "Auditors", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:GetObject", "Resource": "*"});
        let theirs = LifecycleRule::builder()
            .id("their-rule")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
            .expiration(LifecycleExpiration::builder().days(1).build())
            .build()
            .unwrap();
        let b = Bucket {
            versioning: Some("Suspended".into()),
            policy: Some(json!({"Version": "2012-10-17", "Statement": [extra.clone()]})),
            lifecycle: vec![theirs.clone()],
            ..compliant(&w.name, w, None)
        };
        let p = plan(&d, &observed(vec![b]));
        assert_eq!(p[0].action, Action::Update);
        let steps = &p[0].op.as_ref().unwrap().steps;
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert_eq!(steps[0], Step::Versioning);
        let Step::Lifecycle(rules) = &steps[1] else {
            panic!("{steps:?}")
        };
        assert_eq!(rules[0], theirs);
        assert_eq!(rules[1].id(), Some(RULE_ID));
        let Step::Policy(doc) = &steps[2] else {
            panic!("{steps:?}")
        };
        let doc: Value = serde_json::from_str(doc).unwrap();
        assert_eq!(doc["Statement"][0], extra);
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 7);
    }

    #[test]
    fn another_kms_key_is_kept_and_said() {
        let d = desired(true);
        let w = &wanted(&d, &account())[0];
        let b = Bucket {
            encryption: Some((
                "aws:kms".into(),
                Some("arn:aws:kms:eu-west-1:123456789012:key/other".into()),
                true,
            )),
            ..compliant(&w.name, w, None)
        };
        let p = plan(&d, &observed(vec![b]));
        assert_eq!(p[0].action, Action::NoOp);
        assert!(p[0].reason.as_deref().unwrap().contains("another KMS key"));
    }

    #[test]
    fn access_logging_adds_a_first_sse_s3_bucket_and_a_logging_step() {
        let mut d = desired(false);
        d.config.access_logging = true;
        d.config.access_log_bucket =
            BucketTemplate("baseline-access-logs-{account}-{region}".into());
        let p = plan(&d, &observed(vec![]));
        assert_eq!(p.len(), 3);
        assert_eq!(
            p[0].address,
            "s3.log_bucket[\"baseline-access-logs-123456789012-eu-west-1\"]"
        );
        let steps = &p[0].op.as_ref().unwrap().steps;
        assert!(steps.contains(&Step::EncryptionS3), "{steps:?}");
        assert!(!steps.contains(&Step::Encryption), "{steps:?}");
        let grant = &p[0].after.as_ref().unwrap()["policy"]["Statement"][1];
        assert_eq!(grant["Principal"]["Service"], "logging.s3.amazonaws.com");
        assert_eq!(
            grant["Resource"],
            "arn:aws:s3:::baseline-access-logs-123456789012-eu-west-1/*"
        );
        let last = p[1].op.as_ref().unwrap().steps.last().unwrap().clone();
        assert_eq!(
            last,
            Step::Logging {
                target: "baseline-access-logs-123456789012-eu-west-1".into(),
                prefix: "baseline-cloudtrail-123456789012-eu-west-1/".into()
            }
        );
    }

    // The emulator never answers BucketAlreadyExists (all its buckets are ours): mocked.
    #[tokio::test]
    async fn a_bucket_name_owned_by_another_account_is_a_clear_error() {
        use aws_sdk_s3::operation::create_bucket::CreateBucketError;
        use aws_sdk_s3::types::error::BucketAlreadyExists;
        use aws_smithy_mocks::{mock, mock_client};
        let taken = mock!(aws_sdk_s3::Client::create_bucket).then_error(|| {
            CreateBucketError::BucketAlreadyExists(
                BucketAlreadyExists::builder()
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("BucketAlreadyExists")
                            .message("The requested bucket name is not available.")
                            .build(),
                    )
                    .build(),
            )
        });
        let s3 = mock_client!(aws_sdk_s3, [&taken]);
        let kms = mock_client!(aws_sdk_kms, []);
        let op = BucketOp {
            bucket: "baseline-config-123456789012-eu-west-1".into(),
            key_alias: "alias/baseline-logs".into(),
            steps: vec![Step::Create, Step::BlockPublicAccess],
        };
        let err = apply_with(&s3, &kms, "eu-west-1", &op).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("belongs to another account"), "{text}");
        assert!(text.contains("[log_buckets]"), "{text}");
        assert_eq!(taken.num_calls(), 1);
    }
}
