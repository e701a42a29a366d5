//! One multi-region CloudTrail trail, from the home region: global service events, log
//! file validation, KMS encryption with the log key, read and write management events,
//! logging on. An existing trail that already meets all of that is adopted whatever its
//! name (a second trail would be billed); a trail with our name that falls short is
//! corrected; otherwise ours is created, delivering to the CloudTrail log bucket.

use super::{Applied, Control, Proposal, Scope, Seat, Target};
use crate::baseline::{Baseline, BucketTemplate};
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::account::Account;
use crate::toolkit::kms;
use crate::toolkit::names;
use aws_sdk_cloudtrail::types::{EventSelector, ReadWriteType};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub struct CloudTrail;

/// One multi-region CloudTrail trail, in the home region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloudTrailConfig {
    pub enabled: bool,
    #[serde(default = "default_trail_name")]
    pub name: TrailName,
    /// Also deliver to a CloudWatch Logs group (through a role of ours).
    #[serde(default)]
    pub cloudwatch_logs: bool,
    #[serde(default = "default_retention")]
    pub cloudwatch_logs_retention_days: RetentionDays,
    /// The CIS root-account-usage metric filter and alarm (needs `cloudwatch_logs` and
    /// `[notifications]`).
    #[serde(default)]
    pub root_usage_alarm: bool,
}

impl CloudTrailConfig {
    /// What the trail needs of the other tables.
    pub(crate) fn problem(&self, baseline: &Baseline) -> Option<(String, String)> {
        if !self.enabled {
            return None;
        }
        let err = |key: &str, message: &str| Some((key.to_owned(), message.to_owned()));
        if !baseline.log_key_on() || !baseline.log_buckets_on() {
            return err(
                "cloudtrail.enabled",
                "needs [log_key] and [log_buckets] enabled: the trail is encrypted with the log key and delivers to the log bucket",
            );
        }
        if self.root_usage_alarm && !self.cloudwatch_logs {
            return err(
                "cloudtrail.root_usage_alarm",
                "needs cloudwatch_logs = true: the alarm reads the trail's log group",
            );
        }
        if self.root_usage_alarm && !baseline.notifications.as_ref().is_some_and(|n| n.enabled) {
            return err(
                "cloudtrail.root_usage_alarm",
                "needs [notifications] enabled: the alarm notifies its topic",
            );
        }
        None
    }
}

pub(crate) fn default_trail_name() -> TrailName {
    TrailName("baseline-trail".into())
}
fn default_retention() -> RetentionDays {
    RetentionDays(365)
}

/// A CloudWatch Logs retention period: only the day counts `PutRetentionPolicy` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionDays(pub u32);

impl RetentionDays {
    /// The values CloudWatch Logs accepts (PutRetentionPolicy, `retentionInDays`); any
    /// other is refused with `InvalidParameterException`.
    pub const ALLOWED: [u32; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];

    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for RetentionDays {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        match u32::try_from(v) {
            Ok(days) if Self::ALLOWED.contains(&days) => Ok(RetentionDays(days)),
            _ => {
                let allowed = Self::ALLOWED.map(|d| d.to_string()).join(", ");
                Err(de::Error::custom(format!(
                    "{v} days is not a retention period CloudWatch Logs accepts: expected one of {allowed}"
                )))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrailName(pub String);

impl<'de> Deserialize<'de> for TrailName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = (3..=128).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if ok {
            Ok(TrailName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid trail name {s:?}: expected 3 to 128 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"
            )))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub name: String,
    pub bucket: BucketTemplate,
    pub key_alias: String,
    /// Deliver to the CloudWatch Logs group of `cloudtrail_logs`.
    pub cloudwatch_logs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trail {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub bucket: String,
    pub multi_region: bool,
    pub global_service_events: bool,
    pub log_file_validation: bool,
    pub kms_key: Option<String>,
    pub logging: bool,
    /// Read and write management events are recorded.
    pub all_management_events: bool,
    pub organization: bool,
    /// The CloudWatch Logs group ARN and role it delivers through, if any.
    pub cloudwatch: Option<(String, String)>,
}

impl Trail {
    pub fn compliant(&self) -> bool {
        self.multi_region
            && self.global_service_events
            && self.log_file_validation
            && self.kms_key.is_some()
            && self.logging
            && self.all_management_events
    }

    fn view(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "bucket": self.bucket,
            "multi_region": self.multi_region,
            "global_service_events": self.global_service_events,
            "log_file_validation": self.log_file_validation,
            "kms_key": self.kms_key,
            "management_events": if self.all_management_events { "All" } else { "not all" },
            "logging": self.logging,
        });
        if let Some((group, _)) = &self.cloudwatch {
            v["cloudwatch_logs_group"] = json!(group);
        }
        if self.organization {
            v["organization"] = json!(true);
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub account: Account,
    pub key_arn: Option<String>,
    pub trails: Vec<Trail>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        name: String,
        bucket: String,
        key_alias: String,
        cloudwatch: Option<(String, String)>,
        /// An organization trail (IsOrganizationTrail), after trusted access for CloudTrail.
        organization: bool,
    },
    Update {
        name: String,
        /// UpdateTrail is needed (multi-region, global events, validation or KMS).
        settings: bool,
        /// The log key to encrypt with, only when the trail has no key: a trail that
        /// already has one keeps it, as the plan shows (UpdateTrail sends no `KmsKeyId`).
        key_alias: Option<String>,
        cloudwatch: Option<(String, String)>,
        event_selectors: bool,
        start_logging: bool,
        /// Made an organization trail (trusted access for CloudTrail first).
        organization: bool,
    },
}

impl Control for CloudTrail {
    const NAME: &'static str = "cloudtrail";
    const SCOPE: Scope = Scope::Account;
    const SEAT: Seat = Seat::OrganizationTrail;
    const AFTER: &'static [&'static str] = &["log_key", "log_buckets", "cloudtrail_logs"];
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn permissions(desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        let mut grants = vec![
            Grant::write(
                "AuditTrail",
                &[
                    "cloudtrail:CreateTrail",
                    "cloudtrail:UpdateTrail",
                    "cloudtrail:PutEventSelectors",
                    "cloudtrail:StartLogging",
                ],
            )
            .and_read(&[
                "cloudtrail:DescribeTrails",
                "cloudtrail:GetTrailStatus",
                "cloudtrail:GetEventSelectors",
            ]),
        ];
        if desired.cloudwatch_logs {
            // The trail is given the role that writes its log group.
            grants.push(
                Grant::write("PassTheTrailLogsRoleToCloudTrail", &["iam:PassRole"])
                    .on([arns.iam(&format!("role/{}", names::TRAIL_LOGS_ROLE))])
                    .when(json!({"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}})),
            );
        }
        grants
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let trail = baseline.cloudtrail.as_ref().filter(|t| t.enabled)?;
        Some(Desired {
            name: trail.name.0.clone(),
            bucket: baseline
                .log_buckets
                .as_ref()
                .map(|b| b.cloudtrail.clone())
                .unwrap_or_else(|| BucketTemplate("baseline-cloudtrail-{account}-{region}".into())),
            key_alias: baseline.log_key_alias(),
            cloudwatch_logs: trail.cloudwatch_logs,
        })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        let kms = target.kms();
        let account = Account::of(target);
        // The organization trail's key is the log archive's, named by its alias ARN: not
        // readable from here.
        let central = account.central.is_some();
        let (key, trails) = tokio::join!(
            async {
                match central {
                    true => Ok(None),
                    false => kms::describe(&kms, &desired.key_alias).await,
                }
            },
            observe_trails(target, &desired.name)
        );
        Ok(Observed {
            account,
            key_arn: key?.map(|(_, arn, _)| arn),
            trails: trails?,
        })
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<Op>> {
        vec![plan(desired, observed)]
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        let organizations = target.session.organizations(&target.partition);
        apply_with(&target.cloudtrail(), &target.kms(), &organizations, op).await
    }
}

/// Every multi-region trail the account has (whatever its home region), and ours.
async fn observe_trails(target: &Target, ours: &str) -> Result<Vec<Trail>, AwsError> {
    let client = target.cloudtrail();
    let listed = client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(aws_err("cloudtrail:DescribeTrails"))?;
    let mut seen = std::collections::BTreeSet::new();
    let candidates: Vec<&aws_sdk_cloudtrail::types::Trail> = listed
        .trail_list()
        .iter()
        .filter(|t| {
            let arn = t.trail_arn().unwrap_or_default();
            (t.is_multi_region_trail() == Some(true)
                || (t.name() == Some(ours) && t.home_region() == Some(&target.home_region)))
                && seen.insert(arn.to_owned())
        })
        .collect();
    futures::future::try_join_all(candidates.into_iter().map(|t| async move {
        let arn = t.trail_arn().unwrap_or_default().to_owned();
        let home = t.home_region().unwrap_or(&target.home_region).to_owned();
        // Status and selectors are read where the trail lives.
        let home_client = target.session.cloudtrail(&home);
        let (status, selectors) = tokio::join!(
            home_client.get_trail_status().name(&arn).send(),
            home_client.get_event_selectors().trail_name(&arn).send()
        );
        let status = status.map_err(aws_err("cloudtrail:GetTrailStatus"))?;
        let selectors = selectors.map_err(aws_err("cloudtrail:GetEventSelectors"))?;
        Ok::<_, AwsError>(Trail {
            name: t.name().unwrap_or_default().to_owned(),
            arn,
            home_region: home,
            bucket: t.s3_bucket_name().unwrap_or_default().to_owned(),
            multi_region: t.is_multi_region_trail().unwrap_or(false),
            global_service_events: t.include_global_service_events().unwrap_or(false),
            log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
            kms_key: t.kms_key_id().map(str::to_owned),
            logging: status.is_logging().unwrap_or(false),
            all_management_events: all_management_events(
                selectors.event_selectors(),
                selectors.advanced_event_selectors(),
            ),
            organization: t.is_organization_trail().unwrap_or(false),
            cloudwatch: t.cloud_watch_logs_log_group_arn().map(|g| {
                (
                    g.to_owned(),
                    t.cloud_watch_logs_role_arn().unwrap_or_default().to_owned(),
                )
            }),
        })
    }))
    .await
}

/// Whether selectors record every read and write management event. No selectors at all
/// is the default, which does.
pub fn all_management_events(
    basic: &[EventSelector],
    advanced: &[aws_sdk_cloudtrail::types::AdvancedEventSelector],
) -> bool {
    if basic.is_empty() && advanced.is_empty() {
        return true;
    }
    let by_basic = basic.iter().any(|s| {
        s.include_management_events() != Some(false)
            && s.read_write_type().is_none_or(|t| *t == ReadWriteType::All)
            && s.exclude_management_event_sources().is_empty()
    });
    let by_advanced = advanced.iter().any(|s| {
        let fields = s.field_selectors();
        fields
            .iter()
            .any(|f| f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management"))
            && fields.iter().all(|f| {
                f.field() == "eventCategory"
                    || (f.field() != "readOnly" && f.field() != "eventSource")
            })
    });
    by_basic || by_advanced
}

pub fn plan(desired: &Desired, observed: &Observed) -> Proposal<Op> {
    let address = format!("cloudtrail.trail[{:?}]", desired.name);
    let account = &observed.account;
    // In an organization with a log archive: the organization trail, encrypted with the
    // archive's log key (CloudTrail takes its alias ARN), into the archive's bucket.
    let central = account.central.as_ref();
    let key_alias = match central {
        None => desired.key_alias.clone(),
        Some(c) => format!(
            "arn:{}:kms:{}:{}:{}",
            account.partition, account.home_region, c.archive, desired.key_alias
        ),
    };
    let key = observed
        .key_arn
        .clone()
        .unwrap_or_else(|| key_alias.clone());
    let organization_ok = |t: &Trail| central.is_none() || t.organization;
    let cloudwatch = desired.cloudwatch_logs.then(|| {
        (
            names::trail_group_arn(&observed.account, &desired.name),
            names::trail_logs_role_arn(&observed.account),
        )
    });
    // With CloudWatch Logs on, a trail must deliver to our group (the alarm reads it).
    let delivers = |t: &Trail| match &cloudwatch {
        None => true,
        Some(want) => t.cloudwatch.as_ref() == Some(want),
    };
    if let Some(t) = observed
        .trails
        .iter()
        .find(|t| t.compliant() && delivers(t) && organization_ok(t))
    {
        let p = Proposal::new(address, Action::NoOp).before(t.view());
        return if t.name == desired.name && t.home_region == observed.account.home_region {
            p
        } else {
            p.reason(format!(
                "adopted the existing compliant trail {} (a second trail would be billed)",
                t.arn
            ))
        };
    }
    let ours = observed
        .trails
        .iter()
        .find(|t| t.name == desired.name && t.home_region == observed.account.home_region);
    match ours {
        None => {
            let bucket = desired
                .bucket
                .render(account.log_account(), &account.home_region);
            let after = Trail {
                name: desired.name.clone(),
                bucket: bucket.clone(),
                multi_region: true,
                global_service_events: true,
                log_file_validation: true,
                kms_key: Some(key),
                logging: true,
                all_management_events: true,
                cloudwatch: cloudwatch.clone(),
                organization: central.is_some(),
                ..Trail::default()
            };
            let p = Proposal::new(address, Action::Create)
                .after(after.view())
                .op(Op::Create {
                    name: desired.name.clone(),
                    bucket,
                    key_alias: key_alias.clone(),
                    cloudwatch,
                    organization: central.is_some(),
                });
            match observed.trails.iter().find(|t| t.compliant()) {
                Some(t) => p.reason(format!(
                    "the existing trail {} does not deliver to {}, so this one is created (a second trail is billed)",
                    t.arn,
                    names::trail_group_name(&desired.name)
                )),
                None => p,
            }
        }
        Some(t) => {
            let settings = !(t.multi_region
                && t.global_service_events
                && t.log_file_validation
                && t.kms_key.is_some()
                && delivers(t)
                && organization_ok(t));
            let after = Trail {
                multi_region: true,
                global_service_events: true,
                log_file_validation: true,
                kms_key: t.kms_key.clone().or(Some(key)),
                logging: true,
                all_management_events: true,
                cloudwatch: cloudwatch.clone().or_else(|| t.cloudwatch.clone()),
                organization: t.organization || central.is_some(),
                ..t.clone()
            };
            Proposal::new(address, Action::Update)
                .before(t.view())
                .after(after.view())
                .op(Op::Update {
                    name: t.name.clone(),
                    settings,
                    key_alias: t.kms_key.is_none().then(|| key_alias.clone()),
                    cloudwatch,
                    event_selectors: !t.all_management_events,
                    start_logging: !t.logging,
                    organization: central.is_some() && !t.organization,
                })
        }
    }
}

fn management_selector() -> EventSelector {
    EventSelector::builder()
        .read_write_type(ReadWriteType::All)
        .include_management_events(true)
        .build()
}

pub async fn apply_with(
    client: &aws_sdk_cloudtrail::Client,
    kms: &aws_sdk_kms::Client,
    organizations: &aws_sdk_organizations::Client,
    op: &Op,
) -> Result<Applied, TargetError> {
    // An alias ARN names a key of another account (the log archive's): CloudTrail
    // resolves it; our own alias is resolved here.
    let resolve = |alias: &str| {
        let alias = alias.to_owned();
        async move {
            match alias.starts_with("arn:") {
                true => Ok(alias),
                false => kms::resolve_arn(kms, &alias).await,
            }
        }
    };
    let organization = match op {
        Op::Create { organization, .. } | Op::Update { organization, .. } => *organization,
    };
    if organization {
        // An organization trail made through the API needs trusted access first.
        organizations
            .enable_aws_service_access()
            .service_principal("cloudtrail.amazonaws.com")
            .send()
            .await
            .map_err(aws_err("organizations:EnableAWSServiceAccess"))?;
    }
    let (name, selectors, start) = match op {
        Op::Create {
            name,
            bucket,
            key_alias,
            cloudwatch,
            organization,
        } => {
            let key = resolve(key_alias).await?;
            let created = with_role_retry(|| {
                client
                    .create_trail()
                    .name(name)
                    .s3_bucket_name(bucket)
                    .is_multi_region_trail(true)
                    .include_global_service_events(true)
                    .enable_log_file_validation(true)
                    .kms_key_id(&key)
                    .is_organization_trail(*organization)
                    .set_cloud_watch_logs_log_group_arn(cloudwatch.as_ref().map(|c| c.0.clone()))
                    .set_cloud_watch_logs_role_arn(cloudwatch.as_ref().map(|c| c.1.clone()))
                    .send()
            })
            .await;
            match created {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_trail_already_exists_exception()) =>
                {
                    // Another run created it first; the next run checks its settings.
                    return Ok(Applied::AlreadyDone);
                }
                Err(e) => return Err(aws_err("cloudtrail:CreateTrail")(e).into()),
            }
            (name, true, true)
        }
        Op::Update {
            name,
            settings,
            key_alias,
            cloudwatch,
            event_selectors,
            start_logging,
            organization,
        } => {
            if *settings {
                let key = match key_alias {
                    Some(alias) => Some(resolve(alias).await?),
                    None => None,
                };
                with_role_retry(|| {
                    client
                        .update_trail()
                        .name(name)
                        .is_multi_region_trail(true)
                        .include_global_service_events(true)
                        .enable_log_file_validation(true)
                        .set_kms_key_id(key.clone())
                        .set_is_organization_trail(organization.then_some(true))
                        .set_cloud_watch_logs_log_group_arn(
                            cloudwatch.as_ref().map(|c| c.0.clone()),
                        )
                        .set_cloud_watch_logs_role_arn(cloudwatch.as_ref().map(|c| c.1.clone()))
                        .send()
                })
                .await
                .map_err(aws_err("cloudtrail:UpdateTrail"))?;
            }
            (name, *event_selectors, *start_logging)
        }
    };
    if selectors {
        client
            .put_event_selectors()
            .trail_name(name)
            .event_selectors(management_selector())
            .send()
            .await
            .map_err(aws_err("cloudtrail:PutEventSelectors"))?;
    }
    if start {
        client
            .start_logging()
            .name(name)
            .send()
            .await
            .map_err(aws_err("cloudtrail:StartLogging"))?;
    }
    Ok(Applied::Done)
}

/// A role made moments ago may not be usable yet (IAM is eventually consistent):
/// CloudTrail then answers `InvalidCloudWatchLogsRoleArnException`; try again a few times.
async fn with_role_retry<T, E, F, Fut>(
    mut call: F,
) -> Result<T, aws_sdk_cloudtrail::error::SdkError<E, aws_smithy_runtime_api::http::Response>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
            Output = Result<
                T,
                aws_sdk_cloudtrail::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
            >,
        >,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Err(e)
                if tries < 6
                    && e.as_service_error()
                        .and_then(|s| s.code())
                        .is_some_and(|c| c == "InvalidCloudWatchLogsRoleArnException") =>
            {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
            other => return other,
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
            name: "baseline-trail".into(),
            bucket: BucketTemplate("baseline-cloudtrail-{account}-{region}".into()),
            key_alias: "alias/baseline-logs".into(),
            cloudwatch_logs: false,
        }
    }

    fn good(name: &str) -> Trail {
        Trail {
            name: name.into(),
            arn: format!("arn:aws:cloudtrail:us-east-1:123456789012:trail/{name}"),
            home_region: "us-east-1".into(),
            bucket: "b".into(),
            multi_region: true,
            global_service_events: true,
            log_file_validation: true,
            kms_key: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
            logging: true,
            all_management_events: true,
            organization: false,
            cloudwatch: None,
        }
    }

    fn observed(trails: Vec<Trail>) -> Observed {
        Observed {
            account: account(),
            key_arn: None,
            trails,
        }
    }

    #[test]
    fn no_trail_is_created() {
        let p = plan(&desired(), &observed(vec![]));
        assert_eq!(p.action, Action::Create);
        assert_eq!(
            p.op,
            Some(Op::Create {
                name: "baseline-trail".into(),
                bucket: "baseline-cloudtrail-123456789012-us-east-1".into(),
                key_alias: "alias/baseline-logs".into(),
                cloudwatch: None,
                organization: false,
            })
        );
        assert_eq!(p.after.unwrap()["kms_key"], "alias/baseline-logs");
    }

    #[test]
    fn with_a_log_archive_the_management_account_has_the_organization_trail_into_it() {
        let mut o = observed(vec![]);
        o.account.central = Some(crate::toolkit::account::CentralLogs {
            management: "123456789012".into(),
            archive: "333333333333".into(),
            org_id: "o-abcdefghij".into(),
        });
        let p = plan(&desired(), &o);
        assert_eq!(
            p.op,
            Some(Op::Create {
                name: "baseline-trail".into(),
                bucket: "baseline-cloudtrail-333333333333-us-east-1".into(),
                key_alias: "arn:aws:kms:us-east-1:333333333333:alias/baseline-logs".into(),
                cloudwatch: None,
                organization: true,
            })
        );
        assert_eq!(p.after.unwrap()["organization"], true);
        // A compliant trail of the account alone is not the organization's: ours is made
        // one (trusted access, then IsOrganizationTrail), another is not adopted.
        o.trails = vec![good("other"), good("baseline-trail")];
        let p = plan(&desired(), &o);
        assert_eq!(p.action, Action::Update);
        assert!(matches!(
            p.op,
            Some(Op::Update {
                organization: true,
                settings: true,
                key_alias: None,
                ..
            })
        ));
        // An organization trail that meets the rest is adopted whatever its name.
        o.trails = vec![Trail {
            organization: true,
            ..good("aws-controltower-BaselineCloudTrail")
        }];
        let p = plan(&desired(), &o);
        assert_eq!((p.action, p.op.is_none()), (Action::NoOp, true));
    }

    #[test]
    fn a_compliant_trail_with_another_name_is_adopted() {
        let p = plan(&desired(), &observed(vec![good("org-trail")]));
        assert_eq!((p.action, p.op.is_none()), (Action::NoOp, true));
        assert!(p.reason.unwrap().contains("trail/org-trail"));
    }

    #[test]
    fn a_trail_that_falls_short_is_not_adopted_and_ours_is_corrected() {
        let single = Trail {
            multi_region: false,
            ..good("other")
        };
        let ours = Trail {
            logging: false,
            kms_key: None,
            all_management_events: false,
            ..good("baseline-trail")
        };
        let p = plan(&desired(), &observed(vec![single, ours]));
        assert_eq!(p.action, Action::Update);
        assert_eq!(
            p.op,
            Some(Op::Update {
                name: "baseline-trail".into(),
                settings: true,
                key_alias: Some("alias/baseline-logs".into()),
                cloudwatch: None,
                event_selectors: true,
                start_logging: true,
                organization: false,
            })
        );
        assert_eq!(p.before.unwrap()["logging"], false);
    }

    #[test]
    fn correcting_a_trail_with_its_own_key_keeps_the_key() {
        let ours = Trail {
            multi_region: false,
            ..good("baseline-trail")
        };
        let p = plan(&desired(), &observed(vec![ours]));
        assert_eq!(
            p.after.unwrap()["kms_key"],
            "arn:aws:kms:us-east-1:123456789012:key/k"
        );
        assert!(matches!(
            p.op,
            Some(Op::Update {
                settings: true,
                key_alias: None,
                ..
            })
        ));
    }

    #[test]
    fn with_cloudwatch_logs_only_a_trail_delivering_to_our_group_is_adopted() {
        let d = Desired {
            cloudwatch_logs: true,
            ..desired()
        };
        let group =
            "arn:aws:logs:us-east-1:123456789012:log-group:/baseline/cloudtrail/baseline-trail:*";
        let role = "arn:aws:iam::123456789012:role/baseline-cloudtrail-logs";
        let p = plan(&d, &observed(vec![good("org-trail")]));
        assert_eq!(p.action, Action::Create);
        assert!(p.reason.unwrap().contains("a second trail is billed"));
        let Some(Op::Create { cloudwatch, .. }) = p.op else {
            panic!()
        };
        assert_eq!(cloudwatch, Some((group.to_owned(), role.to_owned())));
        let ours = Trail {
            cloudwatch: Some((group.to_owned(), role.to_owned())),
            ..good("baseline-trail")
        };
        assert_eq!(plan(&d, &observed(vec![ours])).action, Action::NoOp);
        // Our trail without the delivery is updated, not duplicated.
        let p = plan(&d, &observed(vec![good("baseline-trail")]));
        assert_eq!(p.action, Action::Update);
        assert!(matches!(p.op, Some(Op::Update { settings: true, .. })));
    }

    #[test]
    fn selectors_must_record_all_management_events() {
        assert!(all_management_events(&[], &[]));
        assert!(all_management_events(&[management_selector()], &[]));
        let write_only = EventSelector::builder()
            .read_write_type(ReadWriteType::WriteOnly)
            .include_management_events(true)
            .build();
        assert!(!all_management_events(&[write_only], &[]));
        let none = EventSelector::builder()
            .read_write_type(ReadWriteType::All)
            .include_management_events(false)
            .build();
        assert!(!all_management_events(&[none], &[]));
    }
}
