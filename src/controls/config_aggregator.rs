//! The organization's AWS Config aggregator, in the delegated administrator
//! (`organization.delegated_admin`), home region: one view of every member's
//! configuration and compliance, in all regions (`AllAwsRegions`, future ones included).
//!
//! Config reads the organization through a role of the administrator's (Config's
//! `AWSConfigRoleForOrganizations` permissions, as an inline policy of ours). An
//! organization aggregator that already covers the run's regions is adopted whatever its
//! name (Control Tower's, Landing Zone Accelerator's); ours is widened to all regions when
//! it covers fewer, never narrowed. An aggregator is free of charge.
//!
//! `PutConfigurationAggregator` from a delegated administrator needs the management
//! account to have turned on trusted access for `config.amazonaws.com` and registered the
//! account for it (`delegated_admin` does both, and this account's apply waits for it).

use super::{Applied, Control, Proposal, Scope, Seat, Target};
use crate::baseline::Baseline;
use crate::error::{AwsError, TargetError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::iam_role;
use aws_sdk_config::types::OrganizationAggregationSource;
use serde_json::{Value, json};

pub struct ConfigAggregator;

pub const AGGREGATOR: &str = "baseline-organization";
pub const ROLE: &str = "baseline-config-aggregator";
const ROLE_POLICY: &str = "read-the-organization";

/// Config's own managed policy for organization aggregators
/// (`AWSConfigRoleForOrganizations`), as the role's inline policy.
fn read_policy() -> Value {
    json!({
        "Version": crate::toolkit::policy::VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": [
                "organizations:ListAccounts",
                "organizations:DescribeOrganization",
                "organizations:ListAWSServiceAccessForOrganization",
                "organizations:ListDelegatedAdministrators"
            ],
            "Resource": "*"
        }]
    })
}

fn trust(account: &str) -> Value {
    iam_role::service_trust(
        "config.amazonaws.com",
        Some(json!({ "StringEquals": { "aws:SourceAccount": account } })),
    )
}

/// An aggregator as read: its organization source, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregator {
    pub name: String,
    pub organization: Option<OrgSource>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSource {
    pub role_arn: String,
    pub all_regions: bool,
    pub regions: Vec<String>,
}

impl OrgSource {
    fn covers(&self, regions: &[String]) -> bool {
        self.all_regions || regions.iter().all(|r| self.regions.contains(r))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub account: String,
    pub partition: String,
    /// The run's regions: an adopted aggregator must cover them.
    pub regions: Vec<String>,
    pub aggregators: Vec<Aggregator>,
    pub role: Option<iam_role::Role>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Role {
        create: bool,
        trust: Option<String>,
        policy: Option<String>,
    },
    Put {
        role_arn: String,
    },
}

fn role_arn(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{ROLE}")
}

impl Control for ConfigAggregator {
    const NAME: &'static str = "config_aggregator";
    const SCOPE: Scope = Scope::Account;
    const SEAT: Seat = Seat::DelegatedAdmin;
    type Desired = ();
    type Observed = Observed;
    type Op = Op;

    fn permissions(_desired: &(), arns: &Arns) -> Vec<Grant> {
        let role = arns.iam(&format!("role/{ROLE}"));
        vec![
            Grant::write(
                "OrganizationConfigAggregator",
                &["config:PutConfigurationAggregator"],
            )
            .and_read(&["config:DescribeConfigurationAggregators"]),
            // Config checks the caller is the registered delegated administrator.
            Grant::read(
                "OrganizationConfigAggregatorChecks",
                &[
                    "organizations:ListDelegatedAdministrators",
                    "organizations:DescribeOrganization",
                ],
            ),
            iam_role::role_grant(role.clone()),
            Grant::write("PassTheAggregatorRoleToConfig", &["iam:PassRole"])
                .on([role])
                .when(json!({"StringEquals": {"iam:PassedToService": "config.amazonaws.com"}})),
        ]
    }

    fn desired(b: &Baseline) -> Option<()> {
        b.organization
            .as_ref()
            .filter(|o| o.enabled)?
            .delegated_admin
            .as_ref()?;
        b.config.as_ref().filter(|c| c.enabled).map(|_| ())
    }

    async fn observe(target: &Target, _: &()) -> Result<Observed, TargetError> {
        let (config, iam) = (target.config(), target.iam());
        let (aggregators, role) = tokio::join!(
            observe_aggregators(&config),
            iam_role::observe_role(&iam, ROLE, ROLE_POLICY)
        );
        Ok(Observed {
            account: target.account.clone(),
            partition: target.partition.clone(),
            regions: target.regions.to_vec(),
            aggregators: aggregators?,
            role: role?,
        })
    }

    fn plan(_: &(), observed: &Observed, _region: &str) -> Vec<Proposal<Op>> {
        plan(observed)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        match op {
            Op::Role {
                create,
                trust,
                policy,
            } => iam_role::put_role(
                &target.iam(),
                ROLE,
                ROLE_POLICY,
                "AWS Config reads the organization for the baseline's organization aggregator",
                *create,
                trust.as_deref(),
                policy.as_deref(),
            )
            .await
            .map_err(TargetError::from),
            Op::Put { role_arn } => put_aggregator(&target.config(), role_arn)
                .await
                .map_err(TargetError::from),
        }
    }
}

pub async fn observe_aggregators(
    client: &aws_sdk_config::Client,
) -> Result<Vec<Aggregator>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .describe_configuration_aggregators()
            .set_next_token(token)
            .send()
            .await
            .map_err(aws_err("config:DescribeConfigurationAggregators"))?;
        for a in page.configuration_aggregators() {
            out.push(Aggregator {
                name: a
                    .configuration_aggregator_name()
                    .unwrap_or_default()
                    .to_owned(),
                organization: a.organization_aggregation_source().map(|s| OrgSource {
                    role_arn: s.role_arn().to_owned(),
                    all_regions: s.all_aws_regions(),
                    regions: s.aws_regions().to_vec(),
                }),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

fn show(a: &Aggregator) -> Value {
    match &a.organization {
        Some(s) => json!({
            "name": a.name,
            "source": "organization",
            "all_regions": s.all_regions,
            "regions": s.regions,
            "role_arn": s.role_arn,
        }),
        None => json!({ "name": a.name, "source": "accounts" }),
    }
}

pub fn plan(observed: &Observed) -> Vec<Proposal<Op>> {
    let address = "organization.config_aggregator".to_owned();
    let covering = observed.aggregators.iter().find(|a| {
        a.organization
            .as_ref()
            .is_some_and(|s| s.covers(&observed.regions))
    });
    if let Some(a) = covering.filter(|a| a.name != AGGREGATOR) {
        // Someone else's (Control Tower's, say): adopted, and its role is theirs.
        return vec![
            Proposal::new(address, Action::NoOp)
                .before(show(a))
                .reason(format!(
                    "adopted the existing organization aggregator {:?}",
                    a.name
                )),
        ];
    }
    let arn = role_arn(&observed.partition, &observed.account);
    let role = iam_role::role_proposal(
        format!("iam.role[{ROLE:?}]"),
        &trust(&observed.account),
        &read_policy(),
        observed.role.as_ref(),
    )
    .map_op(|(create, trust, policy)| Op::Role {
        create,
        trust,
        policy,
    });
    let after = json!({
        "name": AGGREGATOR,
        "source": "organization",
        "all_regions": true,
        "role_arn": arn,
    });
    let ours = observed.aggregators.iter().find(|a| a.name == AGGREGATOR);
    let aggregator =
        match ours {
            // Ours, covering every region of the run, through our role.
            Some(a)
                if a.organization
                    .as_ref()
                    .is_some_and(|s| s.covers(&observed.regions) && s.role_arn == arn) =>
            {
                Proposal::new(address, Action::NoOp).before(show(a))
            }
            Some(a) => {
                // Widened, never narrowed: all regions.
                let p = Proposal::new(address, Action::Update)
                    .before(show(a))
                    .after(after)
                    .op(Op::Put { role_arn: arn });
                match &a.organization {
                    None => p.reason(format!(
                        "{AGGREGATOR:?} aggregates listed accounts; it is made the organization's"
                    )),
                    Some(_) => p,
                }
            }
            None => {
                let p = Proposal::new(address, Action::Create)
                    .after(after)
                    .op(Op::Put { role_arn: arn });
                match observed.aggregators.iter().find(|a| a.organization.is_some()) {
                Some(other) => p.reason(format!(
                    "the organization aggregator {:?} does not cover every region of the baseline",
                    other.name
                )),
                None => p,
            }
            }
        };
    vec![role, aggregator]
}

/// A role made moments before may not be usable by Config yet (IAM is eventually
/// consistent): Config then answers `InvalidRoleException`; try again a few times.
pub async fn put_aggregator(
    client: &aws_sdk_config::Client,
    role_arn: &str,
) -> Result<Applied, AwsError> {
    let source = OrganizationAggregationSource::builder()
        .role_arn(role_arn)
        .all_aws_regions(true)
        .build()
        .map_err(|e| {
            AwsError::invalid_response("config:PutConfigurationAggregator", e.to_string())
        })?;
    let mut tries = 0;
    loop {
        tries += 1;
        match client
            .put_configuration_aggregator()
            .configuration_aggregator_name(AGGREGATOR)
            .organization_aggregation_source(source.clone())
            .send()
            .await
        {
            Ok(_) => return Ok(Applied::Done),
            Err(e)
                if tries < 6
                    && e.as_service_error()
                        .is_some_and(|s| s.is_invalid_role_exception()) =>
            {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
            Err(e) => return Err(aws_err("config:PutConfigurationAggregator")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(aggregators: Vec<Aggregator>, role: Option<iam_role::Role>) -> Observed {
        Observed {
            account: "222222222222".into(),
            partition: "aws".into(),
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            aggregators,
            role,
        }
    }

    fn org(name: &str, all: bool, regions: &[&str], role_arn: &str) -> Aggregator {
        Aggregator {
            name: name.into(),
            organization: Some(OrgSource {
                role_arn: role_arn.into(),
                all_regions: all,
                regions: regions.iter().map(|r| r.to_string()).collect(),
            }),
        }
    }

    fn our_role() -> iam_role::Role {
        iam_role::Role {
            trust: Some(trust("222222222222")),
            policy: Some(read_policy()),
        }
    }

    const ARN: &str = "arn:aws:iam::222222222222:role/baseline-config-aggregator";

    #[test]
    fn a_fresh_administrator_gets_the_role_then_the_aggregator_of_all_regions() {
        let plan = plan(&observed(vec![], None));
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].address, "iam.role[\"baseline-config-aggregator\"]");
        assert_eq!(plan[0].action, Action::Create);
        assert_eq!(plan[1].address, "organization.config_aggregator");
        assert_eq!(plan[1].action, Action::Create);
        assert_eq!(plan[1].after.as_ref().unwrap()["all_regions"], true);
        assert_eq!(
            plan[1].op,
            Some(Op::Put {
                role_arn: ARN.into()
            })
        );
        let Some(Op::Role { create, trust, .. }) = &plan[0].op else {
            panic!("no role op")
        };
        assert!(*create);
        let trust: Value = serde_json::from_str(trust.as_deref().unwrap()).unwrap();
        assert_eq!(
            trust["Statement"][0]["Principal"]["Service"],
            "config.amazonaws.com"
        );
    }

    #[test]
    fn an_organization_aggregator_of_someone_else_covering_the_regions_is_adopted() {
        let theirs = org(
            "aws-controltower-GuardrailsComplianceAggregator",
            false,
            &["us-east-1", "eu-west-1", "eu-central-1"],
            "arn:aws:iam::222222222222:role/service-role/theirs",
        );
        let plan = plan(&observed(vec![theirs], None));
        assert_eq!(plan.len(), 1, "their role is theirs: nothing of ours");
        assert_eq!(plan[0].action, Action::NoOp);
        assert!(plan[0].op.is_none());
        assert!(plan[0].reason.as_deref().unwrap().contains("adopted"));
    }

    #[test]
    fn one_that_misses_a_region_is_not_adopted_and_ours_is_made_beside_it() {
        let theirs = org("theirs", false, &["us-east-1"], "arn:aws:iam::2:role/x");
        let plan = plan(&observed(vec![theirs], None));
        assert_eq!(plan[1].action, Action::Create);
        assert!(
            plan[1]
                .reason
                .as_deref()
                .unwrap()
                .contains("does not cover")
        );
    }

    #[test]
    fn ours_compliant_is_no_change_and_ours_narrow_is_widened_never_narrowed() {
        let ours = org(AGGREGATOR, true, &[], ARN);
        let plan1 = plan(&observed(vec![ours], Some(our_role())));
        assert!(
            plan1
                .iter()
                .all(|p| p.action == Action::NoOp && p.op.is_none())
        );

        let narrow = org(AGGREGATOR, false, &["us-east-1"], ARN);
        let plan2 = plan(&observed(vec![narrow], Some(our_role())));
        assert_eq!(plan2[0].action, Action::NoOp);
        assert_eq!(plan2[1].action, Action::Update);
        assert_eq!(plan2[1].after.as_ref().unwrap()["all_regions"], true);
        assert_eq!(
            plan2[1].before.as_ref().unwrap()["regions"],
            json!(["us-east-1"])
        );
    }

    #[test]
    fn ours_as_an_account_aggregator_is_made_the_organizations() {
        let accounts = Aggregator {
            name: AGGREGATOR.into(),
            organization: None,
        };
        let plan = plan(&observed(vec![accounts], Some(our_role())));
        assert_eq!(plan[1].action, Action::Update);
        assert!(
            plan[1]
                .reason
                .as_deref()
                .unwrap()
                .contains("listed accounts")
        );
    }
}
