//! Amazon Detective: a behaviour graph in every target region. AWS enables Detective only
//! once GuardDuty has been on for about 48 hours; until then the change is `deferred`
//! (not failed), and the weekly re-apply makes it later.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub struct Detective;

/// How long GuardDuty must have been on before Detective can be enabled.
pub const GUARDDUTY_HOURS: u64 = 48;

/// GuardDuty in the same region, as Detective's prerequisite.
/// Amazon Detective: a behaviour graph in every target region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetectiveConfig {
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardDutySince {
    /// No enabled detector.
    Off,
    /// Enabled, created this many whole hours ago.
    Hours(u64),
    /// Enabled, but its creation time could not be read: let AWS decide.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The ARN of this account's behaviour graph in the region.
    pub graph: Option<String>,
    pub guardduty: GuardDutySince,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateGraph;

impl Control for Detective {
    const NAME: &'static str = "detective";
    const SCOPE: Scope = Scope::Regional;
    type Desired = DetectiveConfig;
    type Observed = Observed;
    type Op = CreateGraph;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write("ThreatDetection", &["detective:CreateGraph"]).and_read(&[
                "detective:ListGraphs",
                // Detective needs GuardDuty to have run for a while: its age is read.
                "guardduty:ListDetectors",
                "guardduty:GetDetector",
            ]),
            Grant::write(
                "ServiceLinkedRolesOfTheServicesItEnables",
                &["iam:CreateServiceLinkedRole"],
            )
            .on([arns.iam("role/aws-service-role/*")])
            .when(json!({"StringEquals": {"iam:AWSServiceName": ["detective.amazonaws.com"]}})),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<DetectiveConfig> {
        baseline.detective.clone().filter(|d| d.enabled)
    }

    async fn observe(target: &Target, _: &DetectiveConfig) -> Result<Observed, TargetError> {
        observe_with(
            &target.detective(),
            &target.guardduty(),
            DateTime::from(std::time::SystemTime::now()),
        )
        .await
        .map_err(TargetError::from)
    }

    fn plan(_: &DetectiveConfig, observed: &Observed, region: &str) -> Vec<Proposal<CreateGraph>> {
        vec![plan(observed, region)]
    }

    async fn apply(target: &Target, _: &CreateGraph) -> Result<Applied, TargetError> {
        apply_with(&target.detective())
            .await
            .map_err(TargetError::from)
    }
}

pub async fn observe_with(
    detective: &aws_sdk_detective::Client,
    guardduty: &aws_sdk_guardduty::Client,
    now: DateTime,
) -> Result<Observed, AwsError> {
    let (graphs, since) = tokio::join!(
        detective.list_graphs().send(),
        guardduty_since(guardduty, now)
    );
    let graphs = graphs.map_err(aws_err("detective:ListGraphs"))?;
    Ok(Observed {
        graph: graphs
            .graph_list()
            .iter()
            .find_map(|g| g.arn().map(str::to_owned)),
        guardduty: since?,
    })
}

async fn guardduty_since(
    client: &aws_sdk_guardduty::Client,
    now: DateTime,
) -> Result<GuardDutySince, AwsError> {
    let listed = client
        .list_detectors()
        .send()
        .await
        .map_err(aws_err("guardduty:ListDetectors"))?;
    let Some(id) = listed.detector_ids().iter().min() else {
        return Ok(GuardDutySince::Off);
    };
    let d = client
        .get_detector()
        .detector_id(id)
        .send()
        .await
        .map_err(aws_err("guardduty:GetDetector"))?;
    if d.status().is_none_or(|s| s.as_str() != "ENABLED") {
        return Ok(GuardDutySince::Off);
    }
    Ok(d.created_at()
        .and_then(|c| DateTime::from_str(c, Format::DateTime).ok())
        .map(|c| GuardDutySince::Hours((now.secs() - c.secs()).max(0) as u64 / 3600))
        .unwrap_or(GuardDutySince::Unknown))
}

pub fn plan(observed: &Observed, region: &str) -> Proposal<CreateGraph> {
    let address = format!("detective.graph[\"{region}\"]");
    if let Some(arn) = &observed.graph {
        return Proposal::new(address, Action::NoOp).before(json!({ "arn": arn }));
    }
    let wait = match observed.guardduty {
        GuardDutySince::Off => Some(format!(
            "GuardDuty is not on in this region yet; Detective needs it on for about {GUARDDUTY_HOURS} hours, so a later run enables it"
        )),
        GuardDutySince::Hours(h) if h < GUARDDUTY_HOURS => Some(format!(
            "GuardDuty has been on for {h} hours here; Detective needs about {GUARDDUTY_HOURS}, so a later run enables it"
        )),
        _ => None,
    };
    match wait {
        Some(reason) => Proposal::new(address, Action::Deferred)
            .after(json!({ "graph": "enabled" }))
            .reason(reason),
        None => Proposal::new(address, Action::Create)
            .after(json!({ "graph": "enabled" }))
            .op(CreateGraph),
    }
}

pub async fn apply_with(client: &aws_sdk_detective::Client) -> Result<Applied, AwsError> {
    match client.create_graph().send().await {
        Ok(_) => Ok(Applied::Done),
        Err(e) => {
            let error = aws_err("detective:CreateGraph")(e);
            if error.code.as_deref() == Some("ConflictException") {
                // The account already administers a graph here.
                return Ok(Applied::AlreadyDone);
            }
            // AWS does not publish a dedicated code for the GuardDuty prerequisite; its
            // refusal names GuardDuty, which no other CreateGraph error does.
            match &error.message {
                Some(m) if m.to_ascii_lowercase().contains("guardduty") => {
                    Ok(Applied::Deferred(format!("AWS refused for now: {m}")))
                }
                _ => Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_detective::operation::{
        create_graph::{CreateGraphError, CreateGraphOutput},
        list_graphs::ListGraphsOutput,
    };
    use aws_sdk_detective::types::{Graph, error::ConflictException};
    use aws_sdk_guardduty::operation::{
        get_detector::GetDetectorOutput, list_detectors::ListDetectorsOutput,
    };
    use aws_sdk_guardduty::types::DetectorStatus;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    fn observed(graph: Option<&str>, guardduty: GuardDutySince) -> Observed {
        Observed {
            graph: graph.map(String::from),
            guardduty,
        }
    }

    #[test]
    fn an_existing_graph_is_adopted() {
        let p = plan(&observed(Some("arn:g"), GuardDutySince::Off), "eu-west-1");
        assert_eq!(p.action, Action::NoOp);
        assert!(p.op.is_none());
    }

    #[test]
    fn detective_waits_for_guardduty() {
        let p = plan(&observed(None, GuardDutySince::Off), "eu-west-1");
        assert_eq!((p.action, p.op.is_none()), (Action::Deferred, true));
        assert!(p.reason.unwrap().contains("GuardDuty is not on"));
        let p = plan(&observed(None, GuardDutySince::Hours(3)), "eu-west-1");
        assert_eq!(p.action, Action::Deferred);
        assert!(p.reason.unwrap().contains("on for 3 hours"));
        for since in [GuardDutySince::Hours(48), GuardDutySince::Unknown] {
            let p = plan(&observed(None, since), "eu-west-1");
            assert_eq!((p.action, p.op), (Action::Create, Some(CreateGraph)));
        }
    }

    fn guardduty_mocks(
        created_at: &'static str,
    ) -> (aws_smithy_mocks::Rule, aws_smithy_mocks::Rule) {
        let list = mock!(aws_sdk_guardduty::Client::list_detectors)
            .then_output(|| ListDetectorsOutput::builder().detector_ids("d-1").build());
        let get = mock!(aws_sdk_guardduty::Client::get_detector)
            .match_requests(|r| r.detector_id() == Some("d-1"))
            .then_output(move || {
                GetDetectorOutput::builder()
                    .created_at(created_at)
                    .service_role("arn:aws:iam::123456789012:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty")
                    .status(DetectorStatus::Enabled)
                    .build()
            });
        (list, get)
    }

    // The emulator has no Detective: its calls are mocked with the real shapes.
    #[tokio::test]
    async fn the_guardduty_age_is_read_and_a_graph_is_adopted_without_a_write() {
        let (list, get) = guardduty_mocks("2026-11-22T12:00:00.000Z");
        let guardduty = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&list, &get]);
        let graphs = mock!(aws_sdk_detective::Client::list_graphs).then_output(|| {
            ListGraphsOutput::builder()
                .graph_list(
                    Graph::builder()
                        .arn("arn:aws:detective:eu-west-1:123456789012:graph:abc")
                        .build(),
                )
                .build()
        });
        let create = mock!(aws_sdk_detective::Client::create_graph)
            .then_output(|| CreateGraphOutput::builder().build());
        let detective = mock_client!(aws_sdk_detective, RuleMode::MatchAny, [&graphs, &create]);
        let now = DateTime::from_str("2026-11-23T18:30:00Z", Format::DateTime).unwrap();
        let o = observe_with(&detective, &guardduty, now).await.unwrap();
        assert_eq!(o.guardduty, GuardDutySince::Hours(30));
        assert_eq!(
            o.graph.as_deref(),
            Some("arn:aws:detective:eu-west-1:123456789012:graph:abc")
        );
        assert!(plan(&o, "eu-west-1").op.is_none());
        assert_eq!(create.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_guardduty_refusal_is_deferred_and_a_conflict_is_already_done() {
        // The message is representative: AWS documents the prerequisite, not the text.
        let refused = mock!(aws_sdk_detective::Client::create_graph).then_error(|| {
            let msg = "Account 123456789012 must have GuardDuty enabled for at least 48 hours";
            CreateGraphError::generic(
                ErrorMetadata::builder()
                    .code("ValidationException")
                    .message(msg)
                    .build(),
            )
        });
        let conflict = mock!(aws_sdk_detective::Client::create_graph).then_error(|| {
            CreateGraphError::ConflictException(
                ConflictException::builder()
                    .message("graph exists")
                    .meta(ErrorMetadata::builder().code("ConflictException").build())
                    .build(),
            )
        });
        let other = mock!(aws_sdk_detective::Client::create_graph).then_error(|| {
            CreateGraphError::generic(
                ErrorMetadata::builder()
                    .code("ServiceQuotaExceededException")
                    .message("data volume exceeds the quota")
                    .build(),
            )
        });
        let ok = mock!(aws_sdk_detective::Client::create_graph)
            .then_output(|| CreateGraphOutput::builder().graph_arn("arn:g").build());
        let client = mock_client!(
            aws_sdk_detective,
            RuleMode::Sequential,
            [&refused, &conflict, &other, &ok]
        );
        match apply_with(&client).await.unwrap() {
            Applied::Deferred(reason) => assert!(reason.contains("GuardDuty enabled")),
            other => panic!("expected deferred, got {other:?}"),
        }
        assert_eq!(apply_with(&client).await.unwrap(), Applied::AlreadyDone);
        let err = apply_with(&client).await.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("ServiceQuotaExceededException"));
        assert_eq!(apply_with(&client).await.unwrap(), Applied::Done);
    }
}
