//! GuardDuty: a detector in every target region, enabled, with the chosen protection plans.
//!
//! Real GuardDuty's `GetDetector` lists every feature the region offers, and reports
//! `EKS_RUNTIME_MONITORING` beside `RUNTIME_MONITORING`; `UpdateDetector` refuses a request
//! naming both, and a feature the region does not offer. So only the features that change
//! are sent, `EKS_RUNTIME_MONITORING` never (it is part of `RUNTIME_MONITORING`), a
//! protection plan the region does not list is skipped there (and said), and turning
//! `RUNTIME_MONITORING` on sends its agent management, without which it covers nothing.
//! A feature `false` or left out keeps the live state; only `disable` turns one off.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_guardduty::types::{
    DetectorAdditionalConfiguration, DetectorFeature, DetectorFeatureConfiguration,
    FeatureAdditionalConfiguration, FeatureStatus, FindingPublishingFrequency,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

pub struct GuardDuty;

const RUNTIME: &str = "RUNTIME_MONITORING";

/// GuardDuty in every target region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuardDutyConfig {
    pub enabled: bool,
    /// Left out: a new detector gets SIX_HOURS and an existing one keeps its own.
    pub finding_publishing_frequency: Option<FindingFrequency>,
    #[serde(default)]
    pub features: GuardDutyFeatures,
    /// Protection plans to turn off where they are on: the only way to turn one off
    /// (a feature `false` or left out keeps the live state). Shown in the plan as removals.
    #[serde(default)]
    pub disable: Vec<GuardDutyFeature>,
    /// Agent management sent with RUNTIME_MONITORING when it is turned on (without it,
    /// Runtime Monitoring covers nothing). Each `true` by default.
    #[serde(default)]
    pub runtime_monitoring_agents: RuntimeMonitoringAgents,
}

impl GuardDutyConfig {
    /// A protection plan both required and listed to disable.
    pub(crate) fn problem(&self) -> Option<(String, String)> {
        if !self.enabled {
            return None;
        }
        let on = self.features.by_api_name();
        let (i, f) = self.disable.iter().enumerate().find(|(_, f)| {
            on.iter()
                .any(|(name, want)| *name == f.api_name() && *want == Some(true))
        })?;
        Some((
            format!("guardduty.disable[{i}]"),
            format!(
                "{} is both required (guardduty.features) and listed to disable: keep one",
                f.api_name()
            ),
        ))
    }
}

/// A GuardDuty protection plan, as named in `[guardduty.features]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardDutyFeature {
    S3DataEvents,
    EksAuditLogs,
    EbsMalwareProtection,
    RdsLoginEvents,
    LambdaNetworkLogs,
    RuntimeMonitoring,
}

impl GuardDutyFeature {
    pub fn api_name(self) -> &'static str {
        match self {
            GuardDutyFeature::S3DataEvents => "S3_DATA_EVENTS",
            GuardDutyFeature::EksAuditLogs => "EKS_AUDIT_LOGS",
            GuardDutyFeature::EbsMalwareProtection => "EBS_MALWARE_PROTECTION",
            GuardDutyFeature::RdsLoginEvents => "RDS_LOGIN_EVENTS",
            GuardDutyFeature::LambdaNetworkLogs => "LAMBDA_NETWORK_LOGS",
            GuardDutyFeature::RuntimeMonitoring => "RUNTIME_MONITORING",
        }
    }
}

/// RUNTIME_MONITORING's additional configuration: which agents GuardDuty manages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeMonitoringAgents {
    #[serde(default = "crate::baseline::yes")]
    pub eks_addon_management: bool,
    #[serde(default = "crate::baseline::yes")]
    pub ecs_fargate_agent_management: bool,
    #[serde(default = "crate::baseline::yes")]
    pub ec2_agent_management: bool,
}

impl Default for RuntimeMonitoringAgents {
    fn default() -> Self {
        RuntimeMonitoringAgents {
            eks_addon_management: true,
            ecs_fargate_agent_management: true,
            ec2_agent_management: true,
        }
    }
}

impl RuntimeMonitoringAgents {
    /// The additional-configuration names to turn on.
    pub fn wanted(&self) -> Vec<&'static str> {
        [
            ("EKS_ADDON_MANAGEMENT", self.eks_addon_management),
            (
                "ECS_FARGATE_AGENT_MANAGEMENT",
                self.ecs_fargate_agent_management,
            ),
            ("EC2_AGENT_MANAGEMENT", self.ec2_agent_management),
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect()
    }
}

/// How often GuardDuty publishes updated findings; a more frequent live value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingFrequency {
    FifteenMinutes,
    OneHour,
    SixHours,
}

impl FindingFrequency {
    pub fn as_api(self) -> &'static str {
        match self {
            FindingFrequency::FifteenMinutes => "FIFTEEN_MINUTES",
            FindingFrequency::OneHour => "ONE_HOUR",
            FindingFrequency::SixHours => "SIX_HOURS",
        }
    }

    pub fn from_api(s: &str) -> Option<Self> {
        [Self::FifteenMinutes, Self::OneHour, Self::SixHours]
            .into_iter()
            .find(|f| f.as_api() == s)
    }
}

/// GuardDuty protection plans: `true` turns one on; `false` or left out means "not
/// required" and keeps the live state (turning one off is `[guardduty] disable`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuardDutyFeatures {
    pub s3_data_events: Option<bool>,
    pub eks_audit_logs: Option<bool>,
    pub ebs_malware_protection: Option<bool>,
    pub rds_login_events: Option<bool>,
    pub lambda_network_logs: Option<bool>,
    pub runtime_monitoring: Option<bool>,
}

impl GuardDutyFeatures {
    /// Each feature's GuardDuty API name and the baseline's wish.
    pub fn by_api_name(&self) -> [(&'static str, Option<bool>); 6] {
        [
            ("S3_DATA_EVENTS", self.s3_data_events),
            ("EKS_AUDIT_LOGS", self.eks_audit_logs),
            ("EBS_MALWARE_PROTECTION", self.ebs_malware_protection),
            ("RDS_LOGIN_EVENTS", self.rds_login_events),
            ("LAMBDA_NETWORK_LOGS", self.lambda_network_logs),
            ("RUNTIME_MONITORING", self.runtime_monitoring),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detector {
    pub id: String,
    pub enabled: bool,
    pub frequency: Option<String>,
    /// Every feature GetDetector lists (what the region offers) and whether each is on.
    pub features: BTreeMap<String, bool>,
    /// RUNTIME_MONITORING's additional configuration (agent management), on or off.
    pub agents: BTreeMap<String, bool>,
}

/// What the baseline asks of the features: on (`true`), off (`disable`), and the agents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wanted {
    pub features: BTreeMap<String, bool>,
    pub agents: Vec<String>,
}

/// The features to send, and what was skipped because the region does not offer it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    pub features: BTreeMap<String, bool>,
    /// Agent management to turn on, sent with RUNTIME_MONITORING.
    pub agents: Vec<String>,
    pub not_offered: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// CreateDetector, then the feature changes against what the new detector reports
    /// (a region's offer is known only from a detector).
    Create {
        frequency: FindingFrequency,
        wanted: Wanted,
    },
    Update {
        detector_id: String,
        frequency: Option<FindingFrequency>,
        changes: Changes,
    },
}

impl Control for GuardDuty {
    const NAME: &'static str = "guardduty";
    const SCOPE: Scope = Scope::Regional;
    type Desired = GuardDutyConfig;
    type Observed = Option<Detector>;
    type Op = Op;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write(
                "ThreatDetection",
                &["guardduty:CreateDetector", "guardduty:UpdateDetector"],
            )
            .and_read(&["guardduty:ListDetectors", "guardduty:GetDetector"]),
            Grant::write("ServiceLinkedRolesOfTheServicesItEnables", &["iam:CreateServiceLinkedRole"])
                .on([arns.iam("role/aws-service-role/*")])
                .when(json!({"StringEquals": {"iam:AWSServiceName": ["guardduty.amazonaws.com", "malware-protection.guardduty.amazonaws.com"]}})),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<GuardDutyConfig> {
        baseline.guardduty.clone().filter(|g| g.enabled)
    }

    async fn observe(
        target: &Target,
        _: &GuardDutyConfig,
    ) -> Result<Option<Detector>, TargetError> {
        observe_with(&target.guardduty())
            .await
            .map_err(TargetError::from)
    }

    fn plan(
        desired: &GuardDutyConfig,
        observed: &Option<Detector>,
        region: &str,
    ) -> Vec<Proposal<Op>> {
        plan(desired, observed, region)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        apply_with(&target.guardduty(), op)
            .await
            .map_err(TargetError::from)
    }
}

pub async fn observe_with(
    client: &aws_sdk_guardduty::Client,
) -> Result<Option<Detector>, AwsError> {
    let listed = client
        .list_detectors()
        .send()
        .await
        .map_err(aws_err("guardduty:ListDetectors"))?;
    // A region has at most one detector; adopt it (the first, should an emulator have more).
    let Some(id) = listed.detector_ids().iter().min() else {
        return Ok(None);
    };
    let d = client
        .get_detector()
        .detector_id(id)
        .send()
        .await
        .map_err(aws_err("guardduty:GetDetector"))?;
    let on = |s: Option<&FeatureStatus>| s.is_some_and(|s| s.as_str() == "ENABLED");
    let mut agents = BTreeMap::new();
    let mut features = BTreeMap::new();
    for f in d.features() {
        let Some(name) = f.name() else { continue };
        features.insert(name.as_str().to_owned(), on(f.status()));
        if name.as_str() == RUNTIME {
            for a in f.additional_configuration() {
                if let Some(n) = a.name() {
                    agents.insert(n.as_str().to_owned(), on(a.status()));
                }
            }
        }
    }
    Ok(Some(Detector {
        id: id.clone(),
        enabled: d.status().is_some_and(|s| s.as_str() == "ENABLED"),
        frequency: d
            .finding_publishing_frequency()
            .map(|f| f.as_str().to_owned()),
        features,
        agents,
    }))
}

pub fn wanted(desired: &GuardDutyConfig) -> Wanted {
    let mut features: BTreeMap<String, bool> = desired
        .features
        .by_api_name()
        .into_iter()
        .filter(|(_, want)| *want == Some(true))
        .map(|(name, _)| (name.to_owned(), true))
        .collect();
    for f in &desired.disable {
        features.entry(f.api_name().to_owned()).or_insert(false);
    }
    Wanted {
        features,
        agents: desired
            .runtime_monitoring_agents
            .wanted()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}

/// The changes that bring `live` to `wanted`: only features whose state differs, none the
/// region does not list, never EKS_RUNTIME_MONITORING.
pub fn changes(wanted: &Wanted, live: &Detector) -> Changes {
    let mut out = Changes::default();
    for (name, want) in &wanted.features {
        match live.features.get(name) {
            // GetDetector lists every feature the region offers.
            None if *want => out.not_offered.push(name.clone()),
            None => {}
            Some(have) if have != want => {
                out.features.insert(name.clone(), *want);
            }
            Some(_) => {}
        }
    }
    if wanted.features.get(RUNTIME) == Some(&true) && live.features.contains_key(RUNTIME) {
        out.agents = wanted
            .agents
            .iter()
            .filter(|a| live.agents.get(*a) != Some(&true))
            .cloned()
            .collect();
        if !out.agents.is_empty() {
            out.features.insert(RUNTIME.to_owned(), true);
        }
    }
    out
}

pub fn plan(
    desired: &GuardDutyConfig,
    observed: &Option<Detector>,
    region: &str,
) -> Vec<Proposal<Op>> {
    let address = format!("guardduty.detector[\"{region}\"]");
    let wanted = wanted(desired);
    let Some(live) = observed else {
        let frequency = desired
            .finding_publishing_frequency
            .unwrap_or(FindingFrequency::SixHours);
        let after = json!({ "status": "ENABLED", "finding_publishing_frequency": frequency.as_api(), "features": wanted.features });
        let mut p = Proposal::new(address, Action::Create)
            .after(after)
            .op(Op::Create {
                frequency,
                wanted: wanted.clone(),
            });
        if wanted.features.values().any(|on| *on) {
            p = p.reason(
                "the protection plans are turned on right after the detector is made, those the region offers (a plan the region does not offer is skipped there)",
            );
        }
        return vec![p];
    };

    let mut notes = Vec::new();
    let live_frequency = live
        .frequency
        .as_deref()
        .and_then(FindingFrequency::from_api);
    let frequency = match (desired.finding_publishing_frequency, live_frequency) {
        (Some(want), Some(have)) if have < want => {
            notes.push(format!(
                "finding_publishing_frequency: live {} is more frequent than the baseline's {}; kept",
                have.as_api(),
                want.as_api()
            ));
            None
        }
        (Some(want), have) if have != Some(want) => Some(want),
        _ => None,
    };
    let changes = changes(&wanted, live);
    if !changes.not_offered.is_empty() {
        notes.push(format!(
            "not offered in {region}, skipped: {}",
            changes.not_offered.join(", ")
        ));
    }
    let off: Vec<&str> = changes
        .features
        .iter()
        .filter(|(_, on)| !**on)
        .map(|(n, _)| n.as_str())
        .collect();
    if !off.is_empty() {
        notes.push(format!(
            "turns off {} (listed in [guardduty] disable)",
            off.join(", ")
        ));
    }
    if !changes.agents.is_empty() {
        notes.push(format!(
            "Runtime Monitoring agent management on: {}",
            changes.agents.join(", ")
        ));
    }
    let before = json!({
        "status": if live.enabled { "ENABLED" } else { "DISABLED" },
        "finding_publishing_frequency": live.frequency,
        "features": live.features,
    });
    let with_notes = |p: Proposal<Op>| {
        if notes.is_empty() {
            p
        } else {
            p.reason(notes.join("; "))
        }
    };
    if live.enabled && frequency.is_none() && changes.features.is_empty() {
        return vec![with_notes(
            Proposal::new(address, Action::NoOp).before(before),
        )];
    }
    let mut features = live.features.clone();
    features.extend(changes.features.clone());
    let after = json!({
        "status": "ENABLED",
        "finding_publishing_frequency": frequency.map(|f| f.as_api().to_owned()).or(live.frequency.clone()),
        "features": features,
    });
    vec![with_notes(
        Proposal::new(address, Action::Update)
            .before(before)
            .after(after)
            .op(Op::Update {
                detector_id: live.id.clone(),
                frequency,
                changes,
            }),
    )]
}

fn feature_list(changes: &Changes) -> Vec<DetectorFeatureConfiguration> {
    let status = |on: bool| {
        if on {
            FeatureStatus::Enabled
        } else {
            FeatureStatus::Disabled
        }
    };
    changes
        .features
        .iter()
        .filter(|(name, _)| name.as_str() != "EKS_RUNTIME_MONITORING")
        .map(|(name, on)| {
            let agents = (name == RUNTIME && *on).then(|| {
                changes
                    .agents
                    .iter()
                    .map(|a| {
                        DetectorAdditionalConfiguration::builder()
                            .name(FeatureAdditionalConfiguration::from(a.as_str()))
                            .status(FeatureStatus::Enabled)
                            .build()
                    })
                    .collect::<Vec<_>>()
            });
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::from(name.as_str()))
                .status(status(*on))
                .set_additional_configuration(agents.filter(|a| !a.is_empty()))
                .build()
        })
        .collect()
}

async fn update(
    client: &aws_sdk_guardduty::Client,
    detector_id: &str,
    frequency: Option<FindingFrequency>,
    changes: &Changes,
) -> Result<(), AwsError> {
    client
        .update_detector()
        .detector_id(detector_id)
        .enable(true)
        .set_finding_publishing_frequency(
            frequency.map(|f| FindingPublishingFrequency::from(f.as_api())),
        )
        .set_features(Some(feature_list(changes)).filter(|l| !l.is_empty()))
        .send()
        .await
        .map(|_| ())
        .map_err(aws_err("guardduty:UpdateDetector"))
}

pub async fn apply_with(client: &aws_sdk_guardduty::Client, op: &Op) -> Result<Applied, AwsError> {
    match op {
        Op::Create { frequency, wanted } => {
            // GuardDuty allows one detector per region; some emulators accept a second.
            // Look again right before creating, so a concurrent run does not duplicate it.
            if observe_with(client).await?.is_some() {
                return Ok(Applied::AlreadyDone);
            }
            match client
                .create_detector()
                .enable(true)
                .finding_publishing_frequency(FindingPublishingFrequency::from(frequency.as_api()))
                .send()
                .await
            {
                Ok(_) => {}
                // Another run created it between our look and our call.
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.is_bad_request_exception()
                            && s.meta()
                                .message()
                                .is_some_and(|m| m.contains("already exists"))
                    }) =>
                {
                    return Ok(Applied::AlreadyDone);
                }
                Err(e) => return Err(aws_err("guardduty:CreateDetector")(e)),
            }
            // Now the region's offer is known: turn on what it offers. A run stopped here
            // leaves a detector the next run corrects like any other.
            if let Some(live) = observe_with(client).await? {
                let changes = changes(wanted, &live);
                if !changes.not_offered.is_empty() {
                    tracing::warn!(
                        "GuardDuty: not offered in this region, skipped: {}",
                        changes.not_offered.join(", ")
                    );
                }
                if !changes.features.is_empty() {
                    update(client, &live.id, None, &changes).await?;
                }
            }
        }
        Op::Update {
            detector_id,
            frequency,
            changes,
        } => update(client, detector_id, *frequency, changes).await?,
    }
    Ok(Applied::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> GuardDutyConfig {
        GuardDutyConfig {
            enabled: true,
            finding_publishing_frequency: Some(FindingFrequency::SixHours),
            features: GuardDutyFeatures {
                s3_data_events: Some(true),
                eks_audit_logs: Some(true),
                ebs_malware_protection: Some(true),
                rds_login_events: Some(true),
                lambda_network_logs: Some(true),
                runtime_monitoring: Some(false),
            },
            disable: vec![],
            runtime_monitoring_agents: RuntimeMonitoringAgents::default(),
        }
    }

    /// A detector as real GetDetector reports it: every offered feature.
    fn live(enabled: bool, on: &[&str]) -> Detector {
        let all = [
            "CLOUD_TRAIL",
            "DNS_LOGS",
            "FLOW_LOGS",
            "S3_DATA_EVENTS",
            "EKS_AUDIT_LOGS",
            "EBS_MALWARE_PROTECTION",
            "RDS_LOGIN_EVENTS",
            "EKS_RUNTIME_MONITORING",
            "LAMBDA_NETWORK_LOGS",
            "RUNTIME_MONITORING",
        ];
        Detector {
            id: "d1".into(),
            enabled,
            frequency: Some("SIX_HOURS".into()),
            features: all
                .iter()
                .map(|n| (n.to_string(), on.contains(n)))
                .collect(),
            agents: BTreeMap::new(),
        }
    }

    const SHIPPED_ON: &[&str] = &[
        "S3_DATA_EVENTS",
        "EKS_AUDIT_LOGS",
        "EBS_MALWARE_PROTECTION",
        "RDS_LOGIN_EVENTS",
        "LAMBDA_NETWORK_LOGS",
    ];

    #[test]
    fn no_detector_is_created_then_given_the_features_it_offers() {
        let p = plan(&shipped(), &None, "eu-west-1");
        assert_eq!(p[0].address, "guardduty.detector[\"eu-west-1\"]");
        assert_eq!(p[0].action, Action::Create);
        let Some(Op::Create { frequency, wanted }) = &p[0].op else {
            panic!("{:?}", p[0].op)
        };
        assert_eq!(*frequency, FindingFrequency::SixHours);
        assert_eq!(wanted.features.len(), 5);
        assert!(
            !wanted.features.contains_key("RUNTIME_MONITORING"),
            "false is not a wish to turn off"
        );
    }

    #[test]
    fn a_suspended_detector_is_re_enabled_and_nothing_else_is_sent() {
        let p = plan(&shipped(), &Some(live(false, SHIPPED_ON)), "eu-west-1");
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(p[0].before.as_ref().unwrap()["status"], "DISABLED");
        assert_eq!(p[0].after.as_ref().unwrap()["status"], "ENABLED");
        assert_eq!(
            p[0].op,
            Some(Op::Update {
                detector_id: "d1".into(),
                frequency: None,
                changes: Changes::default(),
            })
        );
    }

    #[test]
    fn a_compliant_detector_is_adopted() {
        let p = plan(&shipped(), &Some(live(true, SHIPPED_ON)), "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp);
    }

    #[test]
    fn runtime_monitoring_a_team_turned_on_is_kept_by_false_and_by_left_out() {
        let mut on = SHIPPED_ON.to_vec();
        on.extend(["RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"]);
        let p = plan(&shipped(), &Some(live(true, &on)), "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp, "{:?}", p[0]);
        let mut desired = shipped();
        desired.features.runtime_monitoring = None;
        let p = plan(&desired, &Some(live(true, &on)), "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp);
    }

    #[test]
    fn disable_turns_off_only_what_it_lists_and_never_names_eks_runtime_monitoring() {
        let mut on = SHIPPED_ON.to_vec();
        on.extend(["RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"]);
        let mut desired = shipped();
        desired.features.runtime_monitoring = None;
        desired.disable = vec![GuardDutyFeature::RuntimeMonitoring];
        let p = plan(&desired, &Some(live(true, &on)), "eu-west-1");
        assert_eq!(p[0].action, Action::Update);
        assert!(
            p[0].reason
                .as_deref()
                .unwrap()
                .contains("turns off RUNTIME_MONITORING")
        );
        let Some(Op::Update { changes, .. }) = &p[0].op else {
            panic!()
        };
        assert_eq!(
            changes.features,
            BTreeMap::from([("RUNTIME_MONITORING".to_owned(), false)])
        );
        let sent = feature_list(changes);
        assert_eq!(sent.len(), 1);
    }

    #[test]
    fn turning_runtime_monitoring_on_sends_its_agents_and_only_the_changes() {
        let mut desired = shipped();
        desired.features.runtime_monitoring = Some(true);
        desired.runtime_monitoring_agents.ec2_agent_management = false;
        let p = plan(&desired, &Some(live(true, SHIPPED_ON)), "eu-west-1");
        let Some(Op::Update { changes, .. }) = &p[0].op else {
            panic!("{:?}", p[0])
        };
        let sent = feature_list(changes);
        assert_eq!(sent.len(), 1, "only the feature that changes: {sent:?}");
        assert_eq!(sent[0].name().unwrap().as_str(), "RUNTIME_MONITORING");
        let agents: Vec<&str> = sent[0]
            .additional_configuration()
            .iter()
            .map(|a| a.name().unwrap().as_str())
            .collect();
        assert_eq!(
            agents,
            ["EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT"]
        );

        // Runtime Monitoring on but an agent off: the agent is turned on.
        let mut on = SHIPPED_ON.to_vec();
        on.extend(["RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"]);
        let mut d = live(true, &on);
        d.agents = BTreeMap::from([
            ("EKS_ADDON_MANAGEMENT".to_owned(), true),
            ("ECS_FARGATE_AGENT_MANAGEMENT".to_owned(), false),
        ]);
        let p = plan(&desired, &Some(d), "eu-west-1");
        let Some(Op::Update { changes, .. }) = &p[0].op else {
            panic!("{:?}", p[0])
        };
        assert_eq!(changes.agents, ["ECS_FARGATE_AGENT_MANAGEMENT"]);
    }

    #[test]
    fn a_plan_the_region_does_not_offer_is_skipped_there_not_failed() {
        let mut d = live(true, SHIPPED_ON);
        d.features.remove("RDS_LOGIN_EVENTS");
        d.features.insert("S3_DATA_EVENTS".into(), false);
        let p = plan(&shipped(), &Some(d), "ap-east-2");
        assert_eq!(p[0].action, Action::Update);
        assert!(
            p[0].reason
                .as_deref()
                .unwrap()
                .contains("not offered in ap-east-2, skipped: RDS_LOGIN_EVENTS")
        );
        let Some(Op::Update { changes, .. }) = &p[0].op else {
            panic!()
        };
        assert_eq!(
            changes.features,
            BTreeMap::from([("S3_DATA_EVENTS".to_owned(), true)])
        );
    }

    #[test]
    fn a_more_frequent_live_publishing_is_kept() {
        let mut d = live(true, SHIPPED_ON);
        d.frequency = Some("FIFTEEN_MINUTES".into());
        let p = plan(&shipped(), &Some(d), "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp);
        assert!(
            p[0].reason
                .as_deref()
                .unwrap()
                .contains("FIFTEEN_MINUTES is more frequent")
        );
        let mut d = live(true, SHIPPED_ON);
        d.frequency = Some("ONE_HOUR".into());
        let mut desired = shipped();
        desired.finding_publishing_frequency = Some(FindingFrequency::FifteenMinutes);
        let p = plan(&desired, &Some(d), "eu-west-1");
        assert_eq!(p[0].action, Action::Update);
    }
}
