//! AWS Config in every target region: a recorder of every supported resource type (global
//! types, such as IAM, in one region: the home region, or the first target region that can
//! record them when the home region was launched after February 2022), a delivery channel to the Config log
//! bucket, recording on; and the Config service-linked role. AWS allows one recorder and
//! one delivery channel per region: existing ones are adopted whatever their names, and
//! only what falls short is changed.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::{Baseline, Bounded, BucketTemplate};
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::account::Account;
use aws_sdk_config::types::{
    ConfigSnapshotDeliveryProperties, ConfigurationRecorder, DeliveryChannel,
    MaximumExecutionFrequency, RecordingGroup,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub struct Config;

pub const ROLE_NAME: &str = "AWSServiceRoleForConfig";
pub const SERVICE: &str = "config.amazonaws.com";
/// The name AWS gives a recorder or channel made without one.
const DEFAULT_NAME: &str = "default";

/// AWS Config in every target region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigConfig {
    pub enabled: bool,
    /// How often snapshots are delivered; a more frequent live value is kept.
    #[serde(default = "default_delivery")]
    pub delivery_frequency: DeliveryFrequency,
    /// How long AWS Config keeps configuration history, in days (30 to 2557); a longer
    /// live value (2557 when none is set) is kept. Left out: not managed.
    #[serde(default)]
    pub retention_days: Option<Bounded<30, 2557>>,
}

impl ConfigConfig {
    /// What the recorder needs of the other tables.
    pub(crate) fn problem(&self, baseline: &Baseline) -> Option<(String, String)> {
        (self.enabled && (!baseline.log_key_on() || !baseline.log_buckets_on())).then(|| {
            (
                "config.enabled".into(),
                "needs [log_key] and [log_buckets] enabled: AWS Config delivers to the log bucket, encrypted with the log key".into(),
            )
        })
    }
}

fn default_delivery() -> DeliveryFrequency {
    DeliveryFrequency::TwentyFourHours
}

/// From the most to the least frequent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum DeliveryFrequency {
    #[serde(rename = "One_Hour")]
    OneHour,
    #[serde(rename = "Three_Hours")]
    ThreeHours,
    #[serde(rename = "Six_Hours")]
    SixHours,
    #[serde(rename = "Twelve_Hours")]
    TwelveHours,
    #[serde(rename = "TwentyFour_Hours")]
    TwentyFourHours,
}

impl DeliveryFrequency {
    pub const ALL: [DeliveryFrequency; 5] = [
        Self::OneHour,
        Self::ThreeHours,
        Self::SixHours,
        Self::TwelveHours,
        Self::TwentyFourHours,
    ];
    pub fn as_api(self) -> &'static str {
        match self {
            Self::OneHour => "One_Hour",
            Self::ThreeHours => "Three_Hours",
            Self::SixHours => "Six_Hours",
            Self::TwelveHours => "Twelve_Hours",
            Self::TwentyFourHours => "TwentyFour_Hours",
        }
    }
    pub fn from_api(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_api() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub bucket: BucketTemplate,
    pub frequency: DeliveryFrequency,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recorder {
    pub name: String,
    pub role_arn: String,
    pub all_supported: bool,
    pub include_global: bool,
    pub recording: bool,
    /// The recorder as AWS returned it, so that a correction keeps what we do not manage.
    pub raw: ConfigurationRecorder,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub name: String,
    pub bucket: String,
    pub frequency: Option<String>,
    pub raw: DeliveryChannel,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub account: Account,
    /// Where the global IAM resource types are recorded (see [`global_region`]).
    pub global_region: Option<String>,
    pub recorder: Option<Recorder>,
    pub channel: Option<Channel>,
}

/// The regions where AWS Config was available before February 2022: only these can record
/// the global IAM resource types (AWS::IAM::User, Group, Role, Policy). "These resource
/// types cannot be recorded in Regions supported by AWS Config after February 2022"
/// (AWS Config developer guide, Recording AWS resources, Global resources). Every region
/// launched since (Hyderabad, Melbourne, Spain, Zurich, Tel Aviv, UAE, Calgary, Malaysia,
/// Thailand, Mexico, Taipei, ...) is outside this list, and so is any region yet to come.
pub const GLOBAL_IAM_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-north-1",
    "me-south-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

/// The one region whose recorder records the global IAM types: the home region when it can,
/// else the first target region that can (us-east-1 first, if targeted), else none.
pub fn global_region(home_region: &str, regions: &[String]) -> Option<String> {
    let can = |r: &str| GLOBAL_IAM_REGIONS.contains(&r);
    if can(home_region) {
        return Some(home_region.to_owned());
    }
    regions
        .iter()
        .find(|r| r.as_str() == "us-east-1")
        .or_else(|| regions.iter().find(|r| can(r)))
        .cloned()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    PutRecorder(Box<ConfigurationRecorder>),
    PutChannel(DeliveryChannel),
    Start { recorder: String },
}

impl Control for Config {
    const NAME: &'static str = "config";
    const SCOPE: Scope = Scope::Regional;
    const AFTER: &'static [&'static str] = &["config_role", "log_buckets"];
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        let role = arns.iam(&format!("role/aws-service-role/{SERVICE}/{ROLE_NAME}"));
        vec![
            Grant::write(
                "AuditTrail",
                &[
                    "config:PutConfigurationRecorder",
                    "config:PutDeliveryChannel",
                    "config:StartConfigurationRecorder",
                ],
            )
            .and_read(&[
                "config:DescribeConfigurationRecorders",
                "config:DescribeDeliveryChannels",
                "config:DescribeConfigurationRecorderStatus",
            ]),
            // The recorder is given Config's service-linked role.
            Grant::write("PassTheConfigRoleToConfig", &["iam:PassRole"])
                .on([role])
                .when(json!({"StringEquals": {"iam:PassedToService": SERVICE}})),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let config = baseline.config.as_ref().filter(|c| c.enabled)?;
        Some(Desired {
            bucket: baseline
                .log_buckets
                .as_ref()
                .map(|b| b.config.clone())
                .unwrap_or_else(|| BucketTemplate("baseline-config-{account}-{region}".into())),
            frequency: config.delivery_frequency,
        })
    }

    async fn observe(target: &Target, _: &Desired) -> Result<Observed, TargetError> {
        let mut observed = observe_with(&target.config(), Account::of(target)).await?;
        observed.global_region = global_region(&target.home_region, &target.regions);
        Ok(observed)
    }

    fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
        plan(desired, observed, region)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        apply_with(&target.config(), op)
            .await
            .map_err(TargetError::from)
    }
}

pub async fn observe_with(
    client: &aws_sdk_config::Client,
    account: Account,
) -> Result<Observed, AwsError> {
    let (recorders, channels, statuses) = tokio::join!(
        client.describe_configuration_recorders().send(),
        client.describe_delivery_channels().send(),
        client.describe_configuration_recorder_status().send()
    );
    let recorders = recorders.map_err(aws_err("config:DescribeConfigurationRecorders"))?;
    let channels = channels.map_err(aws_err("config:DescribeDeliveryChannels"))?;
    let statuses = statuses.map_err(aws_err("config:DescribeConfigurationRecorderStatus"))?;
    // Recorders that another AWS service manages (service-linked) are not ours to adopt.
    let recorder = recorders
        .configuration_recorders()
        .iter()
        .find(|r| r.service_principal().is_none())
        .map(|r| {
            let name = r.name().unwrap_or(DEFAULT_NAME).to_owned();
            let group = r.recording_group();
            Recorder {
                recording: statuses
                    .configuration_recorders_status()
                    .iter()
                    .any(|s| s.name() == Some(name.as_str()) && s.recording()),
                role_arn: r.role_arn().unwrap_or_default().to_owned(),
                all_supported: group.is_some_and(|g| g.all_supported()),
                include_global: group.is_some_and(|g| g.include_global_resource_types()),
                name,
                raw: r.clone(),
            }
        });
    let channel = channels.delivery_channels().first().map(|c| Channel {
        name: c.name().unwrap_or(DEFAULT_NAME).to_owned(),
        bucket: c.s3_bucket_name().unwrap_or_default().to_owned(),
        frequency: c
            .config_snapshot_delivery_properties()
            .and_then(|p| p.delivery_frequency())
            .map(|f| f.as_str().to_owned()),
        raw: c.clone(),
    });
    Ok(Observed {
        global_region: global_region(&account.home_region, &[]),
        account,
        recorder,
        channel,
    })
}

pub fn role_arn(account: &Account) -> String {
    format!(
        "arn:{}:iam::{}:role/aws-service-role/{SERVICE}/{ROLE_NAME}",
        account.partition, account.id
    )
}

fn group(all_supported: bool, include_global: bool) -> RecordingGroup {
    RecordingGroup::builder()
        .all_supported(all_supported)
        .include_global_resource_types(include_global)
        .build()
}

pub fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
    let home = Some(region) == observed.global_region.as_deref();
    let mut out = Vec::new();
    // Why global types are recorded here rather than in the home region, or nowhere.
    let global_note = if home && region != observed.account.home_region {
        Some(format!(
            "global IAM resource types are recorded here: the home region {} was launched after February 2022 and AWS Config cannot record them there",
            observed.account.home_region
        ))
    } else if observed.global_region.is_none() && region == observed.account.home_region {
        Some(format!(
            "global IAM resource types are not recorded: AWS Config cannot record them in {region} (launched after February 2022) and no target region can; add us-east-1 (or another region older than February 2022) to `regions`"
        ))
    } else {
        None
    };

    // The recorder: every supported type; global types in one region.
    let address = format!("config.recorder[\"{region}\"]");
    let view = |all: bool, global: bool, role: &str| json!({ "all_supported": all, "include_global_resource_types": global, "role": role });
    let recorder_name = match &observed.recorder {
        None => {
            let role = role_arn(&observed.account);
            let recorder = ConfigurationRecorder::builder()
                .name(DEFAULT_NAME)
                .role_arn(&role)
                .recording_group(group(true, home))
                .build();
            let mut p = Proposal::new(address, Action::Create)
                .after(
                    json!({ "name": DEFAULT_NAME, "all_supported": true, "include_global_resource_types": home, "role": role }),
                )
                .op(Op::PutRecorder(Box::new(recorder)));
            if let Some(note) = &global_note {
                p = p.reason(note.clone());
            }
            out.push(p);
            DEFAULT_NAME.to_owned()
        }
        Some(r) => {
            // Global types are added in the home region; elsewhere a live `true` is kept.
            let global = r.include_global || home;
            let role = if r.role_arn.is_empty() {
                role_arn(&observed.account)
            } else {
                r.role_arn.clone()
            };
            if r.all_supported && global == r.include_global && role == r.role_arn {
                let mut p = Proposal::new(address, Action::NoOp).before(view(
                    r.all_supported,
                    r.include_global,
                    &r.role_arn,
                ));
                if r.name != DEFAULT_NAME {
                    p = p.reason(format!("adopted the existing recorder {:?}", r.name));
                } else if let Some(note) = &global_note {
                    p = p.reason(note.clone());
                }
                out.push(p);
            } else {
                let recorder = ConfigurationRecorder::builder()
                    .name(&r.name)
                    .role_arn(&role)
                    .recording_group(group(true, global))
                    .set_recording_mode(r.raw.recording_mode().cloned())
                    .build();
                let mut p = Proposal::new(address, Action::Update)
                    .before(view(r.all_supported, r.include_global, &r.role_arn))
                    .after(view(true, global, &role))
                    .op(Op::PutRecorder(Box::new(recorder)));
                if let Some(note) = &global_note {
                    p = p.reason(note.clone());
                }
                out.push(p);
            }
            r.name.clone()
        }
    };

    // The delivery channel: to the Config bucket, at least as often as the baseline says.
    let address = format!("config.delivery_channel[\"{region}\"]");
    let bucket = desired.bucket.render(
        observed.account.log_account(),
        &observed.account.home_region,
    );
    let wanted = desired.frequency.as_api();
    match &observed.channel {
        None => {
            let channel = DeliveryChannel::builder()
                .name(DEFAULT_NAME)
                .s3_bucket_name(&bucket)
                .config_snapshot_delivery_properties(
                    ConfigSnapshotDeliveryProperties::builder()
                        .delivery_frequency(MaximumExecutionFrequency::from(wanted))
                        .build(),
                )
                .build();
            out.push(
                Proposal::new(address, Action::Create)
                    .after(json!({ "name": DEFAULT_NAME, "bucket": bucket, "delivery_frequency": wanted }))
                    .op(Op::PutChannel(channel)),
            );
        }
        Some(c) => {
            // Left unset, AWS delivers every 24 hours.
            let live = c
                .frequency
                .as_deref()
                .and_then(DeliveryFrequency::from_api)
                .unwrap_or(DeliveryFrequency::TwentyFourHours);
            let frequency = live.min(desired.frequency);
            let before =
                json!({ "name": c.name, "bucket": c.bucket, "delivery_frequency": c.frequency });
            let mut notes = Vec::new();
            if c.bucket != bucket {
                notes.push(format!(
                    "delivers to the bucket {} (not {bucket}), kept",
                    c.bucket
                ));
            }
            if live < desired.frequency {
                notes.push(format!(
                    "delivery_frequency: live {} is more frequent than the baseline's {wanted}",
                    live.as_api()
                ));
            }
            let p = if c.frequency.as_deref() == Some(frequency.as_api()) {
                Proposal::new(address, Action::NoOp).before(before)
            } else {
                let channel = DeliveryChannel::builder()
                    .name(&c.name)
                    .s3_bucket_name(&c.bucket)
                    .set_s3_key_prefix(c.raw.s3_key_prefix().map(str::to_owned))
                    .set_s3_kms_key_arn(c.raw.s3_kms_key_arn().map(str::to_owned))
                    .set_sns_topic_arn(c.raw.sns_topic_arn().map(str::to_owned))
                    .config_snapshot_delivery_properties(
                        ConfigSnapshotDeliveryProperties::builder()
                            .delivery_frequency(MaximumExecutionFrequency::from(frequency.as_api()))
                            .build(),
                    )
                    .build();
                let mut after = before.clone();
                after["delivery_frequency"] = json!(frequency.as_api());
                Proposal::new(address, Action::Update)
                    .before(before)
                    .after(after)
                    .op(Op::PutChannel(channel))
            };
            out.push(if notes.is_empty() {
                p
            } else {
                p.reason(notes.join("; "))
            });
        }
    }

    // Recording on.
    let address = format!("config.recording[\"{region}\"]");
    let recording = observed.recorder.as_ref().is_some_and(|r| r.recording);
    out.push(if recording {
        Proposal::new(address, Action::NoOp).before(json!({ "recording": true }))
    } else {
        Proposal::new(address, Action::Update)
            .before(json!({ "recording": false }))
            .after(json!({ "recording": true }))
            .op(Op::Start {
                recorder: recorder_name,
            })
    });
    out
}

pub async fn apply_with(client: &aws_sdk_config::Client, op: &Op) -> Result<Applied, AwsError> {
    match op {
        Op::PutRecorder(r) => {
            client
                .put_configuration_recorder()
                .configuration_recorder(r.as_ref().clone())
                .send()
                .await
                .map_err(aws_err("config:PutConfigurationRecorder"))?;
        }
        Op::PutChannel(c) => {
            client
                .put_delivery_channel()
                .delivery_channel(c.clone())
                .send()
                .await
                .map_err(aws_err("config:PutDeliveryChannel"))?;
        }
        Op::Start { recorder } => {
            client
                .start_configuration_recorder()
                .configuration_recorder_name(recorder)
                .send()
                .await
                .map_err(aws_err("config:StartConfigurationRecorder"))?;
        }
    }
    Ok(Applied::Done)
}

/// The AWS Config service-linked role, once for the account (IAM is global).
pub struct ConfigRole;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRole;

impl Control for ConfigRole {
    const NAME: &'static str = "config_role";
    const SCOPE: Scope = Scope::Account;
    type Desired = ();
    type Observed = Option<String>;
    type Op = CreateRole;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        let role = arns.iam(&format!("role/aws-service-role/{SERVICE}/{ROLE_NAME}"));
        vec![
            Grant::read("ConfigServiceLinkedRole", &["iam:GetRole"]).on([role]),
            Grant::write(
                "ServiceLinkedRolesOfTheServicesItEnables",
                &["iam:CreateServiceLinkedRole"],
            )
            .on([arns.iam("role/aws-service-role/*")])
            .when(json!({"StringEquals": {"iam:AWSServiceName": ["config.amazonaws.com"]}})),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<()> {
        baseline.config.as_ref().filter(|c| c.enabled).map(|_| ())
    }

    async fn observe(target: &Target, _: &()) -> Result<Option<String>, TargetError> {
        match target.iam().get_role().role_name(ROLE_NAME).send().await {
            Ok(out) => Ok(out.role().map(|r| r.arn().to_owned())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws_err("iam:GetRole")(e).into()),
        }
    }

    fn plan(_: &(), observed: &Option<String>, _: &str) -> Vec<Proposal<CreateRole>> {
        let address = format!("iam.service_linked_role[{SERVICE:?}]");
        vec![match observed {
            Some(arn) => Proposal::new(address, Action::NoOp).before(json!({ "arn": arn })),
            None => Proposal::new(address, Action::Create)
                .after(json!({ "name": ROLE_NAME, "service": SERVICE }))
                .op(CreateRole),
        }]
    }

    async fn apply(target: &Target, _: &CreateRole) -> Result<Applied, TargetError> {
        match target
            .iam()
            .create_service_linked_role()
            .aws_service_name(SERVICE)
            .send()
            .await
        {
            Ok(_) => Ok(Applied::Done),
            // Created meanwhile: `InvalidInput` ("has been taken") on AWS, `EntityAlreadyExists`.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.meta().code() == Some("EntityAlreadyExists")
                        || (s.is_invalid_input_exception()
                            && s.meta().message().is_some_and(|m| m.contains("taken")))
                }) =>
            {
                Ok(Applied::AlreadyDone)
            }
            Err(e) => Err(aws_err("iam:CreateServiceLinkedRole")(e).into()),
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
            bucket: BucketTemplate("baseline-config-{account}-{region}".into()),
            frequency: DeliveryFrequency::TwentyFourHours,
        }
    }

    fn recorder(name: &str, all: bool, global: bool, recording: bool) -> Recorder {
        Recorder {
            name: name.into(),
            role_arn: "arn:aws:iam::123456789012:role/custom".into(),
            all_supported: all,
            include_global: global,
            recording,
            raw: ConfigurationRecorder::builder().name(name).build(),
        }
    }

    #[test]
    fn a_fresh_region_gets_recorder_then_channel_then_recording() {
        let observed = Observed {
            account: account(),
            global_region: Some("us-east-1".into()),
            recorder: None,
            channel: None,
        };
        let p = plan(&desired(), &observed, "eu-west-1");
        let actions: Vec<(&str, Action)> =
            p.iter().map(|p| (p.address.as_str(), p.action)).collect();
        assert_eq!(
            actions,
            [
                ("config.recorder[\"eu-west-1\"]", Action::Create),
                ("config.delivery_channel[\"eu-west-1\"]", Action::Create),
                ("config.recording[\"eu-west-1\"]", Action::Update),
            ]
        );
        let Some(Op::PutRecorder(r)) = &p[0].op else {
            panic!()
        };
        let g = r.recording_group().unwrap();
        assert!(g.all_supported() && !g.include_global_resource_types());
        assert_eq!(
            r.role_arn(),
            Some(
                "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
            )
        );
        let Some(Op::PutChannel(c)) = &p[1].op else {
            panic!()
        };
        assert_eq!(
            c.s3_bucket_name(),
            Some("baseline-config-123456789012-us-east-1")
        );
        // Global types are recorded in the home region only.
        let p = plan(&desired(), &observed, "us-east-1");
        let Some(Op::PutRecorder(r)) = &p[0].op else {
            panic!()
        };
        assert!(r.recording_group().unwrap().include_global_resource_types());
    }

    #[test]
    fn global_types_go_to_an_older_region_when_the_home_region_cannot_record_them() {
        let regions: Vec<String> = ["eu-central-2", "eu-west-1", "us-east-1"]
            .map(String::from)
            .into();
        assert_eq!(
            global_region("eu-west-1", &regions).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            global_region("eu-central-2", &regions).as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            global_region("eu-central-2", &regions[..2]).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(global_region("eu-central-2", &regions[..1]), None);

        let zurich = Observed {
            account: Account::example("eu-central-2"),
            global_region: global_region("eu-central-2", &regions),
            recorder: None,
            channel: None,
        };
        let global = |p: &[Proposal<Op>]| match &p[0].op {
            Some(Op::PutRecorder(r)) => {
                r.recording_group().unwrap().include_global_resource_types()
            }
            _ => panic!("{:?}", p[0]),
        };
        let home = plan(&desired(), &zurich, "eu-central-2");
        assert!(!global(&home));
        let there = plan(&desired(), &zurich, "us-east-1");
        assert!(global(&there));
        assert!(
            there[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("the home region eu-central-2 was launched after February 2022"),
            "{:?}",
            there[0]
        );
        // No target region can: the home region's plan says so.
        let alone = Observed {
            global_region: None,
            ..zurich
        };
        let p = plan(&desired(), &alone, "eu-central-2");
        assert!(!global(&p));
        assert!(
            p[0].reason
                .as_deref()
                .unwrap()
                .contains("global IAM resource types are not recorded"),
            "{:?}",
            p[0]
        );
    }

    #[test]
    fn an_existing_recorder_is_adopted_and_only_corrected() {
        let observed = Observed {
            account: account(),
            global_region: Some("us-east-1".into()),
            recorder: Some(recorder("my-recorder", false, true, true)),
            channel: Some(Channel {
                name: "my-channel".into(),
                bucket: "central-logs".into(),
                frequency: Some("One_Hour".into()),
                raw: DeliveryChannel::builder().name("my-channel").build(),
            }),
        };
        let p = plan(&desired(), &observed, "eu-west-1");
        let Some(Op::PutRecorder(r)) = &p[0].op else {
            panic!("{:?}", p[0])
        };
        assert_eq!(r.name(), Some("my-recorder"));
        assert_eq!(r.role_arn(), Some("arn:aws:iam::123456789012:role/custom"));
        // A live `true` for global types outside the home region is kept.
        assert!(r.recording_group().unwrap().include_global_resource_types());
        assert_eq!(p[1].action, Action::NoOp);
        let reason = p[1].reason.as_deref().unwrap();
        assert!(
            reason.contains("delivers to the bucket central-logs"),
            "{reason}"
        );
        assert!(
            reason.contains("live One_Hour is more frequent"),
            "{reason}"
        );
        assert_eq!(p[2].action, Action::NoOp);
    }

    #[test]
    fn a_less_frequent_channel_is_tightened_and_a_stopped_recorder_started() {
        let observed = Observed {
            account: account(),
            global_region: Some("us-east-1".into()),
            recorder: Some(recorder("default", true, false, false)),
            channel: Some(Channel {
                name: "default".into(),
                bucket: "baseline-config-123456789012-us-east-1".into(),
                frequency: None,
                raw: DeliveryChannel::builder().name("default").build(),
            }),
        };
        let six = Desired {
            frequency: DeliveryFrequency::SixHours,
            ..desired()
        };
        let p = plan(&six, &observed, "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp);
        assert_eq!(p[1].action, Action::Update);
        assert_eq!(
            p[1].after.as_ref().unwrap()["delivery_frequency"],
            "Six_Hours"
        );
        assert_eq!(
            p[2].op,
            Some(Op::Start {
                recorder: "default".into()
            })
        );
    }
}
