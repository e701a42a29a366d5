//! The organization configuration of each security service, set by the delegated
//! administrator (`organization.delegated_admin`) in every target region: GuardDuty
//! enables itself and the baseline's protection plans in every member
//! (`AutoEnableOrganizationMembers = ALL`), Security Hub, Detective and Inspector
//! auto-enable new members. Nothing is loosened: a setting already on stays on, and a
//! Security Hub organization under central configuration is left to its policies.
//!
//! On an organization's first run the account is not yet the administrator when it is
//! observed (the management account designates it in the same run, and this account's
//! apply waits for that): the service's answer is then read as "nothing configured yet".

use super::{Applied, Control, Proposal, Scope, Seat, Target};
use crate::baseline::Baseline;
use crate::error::{AwsError, ErrorKind, TargetError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use serde_json::{Value, json};

pub struct OrgConfiguration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// GuardDuty: the protection plans the baseline turns on (API names).
    pub guardduty: Option<Vec<&'static str>>,
    pub security_hub: bool,
    pub detective: bool,
    /// Inspector: ec2, ecr, lambda.
    pub inspector: Option<[bool; 3]>,
}

/// One service's organization configuration as read here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<T> {
    Read(T),
    /// The account is not (yet) the service's administrator here, or has no detector or
    /// graph yet: nothing is configured.
    NotYet(String),
    /// The service does not exist in this region.
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuardDutyOrg {
    pub members: Option<String>,
    /// Each feature's AutoEnable (NEW, ALL, NONE).
    pub features: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityHubOrg {
    pub auto_enable: bool,
    pub auto_enable_standards: Option<String>,
    pub central: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub guardduty: Option<Seen<GuardDutyOrg>>,
    pub security_hub: Option<Seen<SecurityHubOrg>>,
    pub detective: Option<Seen<bool>>,
    /// ec2, ecr, lambda, lambdaCode.
    pub inspector: Option<Seen<[bool; 4]>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    GuardDuty { features: Vec<String> },
    SecurityHub { auto_enable_standards: String },
    Detective,
    Inspector { auto_enable: [bool; 4] },
}

fn address(service: &str, region: &str) -> String {
    format!("organization.configuration.{service}[\"{region}\"]")
}

fn not_yet_reason(why: &str) -> String {
    format!(
        "{why}: the management account designates this account and its own settings come first in this run"
    )
}

impl Control for OrgConfiguration {
    const NAME: &'static str = "organization_configuration";
    const SCOPE: Scope = Scope::Regional;
    const SEAT: Seat = Seat::DelegatedAdmin;
    /// The administrator's own detector and graph first (the configuration names them).
    const AFTER: &'static [&'static str] = &["guardduty", "security_hub", "detective", "inspector"];
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn permissions(desired: &Desired, _arns: &Arns) -> Vec<Grant> {
        let mut writes = Vec::new();
        let mut reads = Vec::new();
        if desired.guardduty.is_some() {
            writes.push("guardduty:UpdateOrganizationConfiguration");
            reads.extend([
                "guardduty:ListDetectors",
                "guardduty:DescribeOrganizationConfiguration",
            ]);
        }
        if desired.security_hub {
            writes.push("securityhub:UpdateOrganizationConfiguration");
            reads.push("securityhub:DescribeOrganizationConfiguration");
        }
        if desired.detective {
            writes.push("detective:UpdateOrganizationConfiguration");
            reads.extend([
                "detective:ListGraphs",
                "detective:DescribeOrganizationConfiguration",
            ]);
        }
        if desired.inspector.is_some() {
            writes.push("inspector2:UpdateOrganizationConfiguration");
            reads.push("inspector2:DescribeOrganizationConfiguration");
        }
        // The services read the organization to find its members.
        reads.extend([
            "organizations:DescribeOrganization",
            "organizations:ListAccounts",
        ]);
        vec![Grant::write("OrganizationConfiguration", &writes).and_read(&reads)]
    }

    fn desired(b: &Baseline) -> Option<Desired> {
        use super::{detective, guardduty, inspector, security_hub};
        b.organization
            .as_ref()
            .filter(|o| o.enabled)?
            .delegated_admin
            .as_ref()?;
        let desired = Desired {
            guardduty: guardduty::GuardDuty::desired(b).map(|g| {
                g.features
                    .by_api_name()
                    .into_iter()
                    .filter(|(_, on)| *on == Some(true))
                    .map(|(name, _)| name)
                    .collect()
            }),
            security_hub: security_hub::SecurityHub::desired(b).is_some(),
            detective: detective::Detective::desired(b).is_some(),
            inspector: inspector::Inspector::desired(b).map(|i| [i.ec2, i.ecr, i.lambda]),
        };
        let any = desired.guardduty.is_some()
            || desired.security_hub
            || desired.detective
            || desired.inspector.is_some();
        any.then_some(desired)
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        let c = Clients::of(target);
        Ok(c.observe(desired).await?)
    }

    fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Op>> {
        let mut out = Vec::new();
        if let (Some(features), Some(seen)) = (&desired.guardduty, &observed.guardduty) {
            out.push(plan_guardduty(features, seen, region));
        }
        if let (true, Some(seen)) = (desired.security_hub, &observed.security_hub) {
            out.push(plan_security_hub(seen, region));
        }
        if let (true, Some(seen)) = (desired.detective, &observed.detective) {
            let address = address("detective", region);
            out.push(match seen {
                Seen::Unavailable(why) => skipped(address, why),
                Seen::Read(true) => on(address, json!({ "auto_enable": true })),
                Seen::Read(false) => Proposal::new(address, Action::Update)
                    .before(json!({ "auto_enable": false }))
                    .after(json!({ "auto_enable": true }))
                    .op(Op::Detective),
                Seen::NotYet(why) => Proposal::new(address, Action::Create)
                    .after(json!({ "auto_enable": true }))
                    .reason(not_yet_reason(why))
                    .op(Op::Detective),
            });
        }
        if let (Some(wanted), Some(seen)) = (desired.inspector, &observed.inspector) {
            let address = address("inspector", region);
            let show = |v: [bool; 4]| json!({ "ec2": v[0], "ecr": v[1], "lambda": v[2], "lambda_code": v[3] });
            out.push(match seen {
                Seen::Unavailable(why) => skipped(address, why),
                Seen::Read(live) => {
                    // Never loosened: what is on stays on.
                    let merged = [
                        live[0] || wanted[0],
                        live[1] || wanted[1],
                        live[2] || wanted[2],
                        live[3],
                    ];
                    if merged == *live {
                        on(address, show(*live))
                    } else {
                        Proposal::new(address, Action::Update)
                            .before(show(*live))
                            .after(show(merged))
                            .op(Op::Inspector {
                                auto_enable: merged,
                            })
                    }
                }
                Seen::NotYet(why) => {
                    let fresh = [wanted[0], wanted[1], wanted[2], false];
                    Proposal::new(address, Action::Create)
                        .after(show(fresh))
                        .reason(not_yet_reason(why))
                        .op(Op::Inspector { auto_enable: fresh })
                }
            });
        }
        out
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        match Clients::of(target).apply(op).await {
            // The designation did not happen (it failed in the management account, or
            // another account is the administrator): a later run makes it.
            Err(TargetError::Aws(e)) if not_admin(&e) => Ok(Applied::Deferred(format!(
                "this account is not the service's delegated administrator here yet ({e})"
            ))),
            other => other,
        }
    }
}

/// The address of `service`'s organization configuration that the management account's
/// `delegated_admin` change at `admin_address` is about (None for services designated
/// through Organizations, which have none).
pub fn configuration_of(admin_address: &str) -> Option<String> {
    let rest = admin_address.strip_prefix("organization.delegated_admin.")?;
    rest.contains('[')
        .then(|| format!("organization.configuration.{rest}"))
}

fn skipped(address: String, why: &str) -> Proposal<Op> {
    Proposal::new(address, Action::Skipped).reason(format!("not available here ({why})"))
}

fn on(address: String, v: Value) -> Proposal<Op> {
    Proposal::new(address, Action::NoOp)
        .before(v.clone())
        .after(v)
}

fn plan_guardduty(
    features: &[&'static str],
    seen: &Seen<GuardDutyOrg>,
    region: &str,
) -> Proposal<Op> {
    let address = address("guardduty", region);
    let wanted = json!({
        "auto_enable_organization_members": "ALL",
        "features_auto_enabled": features,
    });
    match seen {
        Seen::Unavailable(why) => skipped(address, why),
        Seen::NotYet(why) => Proposal::new(address, Action::Create)
            .after(wanted)
            .reason(not_yet_reason(why))
            .op(Op::GuardDuty {
                features: features.iter().map(|f| (*f).to_owned()).collect(),
            }),
        Seen::Read(live) => {
            let all = |name: &str| {
                live.features
                    .iter()
                    .any(|(n, auto)| n == name && auto == "ALL")
            };
            let missing: Vec<String> = features
                .iter()
                .filter(|f| !all(f))
                .map(|f| (*f).to_owned())
                .collect();
            let before = json!({
                "auto_enable_organization_members": live.members.clone().unwrap_or_else(|| "NONE".into()),
                "features_auto_enabled": features.iter().filter(|f| all(f)).collect::<Vec<_>>(),
            });
            if live.members.as_deref() == Some("ALL") && missing.is_empty() {
                on(address, before)
            } else {
                Proposal::new(address, Action::Update)
                    .before(before)
                    .after(wanted)
                    .op(Op::GuardDuty {
                        features: features.iter().map(|f| (*f).to_owned()).collect(),
                    })
            }
        }
    }
}

fn plan_security_hub(seen: &Seen<SecurityHubOrg>, region: &str) -> Proposal<Op> {
    let address = address("security_hub", region);
    match seen {
        Seen::Unavailable(why) => skipped(address, why),
        Seen::NotYet(why) => Proposal::new(address, Action::Create)
            .after(json!({ "auto_enable": true }))
            .reason(not_yet_reason(why))
            .op(Op::SecurityHub {
                auto_enable_standards: "NONE".into(),
            }),
        Seen::Read(live) if live.central => Proposal::new(address, Action::Kept)
            .reason("the organization uses Security Hub central configuration: its configuration policies decide what members get, and baseline leaves them"),
        Seen::Read(live) if live.auto_enable => on(address, json!({ "auto_enable": true })),
        Seen::Read(live) => Proposal::new(address, Action::Update)
            .before(json!({ "auto_enable": false }))
            .after(json!({ "auto_enable": true }))
            .op(Op::SecurityHub {
                // Kept as it is: the baseline's standards are enabled in each member by
                // its own run.
                auto_enable_standards: live
                    .auto_enable_standards
                    .clone()
                    .unwrap_or_else(|| "NONE".into()),
            }),
    }
}

/// An answer that means "this account is not the administrator here (yet)".
fn not_admin(e: &AwsError) -> bool {
    e.kind == ErrorKind::AccessDenied
        || matches!(
            e.code(),
            Some(
                "BadRequestException"
                    | "InvalidAccessException"
                    | "ValidationException"
                    | "ResourceNotFoundException"
            )
        )
}

fn seen<T>(r: Result<T, AwsError>) -> Result<Seen<T>, AwsError> {
    match r {
        Ok(v) => Ok(Seen::Read(v)),
        Err(e) if e.kind == ErrorKind::Unsupported => Ok(Seen::Unavailable(e.to_string())),
        Err(e) if not_admin(&e) => Ok(Seen::NotYet(format!("not readable yet ({e})"))),
        Err(e) => Err(e),
    }
}

pub struct Clients {
    pub guardduty: aws_sdk_guardduty::Client,
    pub security_hub: aws_sdk_securityhub::Client,
    pub detective: aws_sdk_detective::Client,
    pub inspector: aws_sdk_inspector2::Client,
}

impl Clients {
    fn of(target: &Target) -> Clients {
        Clients {
            guardduty: target.guardduty(),
            security_hub: target.security_hub(),
            detective: target.detective(),
            inspector: target.inspector(),
        }
    }

    pub async fn observe(&self, desired: &Desired) -> Result<Observed, AwsError> {
        let guardduty = async {
            if desired.guardduty.is_none() {
                return Ok(None);
            }
            let Some(id) = self.detector().await? else {
                return Ok(Some(Seen::NotYet(
                    "this account has no GuardDuty detector here yet".into(),
                )));
            };
            let read = self
                .guardduty
                .describe_organization_configuration()
                .detector_id(id)
                .send()
                .await
                .map(|o| GuardDutyOrg {
                    members: o
                        .auto_enable_organization_members()
                        .map(|m| m.as_str().to_owned()),
                    features: o
                        .features()
                        .iter()
                        .filter_map(|f| {
                            Some((
                                f.name()?.as_str().to_owned(),
                                f.auto_enable()?.as_str().to_owned(),
                            ))
                        })
                        .collect(),
                })
                .map_err(aws_err("guardduty:DescribeOrganizationConfiguration"));
            seen(read).map(Some)
        };
        let security_hub = async {
            if !desired.security_hub {
                return Ok(None);
            }
            let read = self
                .security_hub
                .describe_organization_configuration()
                .send()
                .await
                .map(|o| SecurityHubOrg {
                    auto_enable: o.auto_enable().unwrap_or(false),
                    auto_enable_standards: o.auto_enable_standards().map(|s| s.as_str().to_owned()),
                    central: o.organization_configuration().is_some_and(|c| {
                        c.configuration_type().map(|t| t.as_str()) == Some("CENTRAL")
                    }),
                })
                .map_err(aws_err("securityhub:DescribeOrganizationConfiguration"));
            seen(read).map(Some)
        };
        let detective = async {
            if !desired.detective {
                return Ok(None);
            }
            let graph = match self.graph().await {
                Ok(Some(g)) => g,
                Ok(None) => {
                    return Ok(Some(Seen::NotYet(
                        "this account has no Detective graph here yet".into(),
                    )));
                }
                Err(e) => return seen::<bool>(Err(e)).map(Some),
            };
            let read = self
                .detective
                .describe_organization_configuration()
                .graph_arn(graph)
                .send()
                .await
                .map(|o| o.auto_enable())
                .map_err(aws_err("detective:DescribeOrganizationConfiguration"));
            seen(read).map(Some)
        };
        let inspector = async {
            if desired.inspector.is_none() {
                return Ok(None);
            }
            let read = self
                .inspector
                .describe_organization_configuration()
                .send()
                .await
                .map(|o| {
                    let a = o.auto_enable();
                    [
                        a.is_some_and(|a| a.ec2()),
                        a.is_some_and(|a| a.ecr()),
                        a.and_then(|a| a.lambda()).unwrap_or(false),
                        a.and_then(|a| a.lambda_code()).unwrap_or(false),
                    ]
                })
                .map_err(aws_err("inspector2:DescribeOrganizationConfiguration"));
            seen(read).map(Some)
        };
        let (guardduty, security_hub, detective, inspector) =
            tokio::join!(guardduty, security_hub, detective, inspector);
        Ok(Observed {
            guardduty: guardduty?,
            security_hub: security_hub?,
            detective: detective?,
            inspector: inspector?,
        })
    }

    async fn detector(&self) -> Result<Option<String>, AwsError> {
        let listed = self
            .guardduty
            .list_detectors()
            .send()
            .await
            .map_err(aws_err("guardduty:ListDetectors"))?;
        Ok(listed.detector_ids().first().cloned())
    }

    async fn graph(&self) -> Result<Option<String>, AwsError> {
        let listed = self
            .detective
            .list_graphs()
            .send()
            .await
            .map_err(aws_err("detective:ListGraphs"))?;
        Ok(listed
            .graph_list()
            .first()
            .and_then(|g| g.arn().map(str::to_owned)))
    }

    pub async fn apply(&self, op: &Op) -> Result<Applied, TargetError> {
        use aws_sdk_guardduty::types::{
            AutoEnableMembers, OrgFeature, OrgFeatureStatus, OrganizationFeatureConfiguration,
        };
        match op {
            Op::GuardDuty { features } => {
                let Some(id) = self.detector().await? else {
                    return Err(TargetError::refused(
                        "guardduty:UpdateOrganizationConfiguration",
                        "this account has no GuardDuty detector in the region",
                    ));
                };
                let mut request = self
                    .guardduty
                    .update_organization_configuration()
                    .detector_id(id)
                    .auto_enable_organization_members(AutoEnableMembers::All);
                for f in features {
                    request = request.features(
                        OrganizationFeatureConfiguration::builder()
                            .name(OrgFeature::from(f.as_str()))
                            .auto_enable(OrgFeatureStatus::All)
                            .build(),
                    );
                }
                request
                    .send()
                    .await
                    .map_err(aws_err("guardduty:UpdateOrganizationConfiguration"))?;
            }
            Op::SecurityHub {
                auto_enable_standards,
            } => {
                self.security_hub
                    .update_organization_configuration()
                    .auto_enable(true)
                    .auto_enable_standards(auto_enable_standards.as_str().into())
                    .send()
                    .await
                    .map_err(aws_err("securityhub:UpdateOrganizationConfiguration"))?;
            }
            Op::Detective => {
                let Some(graph) = self.graph().await? else {
                    return Err(TargetError::refused(
                        "detective:UpdateOrganizationConfiguration",
                        "this account has no Detective graph in the region",
                    ));
                };
                self.detective
                    .update_organization_configuration()
                    .graph_arn(graph)
                    .auto_enable(true)
                    .send()
                    .await
                    .map_err(aws_err("detective:UpdateOrganizationConfiguration"))?;
            }
            Op::Inspector { auto_enable } => {
                let [ec2, ecr, lambda, lambda_code] = *auto_enable;
                let config = aws_sdk_inspector2::types::AutoEnable::builder()
                    .ec2(ec2)
                    .ecr(ecr)
                    .lambda(lambda)
                    .lambda_code(lambda_code && lambda)
                    .build()
                    .map_err(|e| {
                        TargetError::refused(
                            "inspector2:UpdateOrganizationConfiguration",
                            e.to_string(),
                        )
                    })?;
                self.inspector
                    .update_organization_configuration()
                    .auto_enable(config)
                    .send()
                    .await
                    .map_err(aws_err("inspector2:UpdateOrganizationConfiguration"))?;
            }
        }
        Ok(Applied::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn desired() -> Desired {
        Desired {
            guardduty: Some(vec!["S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION"]),
            security_hub: true,
            detective: true,
            inspector: Some([true, true, false]),
        }
    }

    #[test]
    fn before_the_designation_everything_is_created_after_it_nothing_is_loosened() {
        let not_yet = || "not readable yet".to_owned();
        let first = Observed {
            guardduty: Some(Seen::NotYet(not_yet())),
            security_hub: Some(Seen::NotYet(not_yet())),
            detective: Some(Seen::NotYet(not_yet())),
            inspector: Some(Seen::NotYet(not_yet())),
        };
        let plan = OrgConfiguration::plan(&desired(), &first, "us-east-1");
        assert_eq!(plan.len(), 4);
        assert!(
            plan.iter()
                .all(|p| p.action == Action::Create && p.op.is_some())
        );

        // Stricter than the baseline (lambda on in Inspector, a plan already ALL): kept.
        let live = Observed {
            guardduty: Some(Seen::Read(GuardDutyOrg {
                members: Some("ALL".into()),
                features: vec![
                    ("S3_DATA_EVENTS".into(), "ALL".into()),
                    ("EBS_MALWARE_PROTECTION".into(), "ALL".into()),
                    ("RDS_LOGIN_EVENTS".into(), "ALL".into()),
                ],
            })),
            security_hub: Some(Seen::Read(SecurityHubOrg {
                auto_enable: true,
                auto_enable_standards: Some("DEFAULT".into()),
                central: false,
            })),
            detective: Some(Seen::Read(true)),
            inspector: Some(Seen::Read([true, true, true, true])),
        };
        let plan = OrgConfiguration::plan(&desired(), &live, "us-east-1");
        assert!(plan.iter().all(|p| p.action == Action::NoOp), "{plan:?}");

        // NEW members only, and a plan on NEW: both raised to ALL.
        let mut partly = live.clone();
        partly.guardduty = Some(Seen::Read(GuardDutyOrg {
            members: Some("NEW".into()),
            features: vec![("S3_DATA_EVENTS".into(), "NEW".into())],
        }));
        partly.security_hub = Some(Seen::Read(SecurityHubOrg {
            central: true,
            ..SecurityHubOrg::default()
        }));
        partly.inspector = Some(Seen::Read([false, true, false, false]));
        let plan = OrgConfiguration::plan(&desired(), &partly, "us-east-1");
        assert_eq!(plan[0].action, Action::Update);
        assert_eq!(
            plan[0].op,
            Some(Op::GuardDuty {
                features: vec!["S3_DATA_EVENTS".into(), "EBS_MALWARE_PROTECTION".into()]
            })
        );
        assert_eq!(
            plan[1].action,
            Action::Kept,
            "central configuration is left alone"
        );
        assert_eq!(
            plan[3].op,
            Some(Op::Inspector {
                auto_enable: [true, true, false, false]
            })
        );
    }

    #[tokio::test]
    async fn guardduty_and_detective_are_configured_on_the_administrators_own_detector_and_graph() {
        use aws_sdk_detective::operation as d;
        use aws_sdk_guardduty::operation as g;
        let detectors = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| {
            g::list_detectors::ListDetectorsOutput::builder()
                .detector_ids("d-1")
                .build()
        });
        let update = mock!(aws_sdk_guardduty::Client::update_organization_configuration)
            .match_requests(|r| {
                r.detector_id() == Some("d-1")
                    && r.auto_enable_organization_members().map(|m| m.as_str()) == Some("ALL")
                    && {
                        #[allow(deprecated)]
                        r.auto_enable().is_none()
                    }
                    && r.features().iter().map(|f| (f.name().unwrap().as_str(), f.auto_enable().unwrap().as_str())).collect::<Vec<_>>()
                        == vec![("S3_DATA_EVENTS", "ALL")]
            })
            .then_output(|| g::update_organization_configuration::UpdateOrganizationConfigurationOutput::builder().build());
        let graphs = mock!(aws_sdk_detective::Client::list_graphs).then_output(|| {
            d::list_graphs::ListGraphsOutput::builder()
                .graph_list(
                    aws_sdk_detective::types::Graph::builder()
                        .arn("arn:aws:detective:us-east-1:222222222222:graph:abc")
                        .build(),
                )
                .build()
        });
        let detective_update = mock!(aws_sdk_detective::Client::update_organization_configuration)
            .match_requests(|r| r.graph_arn() == Some("arn:aws:detective:us-east-1:222222222222:graph:abc") && r.auto_enable() == Some(true))
            .then_output(|| d::update_organization_configuration::UpdateOrganizationConfigurationOutput::builder().build());
        let not_admin = mock!(aws_sdk_detective::Client::describe_organization_configuration).then_error(|| {
            d::describe_organization_configuration::DescribeOrganizationConfigurationError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ValidationException")
                    .message("The request was rejected because the account is not the Detective administrator account")
                    .build(),
            )
        });
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let c = Clients {
            guardduty: mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &update]),
            security_hub: aws_sdk_securityhub::Client::new(&sdk),
            detective: mock_client!(
                aws_sdk_detective,
                RuleMode::MatchAny,
                [&graphs, &detective_update, &not_admin]
            ),
            inspector: aws_sdk_inspector2::Client::new(&sdk),
        };
        let observed = c
            .observe(&Desired {
                guardduty: None,
                security_hub: false,
                detective: true,
                inspector: None,
            })
            .await
            .unwrap();
        assert!(
            matches!(observed.detective, Some(Seen::NotYet(_))),
            "{observed:?}"
        );
        let done = c
            .apply(&Op::GuardDuty {
                features: vec!["S3_DATA_EVENTS".into()],
            })
            .await
            .unwrap();
        assert_eq!(done, Applied::Done);
        assert_eq!(c.apply(&Op::Detective).await.unwrap(), Applied::Done);
        assert_eq!(update.num_calls(), 1);
        assert_eq!(detective_update.num_calls(), 1);
    }
}
