//! GuardDuty: a detector in every target region, enabled, with the chosen protection plans.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::{Baseline, FindingFrequency, GuardDutyConfig};
use crate::error::{AwsError, aws_err};
use crate::plan::Action;
use aws_sdk_guardduty::types::{
    DetectorFeature, DetectorFeatureConfiguration, FeatureStatus, FindingPublishingFrequency,
};
use serde_json::json;
use std::collections::BTreeMap;

pub struct GuardDuty;

/// Feature names UpdateDetector accepts (GetDetector also reports CLOUD_TRAIL, DNS_LOGS
/// and FLOW_LOGS, which are always on and cannot be sent).
const SETTABLE: &[&str] = &[
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "LAMBDA_NETWORK_LOGS",
    "RUNTIME_MONITORING",
    "EKS_RUNTIME_MONITORING",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detector {
    pub id: String,
    pub enabled: bool,
    pub frequency: Option<String>,
    /// Settable features and whether each is on.
    pub features: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        frequency: FindingFrequency,
        features: BTreeMap<String, bool>,
    },
    Update {
        detector_id: String,
        frequency: Option<FindingFrequency>,
        /// The complete list to send: live settable features with our changes on top
        /// (some implementations replace the whole list).
        features: BTreeMap<String, bool>,
    },
}

impl Control for GuardDuty {
    const NAME: &'static str = "guardduty";
    const SCOPE: Scope = Scope::Regional;
    type Desired = GuardDutyConfig;
    type Observed = Option<Detector>;
    type Op = Op;

    fn desired(baseline: &Baseline) -> Option<GuardDutyConfig> {
        baseline.guardduty.clone().filter(|g| g.enabled)
    }

    async fn observe(target: &Target, _: &GuardDutyConfig) -> Result<Option<Detector>, AwsError> {
        observe_with(&target.guardduty()).await
    }

    fn plan(
        desired: &GuardDutyConfig,
        observed: &Option<Detector>,
        region: &str,
    ) -> Vec<Proposal<Op>> {
        plan(desired, observed, region)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, AwsError> {
        apply_with(&target.guardduty(), op).await
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
    Ok(Some(Detector {
        id: id.clone(),
        enabled: d.status().is_some_and(|s| s.as_str() == "ENABLED"),
        frequency: d
            .finding_publishing_frequency()
            .map(|f| f.as_str().to_owned()),
        features: d
            .features()
            .iter()
            .filter_map(|f| {
                let name = f.name()?.as_str();
                SETTABLE.contains(&name).then(|| {
                    (
                        name.to_owned(),
                        f.status().is_some_and(|s| s.as_str() == "ENABLED"),
                    )
                })
            })
            .collect(),
    }))
}

fn wanted_features(desired: &GuardDutyConfig) -> impl Iterator<Item = (&'static str, bool)> {
    desired
        .features
        .by_api_name()
        .into_iter()
        .filter_map(|(name, want)| want.map(|w| (name, w)))
}

pub fn plan(
    desired: &GuardDutyConfig,
    observed: &Option<Detector>,
    region: &str,
) -> Vec<Proposal<Op>> {
    let address = format!("guardduty.detector[\"{region}\"]");
    let Some(live) = observed else {
        let frequency = desired
            .finding_publishing_frequency
            .unwrap_or(FindingFrequency::SixHours);
        let features: BTreeMap<String, bool> = wanted_features(desired)
            .map(|(n, w)| (n.to_owned(), w))
            .collect();
        let after = json!({ "status": "ENABLED", "finding_publishing_frequency": frequency.as_api(), "features": features });
        return vec![
            Proposal::new(address, Action::Create)
                .after(after)
                .op(Op::Create {
                    frequency,
                    features,
                }),
        ];
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
    let mut features = live.features.clone();
    let mut changed = false;
    for (name, want) in wanted_features(desired) {
        if live.features.get(name).copied().unwrap_or(false) != want {
            features.insert(name.to_owned(), want);
            changed = true;
        }
    }
    let before = json!({
        "status": if live.enabled { "ENABLED" } else { "DISABLED" },
        "finding_publishing_frequency": live.frequency,
        "features": live.features,
    });
    if live.enabled && frequency.is_none() && !changed {
        let p = Proposal::new(address, Action::NoOp).before(before);
        return vec![if notes.is_empty() {
            p
        } else {
            p.reason(notes.join("; "))
        }];
    }
    let after = json!({
        "status": "ENABLED",
        "finding_publishing_frequency": frequency.map(|f| f.as_api().to_owned()).or(live.frequency.clone()),
        "features": features,
    });
    let p = Proposal::new(address, Action::Update)
        .before(before)
        .after(after)
        .op(Op::Update {
            detector_id: live.id.clone(),
            frequency,
            features: if changed { features } else { BTreeMap::new() },
        });
    vec![if notes.is_empty() {
        p
    } else {
        p.reason(notes.join("; "))
    }]
}

fn feature_list(features: &BTreeMap<String, bool>) -> Vec<DetectorFeatureConfiguration> {
    features
        .iter()
        .map(|(name, on)| {
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::from(name.as_str()))
                .status(if *on {
                    FeatureStatus::Enabled
                } else {
                    FeatureStatus::Disabled
                })
                .build()
        })
        .collect()
}

pub async fn apply_with(client: &aws_sdk_guardduty::Client, op: &Op) -> Result<Applied, AwsError> {
    match op {
        Op::Create {
            frequency,
            features,
        } => {
            // GuardDuty allows one detector per region; some emulators accept a second.
            // Look again right before creating, so a concurrent run does not duplicate it.
            if observe_with(client).await?.is_some() {
                return Ok(Applied::AlreadyDone);
            }
            match client
                .create_detector()
                .enable(true)
                .finding_publishing_frequency(FindingPublishingFrequency::from(frequency.as_api()))
                .set_features(Some(feature_list(features)).filter(|l| !l.is_empty()))
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
        }
        Op::Update {
            detector_id,
            frequency,
            features,
        } => {
            client
                .update_detector()
                .detector_id(detector_id)
                .enable(true)
                .set_finding_publishing_frequency(
                    frequency.map(|f| FindingPublishingFrequency::from(f.as_api())),
                )
                .set_features(Some(feature_list(features)).filter(|l| !l.is_empty()))
                .send()
                .await
                .map_err(aws_err("guardduty:UpdateDetector"))?;
        }
    }
    Ok(Applied::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::GuardDutyFeatures;

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
        }
    }

    fn live(enabled: bool, features: &[(&str, bool)]) -> Detector {
        Detector {
            id: "d1".into(),
            enabled,
            frequency: Some("SIX_HOURS".into()),
            features: features.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
        }
    }

    const ALL_AS_SHIPPED: &[(&str, bool)] = &[
        ("S3_DATA_EVENTS", true),
        ("EKS_AUDIT_LOGS", true),
        ("EBS_MALWARE_PROTECTION", true),
        ("RDS_LOGIN_EVENTS", true),
        ("LAMBDA_NETWORK_LOGS", true),
        ("RUNTIME_MONITORING", false),
    ];

    #[test]
    fn no_detector_is_created_with_the_features() {
        let p = plan(&shipped(), &None, "eu-west-1");
        assert_eq!(p[0].address, "guardduty.detector[\"eu-west-1\"]");
        assert_eq!(p[0].action, Action::Create);
        let Some(Op::Create {
            frequency,
            features,
        }) = &p[0].op
        else {
            panic!("{:?}", p[0].op)
        };
        assert_eq!(*frequency, FindingFrequency::SixHours);
        assert_eq!(features.len(), 6);
        assert!(!features["RUNTIME_MONITORING"]);
    }

    #[test]
    fn a_suspended_detector_is_re_enabled() {
        let p = plan(&shipped(), &Some(live(false, ALL_AS_SHIPPED)), "eu-west-1");
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(p[0].before.as_ref().unwrap()["status"], "DISABLED");
        assert_eq!(p[0].after.as_ref().unwrap()["status"], "ENABLED");
        assert_eq!(
            p[0].op,
            Some(Op::Update {
                detector_id: "d1".into(),
                frequency: None,
                features: BTreeMap::new()
            })
        );
    }

    #[test]
    fn a_compliant_detector_is_adopted() {
        let p = plan(&shipped(), &Some(live(true, ALL_AS_SHIPPED)), "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp);
    }

    #[test]
    fn a_feature_left_out_is_never_disabled() {
        let mut desired = shipped();
        desired.features.runtime_monitoring = None;
        let mut features = ALL_AS_SHIPPED.to_vec();
        features[5] = ("RUNTIME_MONITORING", true);
        let p = plan(&desired, &Some(live(true, &features)), "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp);
    }

    #[test]
    fn an_explicit_false_disables_and_keeps_the_rest() {
        let mut features = ALL_AS_SHIPPED.to_vec();
        features[5] = ("RUNTIME_MONITORING", true);
        features.push(("EKS_RUNTIME_MONITORING", true));
        let p = plan(&shipped(), &Some(live(true, &features)), "eu-west-1");
        assert_eq!(p[0].action, Action::Update);
        let Some(Op::Update { features: sent, .. }) = &p[0].op else {
            panic!()
        };
        assert!(!sent["RUNTIME_MONITORING"]);
        assert!(
            sent["EKS_RUNTIME_MONITORING"],
            "an unmanaged feature was dropped"
        );
        assert_eq!(sent.len(), 7);
    }

    #[test]
    fn a_more_frequent_live_publishing_is_kept() {
        let mut d = live(true, ALL_AS_SHIPPED);
        d.frequency = Some("FIFTEEN_MINUTES".into());
        let p = plan(&shipped(), &Some(d), "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp);
        assert!(
            p[0].reason
                .as_deref()
                .unwrap()
                .contains("FIFTEEN_MINUTES is more frequent")
        );
        let mut d = live(true, ALL_AS_SHIPPED);
        d.frequency = Some("ONE_HOUR".into());
        let mut desired = shipped();
        desired.finding_publishing_frequency = Some(FindingFrequency::FifteenMinutes);
        let p = plan(&desired, &Some(d), "eu-west-1");
        assert_eq!(p[0].action, Action::Update);
    }
}
