//! EventBridge rules of ours, each with one target (a topic or another region's bus) and
//! its input transformer: observed, planned and put in place.

use crate::error::{AwsError, TargetError, aws_err};
use crate::plan::{Action, Applied, Proposal};
use aws_sdk_eventbridge::types::{InputTransformer, RuleState};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One EventBridge rule and its single target, as we want or found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub pattern: Value,
    pub enabled: bool,
    pub target: Option<RuleTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTarget {
    pub id: String,
    pub arn: String,
    pub role_arn: Option<String>,
    pub paths: BTreeMap<String, String>,
    pub template: Option<String>,
}

/// The rule `name` and the one of its targets whose id is in `ours`; None when the rule
/// does not exist.
pub async fn observe_rule(
    client: &aws_sdk_eventbridge::Client,
    name: &str,
    ours: &[&str],
) -> Result<Option<Rule>, AwsError> {
    let rule = match client.describe_rule().name(name).send().await {
        Ok(r) => r,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(aws_err("events:DescribeRule")(e)),
    };
    let targets = client
        .list_targets_by_rule()
        .rule(name)
        .send()
        .await
        .map_err(aws_err("events:ListTargetsByRule"))?;
    let target = targets
        .targets()
        .iter()
        .find(|t| ours.contains(&t.id()))
        .map(|t| RuleTarget {
            id: t.id().to_owned(),
            arn: t.arn().to_owned(),
            role_arn: t.role_arn().map(str::to_owned),
            paths: t
                .input_transformer()
                .and_then(|x| x.input_paths_map())
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            template: t.input_transformer().map(|x| x.input_template().to_owned()),
        });
    Ok(Some(Rule {
        name: name.to_owned(),
        pattern: rule
            .event_pattern()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null),
        enabled: rule.state() == Some(&RuleState::Enabled),
        target,
    }))
}

fn rule_view(rule: &Rule) -> Value {
    json!({
        "pattern": rule.pattern,
        "enabled": rule.enabled,
        "target": rule.target.as_ref().map(|t| json!({
            "arn": t.arn,
            "role": t.role_arn,
            "input_paths": t.paths,
            "input_template": t.template,
        })),
    })
}

/// Puts `name`'s pattern and its one target in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRule {
    pub name: String,
    pub description: String,
    pub pattern: String,
    pub target: RuleTarget,
}

/// The proposal that puts `want` in place of `live`. `want` must have a target.
pub fn rule_proposal(
    address: String,
    want: &Rule,
    live: Option<&Rule>,
    description: &str,
) -> Proposal<PutRule> {
    let op = || {
        want.target.clone().map(|target| PutRule {
            name: want.name.clone(),
            description: format!("baseline: {description}"),
            pattern: want.pattern.to_string(),
            target,
        })
    };
    let with_op = |p: Proposal<PutRule>| match op() {
        Some(op) => p.op(op),
        None => p,
    };
    match live {
        Some(l) if l == want => Proposal::new(address, Action::NoOp),
        Some(l) => with_op(
            Proposal::new(address, Action::Update)
                .before(rule_view(l))
                .after(rule_view(want)),
        ),
        None => with_op(Proposal::new(address, Action::Create).after(rule_view(want))),
    }
}

pub async fn put_rule(
    events: &aws_sdk_eventbridge::Client,
    name: &str,
    description: &str,
    pattern: &str,
    t: &RuleTarget,
) -> Result<Applied, TargetError> {
    events
        .put_rule()
        .name(name)
        .description(description)
        .event_pattern(pattern)
        .state(RuleState::Enabled)
        .send()
        .await
        .map_err(aws_err("events:PutRule"))?;
    let mut target = aws_sdk_eventbridge::types::Target::builder()
        .id(&t.id)
        .arn(&t.arn)
        .set_role_arn(t.role_arn.clone());
    if let Some(template) = &t.template {
        target = target.input_transformer(
            InputTransformer::builder()
                .set_input_paths_map(Some(t.paths.clone().into_iter().collect()))
                .input_template(template)
                .build()
                .map_err(|e| AwsError::invalid_response("events:PutTargets", e.to_string()))?,
        );
    }
    let out = events
        .put_targets()
        .rule(name)
        .targets(
            target
                .build()
                .map_err(|e| AwsError::invalid_response("events:PutTargets", e.to_string()))?,
        )
        .send()
        .await
        .map_err(aws_err("events:PutTargets"))?;
    if let Some(f) = out.failed_entries().first() {
        return Err(TargetError::refused(
            "events:PutTargets",
            format!(
                "{}: {}",
                f.error_code().unwrap_or_default(),
                f.error_message().unwrap_or_default()
            ),
        ));
    }
    Ok(Applied::Done)
}
