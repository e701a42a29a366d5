//! IAM Access Analyzer: an external-access analyzer (type ACCOUNT) in every target
//! region, and optionally an unused-access one in the home region only (its findings are
//! about IAM, which is global, and each one is billed per role and user analysed). Any
//! active analyzer of the type is adopted.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_accessanalyzer::types::Type;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub struct AccessAnalyzer;

pub const EXTERNAL: &str = "ACCOUNT";
pub const UNUSED: &str = "ACCOUNT_UNUSED_ACCESS";
/// The organization's external-access analyzer, in the delegated administrator.
pub const ORGANIZATION: &str = "ORGANIZATION";

/// IAM Access Analyzer in every target region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessAnalyzerConfig {
    pub enabled: bool,
    /// The name of the external-access analyzer we create; any active one is adopted.
    #[serde(default = "default_analyzer_name")]
    pub name: AnalyzerName,
    /// Also an unused-access analyzer (paid).
    #[serde(default)]
    pub unused_access: bool,
}

fn default_analyzer_name() -> AnalyzerName {
    AnalyzerName("baseline-external-access".into())
}

/// An analyzer name as Access Analyzer accepts it: 1–255 characters, starting with a
/// letter, then letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AnalyzerName(pub String);

impl<'de> Deserialize<'de> for AnalyzerName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = (1..=230).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if ok {
            Ok(AnalyzerName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid analyzer name {s:?}: expected 1 to 230 characters, a letter first, then letters, digits, '.', '_' or '-'"
            )))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyzer {
    pub name: String,
    pub kind: String,
    pub status: String,
}

impl Analyzer {
    fn usable(&self) -> bool {
        matches!(self.status.as_str(), "ACTIVE" | "CREATING")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAnalyzer {
    pub name: String,
    pub kind: &'static str,
}

/// The analyzers of one region, and whether it is the home region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub home: bool,
    /// The account is the organization's delegated administrator (an organization run
    /// that names one): it also gets the organization analyzer in the home region.
    pub administers: bool,
    pub analyzers: Vec<Analyzer>,
}

impl Control for AccessAnalyzer {
    const NAME: &'static str = "access_analyzer";
    const SCOPE: Scope = Scope::Regional;
    type Desired = AccessAnalyzerConfig;
    type Observed = Observed;
    type Op = CreateAnalyzer;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write("ThreatDetection", &["access-analyzer:CreateAnalyzer"])
                .and_read(&["access-analyzer:ListAnalyzers"]),
            Grant::write(
                "ServiceLinkedRolesOfTheServicesItEnables",
                &["iam:CreateServiceLinkedRole"],
            )
            .on([arns.iam("role/aws-service-role/*")])
            .when(
                json!({"StringEquals": {"iam:AWSServiceName": ["access-analyzer.amazonaws.com"]}}),
            ),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<AccessAnalyzerConfig> {
        baseline.access_analyzer.clone().filter(|a| a.enabled)
    }

    async fn observe(target: &Target, _: &AccessAnalyzerConfig) -> Result<Observed, TargetError> {
        let administers = target
            .organization
            .as_ref()
            .is_some_and(|o| o.delegated_admin.as_deref() == Some(target.account.as_str()));
        Ok(Observed {
            home: target.region == target.home_region,
            administers,
            analyzers: observe_with(&target.access_analyzer()).await?,
        })
    }

    fn plan(
        desired: &AccessAnalyzerConfig,
        observed: &Observed,
        region: &str,
    ) -> Vec<Proposal<CreateAnalyzer>> {
        let mut out = plan(desired, &observed.analyzers, region, observed.home);
        if observed.administers && observed.home {
            out.push(proposal(
                "organization_analyzer",
                ORGANIZATION,
                format!("{}-organization", desired.name.0),
                &observed.analyzers,
                region,
            ));
        }
        out
    }

    async fn apply(target: &Target, op: &CreateAnalyzer) -> Result<Applied, TargetError> {
        apply_with(&target.access_analyzer(), op)
            .await
            .map_err(TargetError::from)
    }
}

pub async fn observe_with(
    client: &aws_sdk_accessanalyzer::Client,
) -> Result<Vec<Analyzer>, AwsError> {
    let analyzers = client
        .list_analyzers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws_err("access-analyzer:ListAnalyzers"))?;
    Ok(analyzers
        .iter()
        .map(|a| Analyzer {
            name: a.name().to_owned(),
            kind: a.r#type().as_str().to_owned(),
            status: a.status().as_str().to_owned(),
        })
        .collect())
}

pub fn plan(
    desired: &AccessAnalyzerConfig,
    observed: &[Analyzer],
    region: &str,
    home: bool,
) -> Vec<Proposal<CreateAnalyzer>> {
    let mut wanted = vec![("analyzer", EXTERNAL, desired.name.0.clone())];
    // Unused-access findings cover IAM roles and users, which are global: one analyzer in
    // the home region sees them all, and each further one would bill them again.
    if desired.unused_access && home {
        wanted.push((
            "unused_access_analyzer",
            UNUSED,
            format!("{}-unused-access", desired.name.0),
        ));
    }
    wanted
        .into_iter()
        .map(|(what, kind, name)| proposal(what, kind, name, observed, region))
        .collect()
}

/// An analyzer of `kind`: any usable one is adopted, else ours is created.
fn proposal(
    what: &str,
    kind: &'static str,
    name: String,
    observed: &[Analyzer],
    region: &str,
) -> Proposal<CreateAnalyzer> {
    let address = format!("access_analyzer.{what}[\"{region}\"]");
    match observed.iter().find(|a| a.kind == kind && a.usable()) {
        Some(existing) => {
            let p = Proposal::new(address, Action::NoOp)
                .before(json!({ "name": existing.name, "type": kind, "status": existing.status }));
            if existing.name == name {
                p
            } else {
                p.reason(format!("adopted the existing analyzer {:?}", existing.name))
            }
        }
        None => Proposal::new(address, Action::Create)
            .after(json!({ "name": name, "type": kind }))
            .op(CreateAnalyzer { name, kind }),
    }
}

pub async fn apply_with(
    client: &aws_sdk_accessanalyzer::Client,
    op: &CreateAnalyzer,
) -> Result<Applied, AwsError> {
    match client
        .create_analyzer()
        .analyzer_name(&op.name)
        .r#type(Type::from(op.kind))
        .send()
        .await
    {
        Ok(_) => Ok(Applied::Done),
        // Our name exists already: another run created it first.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conflict_exception()) =>
        {
            Ok(Applied::AlreadyDone)
        }
        Err(e) => Err(aws_err("access-analyzer:CreateAnalyzer")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_accessanalyzer::operation::{
        create_analyzer::{CreateAnalyzerError, CreateAnalyzerOutput},
        list_analyzers::ListAnalyzersOutput,
    };
    use aws_sdk_accessanalyzer::types::{
        AnalyzerStatus, AnalyzerSummary, error::ConflictException,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn desired(unused: bool) -> AccessAnalyzerConfig {
        AccessAnalyzerConfig {
            enabled: true,
            name: AnalyzerName("baseline-external-access".into()),
            unused_access: unused,
        }
    }

    fn analyzer(name: &str, kind: &str, status: &str) -> Analyzer {
        Analyzer {
            name: name.into(),
            kind: kind.into(),
            status: status.into(),
        }
    }

    #[test]
    fn the_delegated_administrator_also_gets_the_organization_analyzer_at_home() {
        let observed = |home, administers, analyzers| Observed {
            home,
            administers,
            analyzers,
        };
        let p = <AccessAnalyzer as Control>::plan(
            &desired(false),
            &observed(true, true, vec![]),
            "us-east-1",
        );
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[1].address,
            "access_analyzer.organization_analyzer[\"us-east-1\"]"
        );
        assert_eq!(
            p[1].op,
            Some(CreateAnalyzer {
                name: "baseline-external-access-organization".into(),
                kind: ORGANIZATION
            })
        );
        // Elsewhere, and in any other account, none; an existing one is adopted.
        assert_eq!(
            <AccessAnalyzer as Control>::plan(
                &desired(false),
                &observed(false, true, vec![]),
                "eu-west-1"
            )
            .len(),
            1
        );
        assert_eq!(
            <AccessAnalyzer as Control>::plan(
                &desired(false),
                &observed(true, false, vec![]),
                "us-east-1"
            )
            .len(),
            1
        );
        let theirs = analyzer("org-wide", ORGANIZATION, "ACTIVE");
        let p = <AccessAnalyzer as Control>::plan(
            &desired(false),
            &observed(true, true, vec![theirs]),
            "us-east-1",
        );
        assert_eq!((p[1].action, p[1].op.is_none()), (Action::NoOp, true));
        assert!(p[1].reason.as_deref().unwrap().contains("org-wide"));
    }

    #[test]
    fn no_analyzer_is_created() {
        let p = plan(&desired(false), &[], "eu-west-1", true);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].address, "access_analyzer.analyzer[\"eu-west-1\"]");
        assert_eq!(
            p[0].op,
            Some(CreateAnalyzer {
                name: "baseline-external-access".into(),
                kind: EXTERNAL
            })
        );
    }

    #[test]
    fn any_active_external_analyzer_is_adopted() {
        let p = plan(
            &desired(false),
            &[analyzer("org-made", EXTERNAL, "ACTIVE")],
            "eu-west-1",
            true,
        );
        assert_eq!(p[0].action, Action::NoOp);
        assert_eq!(
            p[0].reason.as_deref(),
            Some("adopted the existing analyzer \"org-made\"")
        );
    }

    #[test]
    fn a_failed_or_other_type_analyzer_does_not_count() {
        let live = [
            analyzer("old", EXTERNAL, "FAILED"),
            analyzer("org", "ORGANIZATION", "ACTIVE"),
        ];
        assert_eq!(
            plan(&desired(false), &live, "eu-west-1", true)[0].action,
            Action::Create
        );
    }

    #[test]
    fn unused_access_is_a_separate_toggle() {
        let live = [analyzer("baseline-external-access", EXTERNAL, "ACTIVE")];
        let p = plan(&desired(true), &live, "eu-west-1", true);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].action, Action::NoOp);
        assert!(p[0].reason.is_none());
        assert_eq!(
            p[1].op,
            Some(CreateAnalyzer {
                name: "baseline-external-access-unused-access".into(),
                kind: UNUSED
            })
        );
    }

    #[test]
    fn the_unused_access_analyzer_is_made_in_the_home_region_only() {
        let p = plan(&desired(true), &[], "eu-west-1", false);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].address, "access_analyzer.analyzer[\"eu-west-1\"]");
        // One that exists elsewhere is left alone: the plan does not propose to remove it.
        let live = [analyzer("team-unused", UNUSED, "ACTIVE")];
        assert!(
            plan(&desired(true), &live, "eu-west-1", false)
                .iter()
                .all(|p| !p.address.contains("unused"))
        );
    }

    fn summary(name: &str, kind: &str) -> AnalyzerSummary {
        AnalyzerSummary::builder()
            .arn(format!(
                "arn:aws:access-analyzer:eu-west-1:123456789012:analyzer/{name}"
            ))
            .name(name)
            .r#type(Type::from(kind))
            .created_at(aws_smithy_types::DateTime::from_secs(0))
            .status(AnalyzerStatus::Active)
            .build()
            .unwrap()
    }

    // The emulator has no Access Analyzer: the calls are mocked with the real shapes.
    #[tokio::test]
    async fn an_adopted_analyzer_causes_no_write() {
        let list = mock!(aws_sdk_accessanalyzer::Client::list_analyzers).then_output(|| {
            ListAnalyzersOutput::builder()
                .analyzers(summary("org-made", EXTERNAL))
                .build()
                .unwrap()
        });
        let create = mock!(aws_sdk_accessanalyzer::Client::create_analyzer)
            .then_output(|| CreateAnalyzerOutput::builder().build());
        let client = mock_client!(aws_sdk_accessanalyzer, RuleMode::MatchAny, [&list, &create]);
        let observed = observe_with(&client).await.unwrap();
        assert_eq!(observed, vec![analyzer("org-made", EXTERNAL, "ACTIVE")]);
        let proposals = plan(&desired(false), &observed, "eu-west-1", true);
        assert!(proposals.iter().all(|p| p.op.is_none()));
        assert_eq!((list.num_calls(), create.num_calls()), (1, 0));
    }

    #[tokio::test]
    async fn create_sends_the_name_and_type_and_a_conflict_is_already_done() {
        let create = mock!(aws_sdk_accessanalyzer::Client::create_analyzer)
            .match_requests(|r| {
                r.analyzer_name() == Some("baseline-external-access")
                    && r.r#type().map(|t| t.as_str()) == Some(EXTERNAL)
            })
            .then_output(|| CreateAnalyzerOutput::builder().arn("arn:x").build());
        let conflict = mock!(aws_sdk_accessanalyzer::Client::create_analyzer).then_error(|| {
            CreateAnalyzerError::ConflictException(
                ConflictException::builder()
                    .message("exists")
                    .resource_id("baseline-external-access")
                    .resource_type("Analyzer")
                    .build()
                    .unwrap(),
            )
        });
        let client = mock_client!(
            aws_sdk_accessanalyzer,
            RuleMode::Sequential,
            [&create, &conflict]
        );
        let op = CreateAnalyzer {
            name: "baseline-external-access".into(),
            kind: EXTERNAL,
        };
        assert_eq!(apply_with(&client, &op).await.unwrap(), Applied::Done);
        assert_eq!(
            apply_with(&client, &op).await.unwrap(),
            Applied::AlreadyDone
        );
        assert_eq!((create.num_calls(), conflict.num_calls()), (1, 1));
    }
}
