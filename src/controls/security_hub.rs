//! Security Hub: subscribed in every target region without AWS's implicit default
//! standards, consolidated control findings and auto-enabled controls on, then the
//! standards the baseline lists (the newest version of each that the region offers).
//! A standard enabled by someone else is reported and left alone unless the baseline
//! says `disable_unlisted_standards = true`.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_securityhub::operation::describe_hub::DescribeHubError;
use aws_sdk_securityhub::types::{ControlFindingGenerator, StandardsSubscriptionRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

pub struct SecurityHub;

/// `BatchEnableStandards` allows one request per second per region.
pub const BATCH_ENABLE_INTERVAL: Duration = Duration::from_secs(1);
/// How often a throttled `BatchEnableStandards` is tried again (after the SDK's own retries).
const BATCH_ENABLE_TRIES: u32 = 4;

const CONSOLIDATED: &str = "SECURITY_CONTROL";

/// Security Hub in every target region, with the listed standards.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityHubConfig {
    pub enabled: bool,
    /// Short names; each is enabled. Others already enabled are reported and left alone,
    /// unless `disable_unlisted_standards`.
    #[serde(default = "default_standards")]
    pub standards: Vec<StandardName>,
    #[serde(default)]
    pub disable_unlisted_standards: bool,
    /// Controls AWS adds to an enabled standard are enabled too. `false`: left as it is.
    #[serde(default = "crate::baseline::yes")]
    pub auto_enable_controls: bool,
    /// One finding per control across standards. `false`: left as it is.
    #[serde(default = "crate::baseline::yes")]
    pub consolidated_control_findings: bool,
}

fn default_standards() -> Vec<StandardName> {
    vec![StandardName::Fsbp, StandardName::Cis]
}

/// A Security Hub standard by short name; the newest version the API offers is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum StandardName {
    #[serde(rename = "fsbp")]
    Fsbp,
    #[serde(rename = "cis")]
    Cis,
    #[serde(rename = "nist-800-53")]
    Nist80053,
    #[serde(rename = "pci-dss")]
    PciDss,
}

impl StandardName {
    pub const ALL: [StandardName; 4] = [Self::Fsbp, Self::Cis, Self::Nist80053, Self::PciDss];

    pub fn as_str(self) -> &'static str {
        match self {
            StandardName::Fsbp => "fsbp",
            StandardName::Cis => "cis",
            StandardName::Nist80053 => "nist-800-53",
            StandardName::PciDss => "pci-dss",
        }
    }

    /// The name of the standard in its ARN: `…:standards/<slug>/v/<version>` (CIS 1.2.0
    /// is the older form `…:ruleset/<slug>/v/1.2.0`).
    pub fn slug(self) -> &'static str {
        match self {
            StandardName::Fsbp => "aws-foundational-security-best-practices",
            StandardName::Cis => "cis-aws-foundations-benchmark",
            StandardName::Nist80053 => "nist-800-53",
            StandardName::PciDss => "pci-dss",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    pub auto_enable_controls: bool,
    pub control_finding_generator: String,
}

/// An enabled standard: its ARN, the subscription's ARN and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub standard_arn: String,
    pub subscription_arn: String,
    pub status: String,
}

impl Subscription {
    fn enabled(&self) -> bool {
        matches!(self.status.as_str(), "READY" | "PENDING" | "INCOMPLETE")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    /// None: the account is not subscribed in this region.
    pub hub: Option<Hub>,
    pub subscriptions: Vec<Subscription>,
    /// The standards ARNs this region offers; None when they could not be read yet (the
    /// hub is off), in which case they are resolved right before enabling.
    pub catalog: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    EnableHub,
    UpdateHub {
        auto_enable_controls: Option<bool>,
        consolidated_control_findings: bool,
    },
    Standards {
        /// The names to enable; `enable` holds their ARNs when the plan knew them.
        names: Vec<StandardName>,
        enable: Vec<String>,
        /// Subscription ARNs to disable.
        disable: Vec<String>,
    },
}

impl Control for SecurityHub {
    const NAME: &'static str = "security_hub";
    const SCOPE: Scope = Scope::Regional;
    type Desired = SecurityHubConfig;
    type Observed = Observed;
    type Op = Op;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write(
                "ThreatDetection",
                &[
                    "securityhub:EnableSecurityHub",
                    "securityhub:UpdateSecurityHubConfiguration",
                    "securityhub:BatchEnableStandards",
                    "securityhub:BatchDisableStandards",
                ],
            )
            .and_read(&[
                "securityhub:DescribeHub",
                "securityhub:DescribeStandards",
                "securityhub:GetEnabledStandards",
            ]),
            Grant::write(
                "ServiceLinkedRolesOfTheServicesItEnables",
                &["iam:CreateServiceLinkedRole"],
            )
            .on([arns.iam("role/aws-service-role/*")])
            .when(json!({"StringEquals": {"iam:AWSServiceName": ["securityhub.amazonaws.com"]}})),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<SecurityHubConfig> {
        baseline.security_hub.clone().filter(|s| s.enabled)
    }

    async fn observe(
        target: &Target,
        desired: &SecurityHubConfig,
    ) -> Result<Observed, TargetError> {
        observe_with(&target.security_hub(), desired)
            .await
            .map_err(TargetError::from)
    }

    fn plan(desired: &SecurityHubConfig, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
        plan(desired, observed, region)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        apply_with(&target.security_hub(), op, BATCH_ENABLE_INTERVAL)
            .await
            .map_err(TargetError::from)
    }
}

fn manages_standards(desired: &SecurityHubConfig) -> bool {
    !desired.standards.is_empty() || desired.disable_unlisted_standards
}

pub async fn observe_with(
    client: &aws_sdk_securityhub::Client,
    desired: &SecurityHubConfig,
) -> Result<Observed, AwsError> {
    let standards = manages_standards(desired);
    let (hub, catalog) = tokio::join!(client.describe_hub().send(), async {
        if standards {
            Some(catalog(client).await)
        } else {
            None
        }
    });
    let hub = match hub {
        Ok(h) => Hub {
            auto_enable_controls: h.auto_enable_controls().unwrap_or(false),
            control_finding_generator: h
                .control_finding_generator()
                .map(|g| g.as_str().to_owned())
                .unwrap_or_default(),
        },
        Err(e) if e.as_service_error().is_some_and(not_subscribed) => {
            return Ok(Observed {
                hub: None,
                subscriptions: Vec::new(),
                // Without a subscription the catalog may be refused: resolve it later.
                catalog: catalog.and_then(Result::ok),
            });
        }
        Err(e) => return Err(aws_err("securityhub:DescribeHub")(e)),
    };
    if !standards {
        return Ok(Observed {
            hub: Some(hub),
            ..Observed::default()
        });
    }
    let catalog = catalog.transpose()?;
    let subscriptions = client
        .get_enabled_standards()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws_err("securityhub:GetEnabledStandards"))?
        .into_iter()
        .map(|s| Subscription {
            standard_arn: s.standards_arn().unwrap_or_default().to_owned(),
            subscription_arn: s
                .standards_subscription_arn()
                .unwrap_or_default()
                .to_owned(),
            status: s
                .standards_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        })
        .collect();
    Ok(Observed {
        hub: Some(hub),
        subscriptions,
        catalog,
    })
}

/// Security Hub answers `InvalidAccessException` "… is not subscribed to AWS Security Hub"
/// (HTTP 401) when it is off; other `InvalidAccessException`s are real refusals.
fn not_subscribed(e: &DescribeHubError) -> bool {
    match e {
        DescribeHubError::ResourceNotFoundException(_) => true,
        DescribeHubError::InvalidAccessException(e) => {
            e.message().is_some_and(|m| m.contains("not subscribed"))
        }
        _ => false,
    }
}

async fn catalog(client: &aws_sdk_securityhub::Client) -> Result<Vec<String>, AwsError> {
    let standards = client
        .describe_standards()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws_err("securityhub:DescribeStandards"))?;
    Ok(standards
        .iter()
        .filter_map(|s| s.standards_arn().map(str::to_owned))
        .collect())
}

/// The version in a standard's ARN (`…/v/1.4.0`), as numbers for ordering.
fn version(arn: &str) -> Vec<u32> {
    arn.rsplit_once("/v/")
        .map(|(_, v)| v.split('.').filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// The newest version of a standard the catalog offers.
pub fn resolve(name: StandardName, catalog: &[String]) -> Option<&str> {
    let marker = format!("/{}/v/", name.slug());
    catalog
        .iter()
        .filter(|arn| arn.contains(&marker))
        .max_by_key(|arn| version(arn))
        .map(String::as_str)
}

/// `cis 3.0.0` for a known standard, the ARN otherwise.
pub fn label(arn: &str) -> String {
    let known = StandardName::ALL
        .into_iter()
        .find(|n| arn.contains(&format!("/{}/v/", n.slug())));
    match (known, arn.rsplit_once("/v/")) {
        (Some(n), Some((_, v))) => format!("{} {v}", n.as_str()),
        _ => arn.to_owned(),
    }
}

fn hub_settings(desired: &SecurityHubConfig, hub: &Hub) -> Value {
    let mut v = json!({});
    if desired.auto_enable_controls {
        v["auto_enable_controls"] = json!(hub.auto_enable_controls);
    }
    if desired.consolidated_control_findings {
        v["control_finding_generator"] = json!(hub.control_finding_generator);
    }
    v
}

pub fn plan(desired: &SecurityHubConfig, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
    let mut out = Vec::new();
    let hub_address = format!("security_hub.hub[\"{region}\"]");
    match &observed.hub {
        None => out.push(
            Proposal::new(hub_address, Action::Create)
                .after(json!({
                    "enable_default_standards": false,
                    "control_finding_generator": CONSOLIDATED,
                    "auto_enable_controls": true,
                }))
                .op(Op::EnableHub),
        ),
        Some(hub) => {
            let wanted = Hub {
                auto_enable_controls: hub.auto_enable_controls || desired.auto_enable_controls,
                control_finding_generator: if desired.consolidated_control_findings {
                    CONSOLIDATED.to_owned()
                } else {
                    hub.control_finding_generator.clone()
                },
            };
            if &wanted == hub {
                out.push(Proposal::new(hub_address, Action::NoOp));
            } else {
                out.push(
                    Proposal::new(hub_address, Action::Update)
                        .before(hub_settings(desired, hub))
                        .after(hub_settings(desired, &wanted))
                        .op(Op::UpdateHub {
                            auto_enable_controls: (!hub.auto_enable_controls
                                && desired.auto_enable_controls)
                                .then_some(true),
                            consolidated_control_findings: desired.consolidated_control_findings,
                        }),
                );
            }
        }
    }
    if manages_standards(desired) {
        out.push(plan_standards(desired, observed, region));
    }
    out
}

fn plan_standards(desired: &SecurityHubConfig, observed: &Observed, region: &str) -> Proposal<Op> {
    let address = format!("security_hub.standards[\"{region}\"]");
    let live: Vec<&Subscription> = observed
        .subscriptions
        .iter()
        .filter(|s| s.enabled())
        .collect();
    let live_labels: Vec<String> = live.iter().map(|s| label(&s.standard_arn)).collect();

    // Each listed name → its newest ARN (None: the catalog is not known yet).
    let wanted: Vec<(StandardName, Option<&str>)> = desired
        .standards
        .iter()
        .map(|&n| (n, observed.catalog.as_deref().and_then(|c| resolve(n, c))))
        .collect();
    if let Some((name, _)) = wanted
        .iter()
        .find(|(_, arn)| arn.is_none() && observed.catalog.is_some())
    {
        return Proposal::new(address, Action::Skipped).reason(format!(
            "the standard {:?} is not offered in this region",
            name.as_str()
        ));
    }
    let missing: Vec<&(StandardName, Option<&str>)> = wanted
        .iter()
        .filter(|(_, arn)| arn.is_none_or(|a| !live.iter().any(|s| s.standard_arn == a)))
        .collect();
    let unlisted: Vec<&&Subscription> = live
        .iter()
        .filter(|s| {
            !wanted
                .iter()
                .any(|(_, a)| *a == Some(s.standard_arn.as_str()))
        })
        .collect();

    let disable: Vec<String> = if desired.disable_unlisted_standards {
        unlisted
            .iter()
            .map(|s| s.subscription_arn.clone())
            .collect()
    } else {
        Vec::new()
    };
    if missing.is_empty() && disable.is_empty() {
        let p = Proposal::new(address, Action::NoOp).before(json!({ "enabled": live_labels }));
        return if unlisted.is_empty() {
            p
        } else {
            p.reason(format!(
                "enabled but not in the baseline, left alone: {}",
                unlisted
                    .iter()
                    .map(|s| label(&s.standard_arn))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
    }
    let mut after: Vec<String> = live_labels
        .iter()
        .zip(&live)
        .filter(|(_, s)| !disable.contains(&s.subscription_arn))
        .map(|(l, _)| l.clone())
        .collect();
    after.extend(missing.iter().map(|(n, arn)| match arn {
        Some(a) => label(a),
        None => format!("{} (newest version)", n.as_str()),
    }));
    let action = if observed.hub.is_none() {
        Action::Create
    } else {
        Action::Update
    };
    let mut p = Proposal::new(address, action)
        .before(json!({ "enabled": live_labels }))
        .after(json!({ "enabled": after }))
        .op(Op::Standards {
            names: missing.iter().map(|(n, _)| *n).collect(),
            enable: missing
                .iter()
                .filter_map(|(_, a)| a.map(str::to_owned))
                .collect(),
            disable,
        });
    if !unlisted.is_empty() && !desired.disable_unlisted_standards {
        p = p.reason(format!(
            "enabled but not in the baseline, left alone: {}",
            unlisted
                .iter()
                .map(|s| label(&s.standard_arn))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    p
}

pub async fn apply_with(
    client: &aws_sdk_securityhub::Client,
    op: &Op,
    interval: Duration,
) -> Result<Applied, AwsError> {
    match op {
        Op::EnableHub => match client
            .enable_security_hub()
            .enable_default_standards(false)
            .control_finding_generator(ControlFindingGenerator::SecurityControl)
            .send()
            .await
        {
            Ok(_) => Ok(Applied::Done),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_conflict_exception()) =>
            {
                Ok(Applied::AlreadyDone)
            }
            Err(e) => Err(aws_err("securityhub:EnableSecurityHub")(e)),
        },
        Op::UpdateHub {
            auto_enable_controls,
            consolidated_control_findings,
        } => {
            let mut req = client
                .update_security_hub_configuration()
                .set_auto_enable_controls(*auto_enable_controls);
            if *consolidated_control_findings {
                req = req.control_finding_generator(ControlFindingGenerator::SecurityControl);
            }
            req.send()
                .await
                .map_err(aws_err("securityhub:UpdateSecurityHubConfiguration"))?;
            Ok(Applied::Done)
        }
        Op::Standards {
            names,
            enable,
            disable,
        } => {
            let mut arns = enable.clone();
            if arns.len() < names.len() {
                // The hub was off at plan time: the catalog is readable now.
                let catalog = catalog(client).await?;
                arns = names
                    .iter()
                    .map(|&n| {
                        resolve(n, &catalog).map(str::to_owned).ok_or_else(|| {
                            AwsError::invalid_response(
                                "securityhub:DescribeStandards",
                                format!("the standard {:?} is not offered here", n.as_str()),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            if !arns.is_empty() {
                batch_enable(client, &arns, interval).await?;
            }
            if !disable.is_empty() {
                client
                    .batch_disable_standards()
                    .set_standards_subscription_arns(Some(disable.clone()))
                    .send()
                    .await
                    .map_err(aws_err("securityhub:BatchDisableStandards"))?;
            }
            Ok(Applied::Done)
        }
    }
}

/// One request for every standard of the region; throttled requests wait the API's
/// one-second interval before they are tried again.
async fn batch_enable(
    client: &aws_sdk_securityhub::Client,
    arns: &[String],
    interval: Duration,
) -> Result<(), AwsError> {
    let requests: Vec<StandardsSubscriptionRequest> = arns
        .iter()
        .map(|arn| {
            StandardsSubscriptionRequest::builder()
                .standards_arn(arn)
                .build()
        })
        .collect();
    let mut tries = 0;
    loop {
        tries += 1;
        match client
            .batch_enable_standards()
            .set_standards_subscription_requests(Some(requests.clone()))
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e)
                if tries < BATCH_ENABLE_TRIES
                    && e.as_service_error()
                        .is_some_and(|s| s.is_limit_exceeded_exception()) =>
            {
                tracing::debug!(tries, "BatchEnableStandards throttled; waiting");
                tokio::time::sleep(interval).await;
            }
            Err(e) => return Err(aws_err("securityhub:BatchEnableStandards")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_securityhub::operation::{
        batch_enable_standards::{BatchEnableStandardsError, BatchEnableStandardsOutput},
        describe_hub::DescribeHubOutput,
        describe_standards::DescribeStandardsOutput,
        enable_security_hub::EnableSecurityHubOutput,
        get_enabled_standards::GetEnabledStandardsOutput,
    };
    use aws_sdk_securityhub::types::{
        Standard, StandardsStatus, StandardsSubscription,
        error::{InvalidAccessException, LimitExceededException},
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const FSBP: &str =
        "arn:aws:securityhub:eu-west-1::standards/aws-foundational-security-best-practices/v/1.0.0";
    const CIS12: &str = "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0";
    const CIS14: &str =
        "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/1.4.0";
    const CIS30: &str =
        "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/3.0.0";
    const NIST: &str = "arn:aws:securityhub:eu-west-1::standards/nist-800-53/v/5.0.0";

    fn catalog() -> Vec<String> {
        [FSBP, CIS12, CIS14, CIS30, NIST].map(String::from).to_vec()
    }

    fn desired() -> SecurityHubConfig {
        SecurityHubConfig {
            enabled: true,
            standards: vec![StandardName::Fsbp, StandardName::Cis],
            disable_unlisted_standards: false,
            auto_enable_controls: true,
            consolidated_control_findings: true,
        }
    }

    fn hub() -> Hub {
        Hub {
            auto_enable_controls: true,
            control_finding_generator: CONSOLIDATED.into(),
        }
    }

    fn sub(arn: &str) -> Subscription {
        Subscription {
            standard_arn: arn.into(),
            subscription_arn: format!("{arn}/subscription"),
            status: "READY".into(),
        }
    }

    #[test]
    fn the_newest_version_is_chosen() {
        assert_eq!(resolve(StandardName::Cis, &catalog()), Some(CIS30));
        assert_eq!(resolve(StandardName::Fsbp, &catalog()), Some(FSBP));
        assert_eq!(resolve(StandardName::PciDss, &catalog()), None);
        assert_eq!(label(CIS12), "cis 1.2.0");
        assert_eq!(
            label("arn:aws:securityhub:::other/x"),
            "arn:aws:securityhub:::other/x"
        );
    }

    #[test]
    fn a_fresh_region_gets_the_hub_then_the_standards() {
        let observed = Observed {
            hub: None,
            subscriptions: vec![],
            catalog: None,
        };
        let p = plan(&desired(), &observed, "eu-west-1");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].op, Some(Op::EnableHub));
        assert_eq!(p[1].action, Action::Create);
        assert_eq!(
            p[1].op,
            Some(Op::Standards {
                names: vec![StandardName::Fsbp, StandardName::Cis],
                enable: vec![],
                disable: vec![],
            })
        );
        assert_eq!(
            p[1].after,
            Some(json!({"enabled": ["fsbp (newest version)", "cis (newest version)"]}))
        );
        // The apply order within the region is by address: the hub comes first.
        assert!(p[0].address < p[1].address);
    }

    #[test]
    fn an_adopted_hub_with_its_standards_is_left_alone() {
        let observed = Observed {
            hub: Some(hub()),
            subscriptions: vec![sub(FSBP), sub(CIS30)],
            catalog: Some(catalog()),
        };
        let p = plan(&desired(), &observed, "eu-west-1");
        assert!(p.iter().all(|p| p.action == Action::NoOp && p.op.is_none()));
    }

    #[test]
    fn an_unlisted_standard_is_reported_and_kept_unless_asked() {
        let observed = Observed {
            hub: Some(hub()),
            subscriptions: vec![sub(FSBP), sub(CIS14)],
            catalog: Some(catalog()),
        };
        let p = plan(&desired(), &observed, "eu-west-1");
        assert_eq!(p[1].action, Action::Update);
        assert_eq!(
            p[1].op,
            Some(Op::Standards {
                names: vec![StandardName::Cis],
                enable: vec![CIS30.into()],
                disable: vec![],
            })
        );
        assert_eq!(
            p[1].reason.as_deref(),
            Some("enabled but not in the baseline, left alone: cis 1.4.0")
        );
        assert_eq!(
            p[1].after,
            Some(json!({"enabled": ["fsbp 1.0.0", "cis 1.4.0", "cis 3.0.0"]}))
        );

        let strict = SecurityHubConfig {
            disable_unlisted_standards: true,
            ..desired()
        };
        let p = plan(&strict, &observed, "eu-west-1");
        assert_eq!(
            p[1].op,
            Some(Op::Standards {
                names: vec![StandardName::Cis],
                enable: vec![CIS30.into()],
                disable: vec![format!("{CIS14}/subscription")],
            })
        );
        assert_eq!(
            p[1].after,
            Some(json!({"enabled": ["fsbp 1.0.0", "cis 3.0.0"]}))
        );
    }

    #[test]
    fn a_failed_subscription_does_not_count() {
        let mut failed = sub(FSBP);
        failed.status = "FAILED".into();
        let observed = Observed {
            hub: Some(hub()),
            subscriptions: vec![failed, sub(CIS30)],
            catalog: Some(catalog()),
        };
        let p = plan(&desired(), &observed, "eu-west-1");
        assert_eq!(
            p[1].op,
            Some(Op::Standards {
                names: vec![StandardName::Fsbp],
                enable: vec![FSBP.into()],
                disable: vec![],
            })
        );
    }

    #[test]
    fn hub_settings_are_tightened_and_never_loosened() {
        let loose = Hub {
            auto_enable_controls: false,
            control_finding_generator: "STANDARD_CONTROL".into(),
        };
        let observed = Observed {
            hub: Some(loose.clone()),
            ..Observed::default()
        };
        let only_hub = SecurityHubConfig {
            standards: vec![],
            ..desired()
        };
        let p = plan(&only_hub, &observed, "eu-west-1");
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].op,
            Some(Op::UpdateHub {
                auto_enable_controls: Some(true),
                consolidated_control_findings: true
            })
        );
        assert_eq!(
            p[0].before,
            Some(
                json!({"auto_enable_controls": false, "control_finding_generator": "STANDARD_CONTROL"})
            )
        );
        // Turned off in the baseline: the live value stays, whatever it is.
        let hands_off = SecurityHubConfig {
            auto_enable_controls: false,
            consolidated_control_findings: false,
            ..only_hub
        };
        assert_eq!(
            plan(&hands_off, &observed, "eu-west-1")[0].action,
            Action::NoOp
        );
    }

    #[test]
    fn a_standard_the_region_lacks_is_skipped() {
        let observed = Observed {
            hub: Some(hub()),
            subscriptions: vec![],
            catalog: Some(vec![FSBP.into()]),
        };
        let p = plan(&desired(), &observed, "eu-west-1");
        assert_eq!(p[1].action, Action::Skipped);
        assert!(p[1].reason.as_deref().unwrap().contains("\"cis\""));
    }

    fn standard(arn: &str) -> Standard {
        Standard::builder().standards_arn(arn).build()
    }

    fn subscription(arn: &str) -> StandardsSubscription {
        StandardsSubscription::builder()
            .standards_arn(arn)
            .standards_subscription_arn(format!("{arn}/subscription"))
            .standards_status(StandardsStatus::Ready)
            .build()
    }

    fn describe_standards() -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_securityhub::Client::describe_standards).then_output(|| {
            DescribeStandardsOutput::builder()
                .set_standards(Some(catalog().iter().map(|a| standard(a)).collect()))
                .build()
        })
    }

    // The emulator lacks the standards calls: they are mocked with the real shapes.
    #[tokio::test]
    async fn an_adopted_hub_and_standards_cause_no_write() {
        let hub = mock!(aws_sdk_securityhub::Client::describe_hub).then_output(|| {
            DescribeHubOutput::builder()
                .hub_arn("arn:aws:securityhub:eu-west-1:123456789012:hub/default")
                .auto_enable_controls(true)
                .control_finding_generator(ControlFindingGenerator::SecurityControl)
                .build()
        });
        let catalog = describe_standards();
        let enabled = mock!(aws_sdk_securityhub::Client::get_enabled_standards).then_output(|| {
            GetEnabledStandardsOutput::builder()
                .standards_subscriptions(subscription(FSBP))
                .standards_subscriptions(subscription(CIS30))
                .build()
        });
        let enable = mock!(aws_sdk_securityhub::Client::batch_enable_standards)
            .then_output(|| BatchEnableStandardsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_securityhub,
            RuleMode::MatchAny,
            [&hub, &catalog, &enabled, &enable]
        );
        let observed = observe_with(&client, &desired()).await.unwrap();
        assert_eq!(observed.subscriptions.len(), 2);
        let p = plan(&desired(), &observed, "eu-west-1");
        assert!(p.iter().all(|p| p.op.is_none()), "{p:?}");
        assert_eq!(enable.num_calls(), 0);
        assert_eq!(
            (hub.num_calls(), catalog.num_calls(), enabled.num_calls()),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn a_fresh_region_is_enabled_then_its_standards_in_one_request() {
        let off = mock!(aws_sdk_securityhub::Client::describe_hub).then_error(|| {
            DescribeHubError::InvalidAccessException(
                InvalidAccessException::builder()
                    .code("InvalidAccessException")
                    .message("Account 123456789012 is not subscribed to AWS Security Hub")
                    .build(),
            )
        });
        // Real Security Hub may refuse the catalog before subscribing, too.
        let refused = mock!(aws_sdk_securityhub::Client::describe_standards).then_error(|| {
            aws_sdk_securityhub::operation::describe_standards::DescribeStandardsError::InvalidAccessException(
                InvalidAccessException::builder()
                    .message("Account 123456789012 is not subscribed to AWS Security Hub")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&off, &refused]);
        let observed = observe_with(&client, &desired()).await.unwrap();
        assert_eq!(observed, Observed::default());
        let proposals = plan(&desired(), &observed, "eu-west-1");

        let enable_hub = mock!(aws_sdk_securityhub::Client::enable_security_hub)
            .match_requests(|r| {
                r.enable_default_standards() == Some(false)
                    && r.control_finding_generator()
                        == Some(&ControlFindingGenerator::SecurityControl)
            })
            .then_output(|| EnableSecurityHubOutput::builder().build());
        let catalog = describe_standards();
        let throttled =
            mock!(aws_sdk_securityhub::Client::batch_enable_standards).then_error(|| {
                BatchEnableStandardsError::LimitExceededException(
                    LimitExceededException::builder()
                        .code("LimitExceededException")
                        .message("Rate exceeded")
                        .build(),
                )
            });
        let enable = mock!(aws_sdk_securityhub::Client::batch_enable_standards)
            .match_requests(|r| {
                let arns: Vec<_> = r
                    .standards_subscription_requests()
                    .iter()
                    .map(|s| s.standards_arn())
                    .collect();
                arns == [Some(FSBP), Some(CIS30)]
            })
            .then_output(|| BatchEnableStandardsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_securityhub,
            RuleMode::Sequential,
            [&enable_hub, &catalog, &throttled, &enable]
        );
        for p in &proposals {
            let op = p.op.as_ref().unwrap();
            let applied = apply_with(&client, op, Duration::from_millis(5)).await;
            assert_eq!(applied.unwrap(), Applied::Done);
        }
        assert_eq!(
            (
                enable_hub.num_calls(),
                catalog.num_calls(),
                throttled.num_calls(),
                enable.num_calls()
            ),
            (1, 1, 1, 1)
        );
    }

    #[tokio::test]
    async fn a_refusal_other_than_not_subscribed_is_an_error() {
        let denied = mock!(aws_sdk_securityhub::Client::describe_hub).then_error(|| {
            DescribeHubError::InvalidAccessException(
                InvalidAccessException::builder()
                    .message("The account is suspended")
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("InvalidAccessException")
                            .message("The account is suspended")
                            .build(),
                    )
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_securityhub, [&denied]);
        let only_hub = SecurityHubConfig {
            standards: vec![],
            ..desired()
        };
        let err = observe_with(&client, &only_hub).await.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("InvalidAccessException"));
    }
}
