//! The delegated administrator (`organization.delegated_admin`) of each security service
//! the baseline turns on, designated from the management account: GuardDuty, Security
//! Hub, Detective and Inspector in every target region (each service's own API, which
//! also turns on its trusted access), IAM Access Analyzer and AWS Config once, through
//! AWS Organizations (trusted access first, then `RegisterDelegatedAdministrator`).
//!
//! An administrator that is already designated is adopted; one that differs from the
//! baseline is reported and never moved (moving it disables the service's organization
//! view until the new one is set up, which only a person should decide).

use super::{Applied, Control, Proposal, Scope, Seat, Target};
use crate::baseline::Baseline;
use crate::error::{AwsError, ErrorKind, TargetError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use serde_json::json;

pub struct DelegatedAdmin;

/// A service whose organization administrator the baseline designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    GuardDuty,
    SecurityHub,
    Detective,
    Inspector,
    AccessAnalyzer,
    Config,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::GuardDuty,
        Service::SecurityHub,
        Service::Detective,
        Service::Inspector,
        Service::AccessAnalyzer,
        Service::Config,
    ];

    /// The baseline table that turns it on.
    pub fn table(self) -> &'static str {
        match self {
            Service::GuardDuty => "guardduty",
            Service::SecurityHub => "security_hub",
            Service::Detective => "detective",
            Service::Inspector => "inspector",
            Service::AccessAnalyzer => "access_analyzer",
            Service::Config => "config",
        }
    }

    /// The service principal AWS Organizations knows it by.
    pub fn principal(self) -> &'static str {
        match self {
            Service::GuardDuty => "guardduty.amazonaws.com",
            Service::SecurityHub => "securityhub.amazonaws.com",
            Service::Detective => "detective.amazonaws.com",
            Service::Inspector => "inspector2.amazonaws.com",
            Service::AccessAnalyzer => "access-analyzer.amazonaws.com",
            // Aggregators; organization rules and conformance packs would be
            // config-multiaccountsetup.amazonaws.com.
            Service::Config => "config.amazonaws.com",
        }
    }

    /// Designated per region through the service's own API (else once, through
    /// Organizations).
    pub fn regional(self) -> bool {
        !matches!(self, Service::AccessAnalyzer | Service::Config)
    }

    fn enabled_in(self, b: &Baseline) -> bool {
        use super::{access_analyzer, config, detective, guardduty, inspector, security_hub};
        match self {
            Service::GuardDuty => guardduty::GuardDuty::desired(b).is_some(),
            Service::SecurityHub => security_hub::SecurityHub::desired(b).is_some(),
            Service::Detective => detective::Detective::desired(b).is_some(),
            Service::Inspector => inspector::Inspector::desired(b).is_some(),
            Service::AccessAnalyzer => access_analyzer::AccessAnalyzer::desired(b).is_some(),
            Service::Config => config::Config::desired(b).is_some(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The security tooling account.
    pub admin: String,
    pub services: Vec<Service>,
}

/// What one service says about its administrator here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The accounts designated (at most one in practice), and for a service registered
    /// through Organizations whether its trusted access is on.
    Admins {
        accounts: Vec<String>,
        trusted: bool,
    },
    /// The service does not exist in this region (or the partition).
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub services: Vec<(Service, Seen)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designate {
    pub service: Service,
    pub admin: String,
    /// Organizations' trusted access must be turned on first.
    pub enable_trusted_access: bool,
}

/// The services this target handles: the regional ones in every region, the others in
/// the home region only.
fn here(desired: &Desired, target: &Target) -> Vec<Service> {
    desired
        .services
        .iter()
        .copied()
        .filter(|s| s.regional() || target.region == target.home_region)
        .collect()
}

impl Control for DelegatedAdmin {
    const NAME: &'static str = "delegated_admin";
    const SCOPE: Scope = Scope::Regional;
    const SEAT: Seat = Seat::Management;
    type Desired = Desired;
    type Observed = Observed;
    type Op = Designate;

    fn permissions(desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        let has = |s: Service| desired.services.contains(&s);
        let mut writes = Vec::new();
        let mut reads = vec![
            "organizations:DescribeOrganization",
            "organizations:ListDelegatedAdministrators",
            "organizations:ListAWSServiceAccessForOrganization",
        ];
        for (service, write, read) in [
            (
                Service::GuardDuty,
                "guardduty:EnableOrganizationAdminAccount",
                "guardduty:ListOrganizationAdminAccounts",
            ),
            (
                Service::SecurityHub,
                "securityhub:EnableOrganizationAdminAccount",
                "securityhub:ListOrganizationAdminAccounts",
            ),
            (
                Service::Detective,
                "detective:EnableOrganizationAdminAccount",
                "detective:ListOrganizationAdminAccounts",
            ),
            (
                Service::Inspector,
                "inspector2:EnableDelegatedAdminAccount",
                "inspector2:ListDelegatedAdminAccounts",
            ),
        ] {
            if has(service) {
                writes.push(write);
                reads.push(read);
            }
        }
        // The services' own designation calls turn on trusted access and register the
        // account in Organizations on the caller's behalf; the others are called here.
        writes.extend([
            "organizations:EnableAWSServiceAccess",
            "organizations:RegisterDelegatedAdministrator",
        ]);
        let names: Vec<&str> = desired
            .services
            .iter()
            .filter(|s| s.regional())
            .map(|s| s.principal())
            .collect();
        let mut grants = vec![Grant::write("DelegatedAdministrators", &writes).and_read(&reads)];
        if !names.is_empty() {
            grants.push(
                Grant::write(
                    "ServiceLinkedRolesOfTheServicesItEnables",
                    &["iam:CreateServiceLinkedRole"],
                )
                .on([arns.iam("role/aws-service-role/*")])
                .when(json!({"StringEquals": {"iam:AWSServiceName": names}})),
            );
        }
        grants
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let org = baseline.organization.as_ref().filter(|o| o.enabled)?;
        let admin = org.delegated_admin.as_ref()?.0.clone();
        let services: Vec<Service> = Service::ALL
            .into_iter()
            .filter(|s| s.enabled_in(baseline))
            .collect();
        (!services.is_empty()).then_some(Desired { admin, services })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        let clients = Clients::of(target);
        let mut services = Vec::new();
        for service in here(desired, target) {
            services.push((service, clients.seen(service).await?));
        }
        Ok(Observed { services })
    }

    fn plan(desired: &Desired, observed: &Observed, region: &str) -> Vec<Proposal<Designate>> {
        observed
            .services
            .iter()
            .map(|(service, seen)| {
                let address = if service.regional() {
                    format!(
                        "organization.delegated_admin.{}[\"{region}\"]",
                        service.table()
                    )
                } else {
                    format!("organization.delegated_admin.{}", service.table())
                };
                let after = json!({ "account": desired.admin });
                match seen {
                    Seen::Unavailable(why) => Proposal::new(address, Action::Skipped)
                        .reason(format!("not available here ({why})")),
                    Seen::Admins { accounts, .. } if accounts.contains(&desired.admin) => {
                        Proposal::new(address, Action::NoOp)
                            .before(after.clone())
                            .after(after)
                    }
                    Seen::Admins { accounts, .. } if !accounts.is_empty() => {
                        Proposal::new(address, Action::Kept)
                            .before(json!({ "account": accounts.join(", ") }))
                            .reason(format!(
                                "account {} is the delegated administrator, not {} as the baseline says: baseline never moves one (remove it in {} and deregister it in AWS Organizations first)",
                                accounts.join(", "),
                                desired.admin,
                                service.table()
                            ))
                    }
                    Seen::Admins { trusted, .. } => Proposal::new(address, Action::Create)
                        .after(after)
                        .op(Designate {
                            service: *service,
                            admin: desired.admin.clone(),
                            enable_trusted_access: !service.regional() && !trusted,
                        }),
                }
            })
            .collect()
    }

    async fn apply(target: &Target, op: &Designate) -> Result<Applied, TargetError> {
        Clients::of(target).designate(op).await
    }
}

/// The clients one target uses.
pub struct Clients {
    pub guardduty: aws_sdk_guardduty::Client,
    pub security_hub: aws_sdk_securityhub::Client,
    pub detective: aws_sdk_detective::Client,
    pub inspector: aws_sdk_inspector2::Client,
    pub organizations: aws_sdk_organizations::Client,
}

impl Clients {
    fn of(target: &Target) -> Clients {
        Clients {
            guardduty: target.guardduty(),
            security_hub: target.security_hub(),
            detective: target.detective(),
            inspector: target.inspector(),
            organizations: target.session.organizations(&target.partition),
        }
    }

    /// The administrators of `service` (a region where it does not exist is
    /// [`Seen::Unavailable`], not an error).
    pub async fn seen(&self, service: Service) -> Result<Seen, AwsError> {
        let found = match service {
            Service::GuardDuty => self
                .guardduty
                .list_organization_admin_accounts()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map(|v| {
                    v.iter()
                        .filter_map(|a| a.admin_account_id().map(str::to_owned))
                        .collect()
                })
                .map_err(aws_err("guardduty:ListOrganizationAdminAccounts")),
            Service::SecurityHub => self
                .security_hub
                .list_organization_admin_accounts()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map(|v| {
                    v.iter()
                        .filter_map(|a| a.account_id().map(str::to_owned))
                        .collect()
                })
                .map_err(aws_err("securityhub:ListOrganizationAdminAccounts")),
            Service::Detective => self
                .detective
                .list_organization_admin_accounts()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map(|pages| {
                    pages
                        .iter()
                        .flat_map(|p| p.administrators())
                        .filter_map(|a| a.account_id().map(str::to_owned))
                        .collect()
                })
                .map_err(aws_err("detective:ListOrganizationAdminAccounts")),
            Service::Inspector => self
                .inspector
                .list_delegated_admin_accounts()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map(|v| {
                    v.iter()
                        .filter_map(|a| a.account_id().map(str::to_owned))
                        .collect()
                })
                .map_err(aws_err("inspector2:ListDelegatedAdminAccounts")),
            Service::AccessAnalyzer | Service::Config => {
                return self.registered(service).await;
            }
        };
        match found {
            Ok(accounts) => Ok(Seen::Admins {
                accounts,
                trusted: true,
            }),
            Err(e) if e.kind == ErrorKind::Unsupported => Ok(Seen::Unavailable(e.to_string())),
            Err(e) => Err(e),
        }
    }

    async fn registered(&self, service: Service) -> Result<Seen, AwsError> {
        let (access, admins) = tokio::join!(
            self.organizations
                .list_aws_service_access_for_organization()
                .into_paginator()
                .send()
                .try_collect(),
            self.organizations
                .list_delegated_administrators()
                .service_principal(service.principal())
                .into_paginator()
                .items()
                .send()
                .try_collect()
        );
        let access =
            access.map_err(aws_err("organizations:ListAWSServiceAccessForOrganization"))?;
        let admins = admins.map_err(aws_err("organizations:ListDelegatedAdministrators"))?;
        Ok(Seen::Admins {
            accounts: admins
                .iter()
                .filter_map(|a| a.id().map(str::to_owned))
                .collect(),
            trusted: access
                .iter()
                .flat_map(|p| p.enabled_service_principals())
                .any(|a| a.service_principal() == Some(service.principal())),
        })
    }

    pub async fn designate(&self, op: &Designate) -> Result<Applied, TargetError> {
        let admin = op.admin.as_str();
        match op.service {
            Service::GuardDuty => self
                .guardduty
                .enable_organization_admin_account()
                .admin_account_id(admin)
                .send()
                .await
                .map(drop)
                .map_err(aws_err("guardduty:EnableOrganizationAdminAccount")),
            Service::SecurityHub => self
                .security_hub
                .enable_organization_admin_account()
                .admin_account_id(admin)
                .send()
                .await
                .map(drop)
                .map_err(aws_err("securityhub:EnableOrganizationAdminAccount")),
            Service::Detective => self
                .detective
                .enable_organization_admin_account()
                .account_id(admin)
                .send()
                .await
                .map(drop)
                .map_err(aws_err("detective:EnableOrganizationAdminAccount")),
            Service::Inspector => self
                .inspector
                .enable_delegated_admin_account()
                .delegated_admin_account_id(admin)
                .send()
                .await
                .map(drop)
                .map_err(aws_err("inspector2:EnableDelegatedAdminAccount")),
            Service::AccessAnalyzer | Service::Config => {
                if op.enable_trusted_access {
                    self.organizations
                        .enable_aws_service_access()
                        .service_principal(op.service.principal())
                        .send()
                        .await
                        .map_err(aws_err("organizations:EnableAWSServiceAccess"))?;
                }
                let registered = self
                    .organizations
                    .register_delegated_administrator()
                    .account_id(admin)
                    .service_principal(op.service.principal())
                    .send()
                    .await;
                return match registered {
                    Ok(_) => Ok(Applied::Done),
                    // A stopped run registered it already.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_account_already_registered_exception()) =>
                    {
                        Ok(Applied::AlreadyDone)
                    }
                    Err(e) => {
                        Err(aws_err("organizations:RegisterDelegatedAdministrator")(e).into())
                    }
                };
            }
        }
        .map(|()| Applied::Done)
        .map_err(TargetError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn desired() -> Desired {
        Desired {
            admin: "222222222222".into(),
            services: Service::ALL.to_vec(),
        }
    }

    #[test]
    fn designates_the_missing_adopts_the_same_and_never_moves_another() {
        let observed = Observed {
            services: vec![
                (
                    Service::GuardDuty,
                    Seen::Admins {
                        accounts: vec![],
                        trusted: true,
                    },
                ),
                (
                    Service::SecurityHub,
                    Seen::Admins {
                        accounts: vec!["222222222222".into()],
                        trusted: true,
                    },
                ),
                (
                    Service::Detective,
                    Seen::Admins {
                        accounts: vec!["444444444444".into()],
                        trusted: true,
                    },
                ),
                (
                    Service::Inspector,
                    Seen::Unavailable("not in this region".into()),
                ),
                (
                    Service::AccessAnalyzer,
                    Seen::Admins {
                        accounts: vec![],
                        trusted: false,
                    },
                ),
                (
                    Service::Config,
                    Seen::Admins {
                        accounts: vec![],
                        trusted: true,
                    },
                ),
            ],
        };
        let plan = DelegatedAdmin::plan(&desired(), &observed, "eu-west-1");
        let got: Vec<(&str, Action)> = plan
            .iter()
            .map(|p| (p.address.as_str(), p.action))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "organization.delegated_admin.guardduty[\"eu-west-1\"]",
                    Action::Create
                ),
                (
                    "organization.delegated_admin.security_hub[\"eu-west-1\"]",
                    Action::NoOp
                ),
                (
                    "organization.delegated_admin.detective[\"eu-west-1\"]",
                    Action::Kept
                ),
                (
                    "organization.delegated_admin.inspector[\"eu-west-1\"]",
                    Action::Skipped
                ),
                (
                    "organization.delegated_admin.access_analyzer",
                    Action::Create
                ),
                ("organization.delegated_admin.config", Action::Create),
            ]
        );
        assert!(plan[2].reason.as_deref().unwrap().contains("444444444444"));
        assert!(plan[2].op.is_none(), "another administrator is never moved");
        assert_eq!(
            plan[4].op.as_ref().map(|o| o.enable_trusted_access),
            Some(true)
        );
        assert_eq!(
            plan[5].op.as_ref().map(|o| o.enable_trusted_access),
            Some(false)
        );
    }

    fn clients(
        detective: aws_sdk_detective::Client,
        organizations: aws_sdk_organizations::Client,
    ) -> Clients {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Clients {
            guardduty: aws_sdk_guardduty::Client::new(&sdk),
            security_hub: aws_sdk_securityhub::Client::new(&sdk),
            detective,
            inspector: aws_sdk_inspector2::Client::new(&sdk),
            organizations,
        }
    }

    #[tokio::test]
    async fn detective_reads_and_designates_through_its_own_api() {
        let listed = mock!(aws_sdk_detective::Client::list_organization_admin_accounts)
            .then_output(|| {
                aws_sdk_detective::operation::list_organization_admin_accounts::ListOrganizationAdminAccountsOutput::builder()
                    .administrators(
                        aws_sdk_detective::types::Administrator::builder()
                            .account_id("222222222222")
                            .build(),
                    )
                    .build()
            });
        let enabled = mock!(aws_sdk_detective::Client::enable_organization_admin_account)
            .match_requests(|r| r.account_id() == Some("222222222222"))
            .then_output(|| {
                aws_sdk_detective::operation::enable_organization_admin_account::EnableOrganizationAdminAccountOutput::builder().build()
            });
        let detective = mock_client!(aws_sdk_detective, RuleMode::MatchAny, [&listed, &enabled]);
        let organizations = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, []);
        let c = clients(detective, organizations);
        assert_eq!(
            c.seen(Service::Detective).await.unwrap(),
            Seen::Admins {
                accounts: vec!["222222222222".into()],
                trusted: true
            }
        );
        let done = c
            .designate(&Designate {
                service: Service::Detective,
                admin: "222222222222".into(),
                enable_trusted_access: false,
            })
            .await
            .unwrap();
        assert_eq!(done, Applied::Done);
        assert_eq!(enabled.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_account_registered_by_a_stopped_run_is_already_done() {
        let access = mock!(aws_sdk_organizations::Client::enable_aws_service_access)
            .match_requests(|r| r.service_principal() == Some("access-analyzer.amazonaws.com"))
            .then_output(|| {
                aws_sdk_organizations::operation::enable_aws_service_access::EnableAwsServiceAccessOutput::builder().build()
            });
        let register = mock!(aws_sdk_organizations::Client::register_delegated_administrator)
            .then_error(|| {
                aws_sdk_organizations::operation::register_delegated_administrator::RegisterDelegatedAdministratorError::AccountAlreadyRegisteredException(
                    aws_sdk_organizations::types::error::AccountAlreadyRegisteredException::builder()
                        .message("The provided account is already a delegated administrator for your organization.")
                        .build(),
                )
            });
        let organizations = mock_client!(
            aws_sdk_organizations,
            RuleMode::MatchAny,
            [&access, &register]
        );
        let detective = mock_client!(aws_sdk_detective, RuleMode::MatchAny, []);
        let c = clients(detective, organizations);
        let done = c
            .designate(&Designate {
                service: Service::AccessAnalyzer,
                admin: "222222222222".into(),
                enable_trusted_access: true,
            })
            .await
            .unwrap();
        assert_eq!(done, Applied::AlreadyDone);
        assert_eq!(access.num_calls(), 1, "trusted access came first");
        assert_eq!(register.num_calls(), 1);
    }
}
