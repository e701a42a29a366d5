//! CloudTrail delivery to CloudWatch Logs (`[cloudtrail] cloudwatch_logs`), and the CIS
//! root-account-usage alarm on it (`root_usage_alarm`). [`CloudTrailLogs`] makes the log
//! group and the role CloudTrail writes through (before the trail);
//! [`RootUsageAlarm`] the metric filter and the alarm, which notifies the alerts topic
//! (after the log group and the topic).

use super::{Applied, Control, Proposal, Scope, Seat, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::account::Account;
use crate::toolkit::iam_role;
use crate::toolkit::names::{
    TRAIL_LOGS_ROLE as ROLE, trail_group_arn as group_arn, trail_group_name as group_name,
};
use crate::toolkit::policy;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use serde_json::{Value, json};

const ROLE_POLICY: &str = "write-the-trail-log-group";
pub const FILTER: &str = "baseline-root-account-usage";
pub const ALARM: &str = "baseline-root-account-usage";
pub const METRIC: &str = "RootAccountUsage";
pub const NAMESPACE: &str = "baseline/CIS";
/// The CIS AWS Foundations Benchmark's root-usage filter.
pub const ROOT_PATTERN: &str = "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != \"AwsServiceEvent\" }";

fn trust(account: &Account, trail: &str) -> Value {
    iam_role::service_trust(
        "cloudtrail.amazonaws.com",
        Some(json!({ "StringEquals": {
            "aws:SourceAccount": account.id,
            "aws:SourceArn": account.trail_arn(trail)
        } })),
    )
}

fn write_policy(account: &Account, trail: &str) -> Value {
    let group = group_arn(account, trail);
    json!({
        "Version": policy::VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("{}:log-stream:*", group.trim_end_matches(":*"))
        }]
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub trail: String,
    pub retention_days: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub account: Account,
    /// None: no group; Some(None): never expires; Some(Some(days)).
    pub group: Option<Option<i32>>,
    pub role: Option<iam_role::Role>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Group {
        name: String,
        create: bool,
        retention_days: i32,
    },
    Role {
        create: bool,
        trust: Option<String>,
        policy: Option<String>,
    },
}

pub struct CloudTrailLogs;

impl Control for CloudTrailLogs {
    const NAME: &'static str = "cloudtrail_logs";
    const SCOPE: Scope = Scope::Account;
    const SEAT: Seat = Seat::OrganizationTrail;
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        let role = arns.iam(&format!("role/{ROLE}"));
        vec![
            Grant::write(
                "AuditTrail",
                &["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
            )
            .and_read(&["logs:DescribeLogGroups"]),
            iam_role::role_grant(role),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let t = baseline
            .cloudtrail
            .as_ref()
            .filter(|t| t.enabled && t.cloudwatch_logs)?;
        Some(Desired {
            trail: t.name.0.clone(),
            retention_days: t.cloudwatch_logs_retention_days.get() as i32,
        })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        let logs = target.session.logs(&target.home_region);
        let iam = target.iam();
        let name = group_name(&desired.trail);
        let (groups, role) = tokio::join!(
            logs.describe_log_groups()
                .log_group_name_prefix(&name)
                .send(),
            iam_role::observe_role(&iam, ROLE, ROLE_POLICY)
        );
        let groups = groups.map_err(aws_err("logs:DescribeLogGroups"))?;
        Ok(Observed {
            account: Account::of(target),
            group: groups
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(name.as_str()))
                .map(|g| g.retention_in_days()),
            role: role?,
        })
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<Op>> {
        plan(desired, observed)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        match op {
            Op::Group {
                name,
                create,
                retention_days,
            } => {
                let logs = target.session.logs(&target.home_region);
                if *create {
                    match logs.create_log_group().log_group_name(name).send().await {
                        Ok(_) => {}
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
                        Err(e) => return Err(aws_err("logs:CreateLogGroup")(e).into()),
                    }
                }
                logs.put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(*retention_days)
                    .send()
                    .await
                    .map_err(aws_err("logs:PutRetentionPolicy"))?;
                Ok(Applied::Done)
            }
            Op::Role {
                create,
                trust,
                policy,
            } => iam_role::put_role(
                &target.iam(),
                ROLE,
                ROLE_POLICY,
                "baseline: lets CloudTrail write the trail's CloudWatch Logs group",
                *create,
                trust.as_deref(),
                policy.as_deref(),
            )
            .await
            .map_err(TargetError::from),
        }
    }
}

pub fn plan(desired: &Desired, observed: &Observed) -> Vec<Proposal<Op>> {
    let account = &observed.account;
    let name = group_name(&desired.trail);
    let address = format!("logs.log_group[{name:?}]");
    let group = match observed.group {
        None => Proposal::new(address, Action::Create)
            .after(json!({ "name": name, "retention_days": desired.retention_days }))
            .op(Op::Group {
                name,
                create: true,
                retention_days: desired.retention_days,
            }),
        // Never expiring, or kept longer than the baseline asks: stricter, kept.
        Some(None) => Proposal::new(address, Action::NoOp)
            .reason("its events never expire, which is longer than the baseline's retention"),
        Some(Some(days)) if days >= desired.retention_days => {
            let p = Proposal::new(address, Action::NoOp).before(json!({ "retention_days": days }));
            if days > desired.retention_days {
                p.reason(format!(
                    "retention_days: live {days} is longer than the baseline's {}",
                    desired.retention_days
                ))
            } else {
                p
            }
        }
        Some(Some(days)) => Proposal::new(address, Action::Update)
            .before(json!({ "retention_days": days }))
            .after(json!({ "retention_days": desired.retention_days }))
            .op(Op::Group {
                name,
                create: false,
                retention_days: desired.retention_days,
            }),
    };
    let role = iam_role::role_proposal(
        format!("iam.role[{ROLE:?}]"),
        &trust(account, &desired.trail),
        &write_policy(account, &desired.trail),
        observed.role.as_ref(),
    )
    .map_op(|(create, trust, policy)| Op::Role {
        create,
        trust,
        policy,
    });
    vec![group, role]
}

/// The metric filter and alarm for root-account use.
pub struct RootUsageAlarm;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmDesired {
    pub trail: String,
    pub topic: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmObserved {
    pub account: Account,
    /// (pattern, metric name, namespace, value) of our filter.
    pub filter: Option<(String, String, String, String)>,
    pub alarm: Option<Alarm>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub metric: String,
    pub namespace: String,
    pub threshold: f64,
    pub actions: Vec<String>,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmOp {
    Filter { group: String },
    Alarm { topic_arn: String },
}

impl Control for RootUsageAlarm {
    const NAME: &'static str = "root_usage_alarm";
    const SCOPE: Scope = Scope::Account;
    const SEAT: Seat = Seat::OrganizationTrail;
    const AFTER: &'static [&'static str] = &["cloudtrail_logs", "notifications"];
    type Desired = AlarmDesired;
    type Observed = AlarmObserved;
    type Op = AlarmOp;

    fn permissions(_desired: &Self::Desired, _arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write(
                "AuditTrail",
                &["logs:PutMetricFilter", "cloudwatch:PutMetricAlarm"],
            )
            .and_read(&["logs:DescribeMetricFilters", "cloudwatch:DescribeAlarms"]),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<AlarmDesired> {
        let t = baseline
            .cloudtrail
            .as_ref()
            .filter(|t| t.enabled && t.cloudwatch_logs && t.root_usage_alarm)?;
        let n = baseline.notifications.as_ref().filter(|n| n.enabled)?;
        Some(AlarmDesired {
            trail: t.name.0.clone(),
            topic: n.topic.0.clone(),
        })
    }

    async fn observe(
        target: &Target,
        desired: &AlarmDesired,
    ) -> Result<AlarmObserved, TargetError> {
        observe_alarm(
            &target.session.logs(&target.home_region),
            &target.session.cloudwatch(&target.home_region),
            Account::of(target),
            desired,
        )
        .await
        .map_err(TargetError::from)
    }

    fn plan(desired: &AlarmDesired, observed: &AlarmObserved, _: &str) -> Vec<Proposal<AlarmOp>> {
        plan_alarm(desired, observed)
    }

    async fn apply(target: &Target, op: &AlarmOp) -> Result<Applied, TargetError> {
        apply_alarm(
            &target.session.logs(&target.home_region),
            &target.session.cloudwatch(&target.home_region),
            op,
        )
        .await
        .map_err(TargetError::from)
    }
}

pub async fn observe_alarm(
    logs: &aws_sdk_cloudwatchlogs::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    account: Account,
    desired: &AlarmDesired,
) -> Result<AlarmObserved, AwsError> {
    let group = group_name(&desired.trail);
    let (filters, alarms) = tokio::join!(
        logs.describe_metric_filters()
            .log_group_name(&group)
            .filter_name_prefix(FILTER)
            .send(),
        cloudwatch.describe_alarms().alarm_names(ALARM).send()
    );
    let filter = match filters {
        Ok(out) => out
            .metric_filters()
            .iter()
            .find(|f| f.filter_name() == Some(FILTER))
            .map(|f| {
                let t = f.metric_transformations().first();
                (
                    f.filter_pattern().unwrap_or_default().to_owned(),
                    t.map(|t| t.metric_name().to_owned()).unwrap_or_default(),
                    t.map(|t| t.metric_namespace().to_owned())
                        .unwrap_or_default(),
                    t.map(|t| t.metric_value().to_owned()).unwrap_or_default(),
                )
            }),
        // The group is made before this, in the same run.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => return Err(aws_err("logs:DescribeMetricFilters")(e)),
    };
    let alarm = alarms
        .map_err(aws_err("cloudwatch:DescribeAlarms"))?
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(ALARM))
        .map(|a| Alarm {
            metric: a.metric_name().unwrap_or_default().to_owned(),
            namespace: a.namespace().unwrap_or_default().to_owned(),
            threshold: a.threshold().unwrap_or_default(),
            actions: a.alarm_actions().to_vec(),
            enabled: a.actions_enabled().unwrap_or(false),
        });
    Ok(AlarmObserved {
        account,
        filter,
        alarm,
    })
}

pub fn plan_alarm(desired: &AlarmDesired, observed: &AlarmObserved) -> Vec<Proposal<AlarmOp>> {
    let group = group_name(&desired.trail);
    let topic = observed.account.topic_arn(&desired.topic);
    let want_filter = (
        ROOT_PATTERN.to_owned(),
        METRIC.to_owned(),
        NAMESPACE.to_owned(),
        "1".to_owned(),
    );
    let filter_view = |f: &(String, String, String, String)| json!({ "log_group": group, "pattern": f.0, "metric": format!("{}/{}", f.2, f.1), "value": f.3 });
    let filter = upsert(
        format!("logs.metric_filter[{FILTER:?}]"),
        observed.filter.as_ref(),
        &want_filter,
        filter_view,
        AlarmOp::Filter {
            group: group.clone(),
        },
    );
    let alarm_view = |a: &Alarm| {
        json!({
            "metric": format!("{}/{}", a.namespace, a.metric),
            "threshold": a.threshold,
            "actions": a.actions,
            "actions_enabled": a.enabled,
        })
    };
    let want = Alarm {
        metric: METRIC.into(),
        namespace: NAMESPACE.into(),
        threshold: 1.0,
        actions: vec![topic.clone()],
        enabled: true,
    };
    let alarm = upsert(
        format!("cloudwatch.alarm[{ALARM:?}]"),
        observed.alarm.as_ref(),
        &want,
        alarm_view,
        AlarmOp::Alarm { topic_arn: topic },
    );
    vec![filter, alarm]
}

/// No change when `live` is `want`; else create or update it with `op`.
fn upsert<T: PartialEq, Op>(
    address: String,
    live: Option<&T>,
    want: &T,
    view: impl Fn(&T) -> Value,
    op: Op,
) -> Proposal<Op> {
    match live {
        Some(l) if l == want => Proposal::new(address, Action::NoOp),
        Some(l) => Proposal::new(address, Action::Update)
            .before(view(l))
            .after(view(want))
            .op(op),
        None => Proposal::new(address, Action::Create)
            .after(view(want))
            .op(op),
    }
}

pub async fn apply_alarm(
    logs: &aws_sdk_cloudwatchlogs::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    op: &AlarmOp,
) -> Result<Applied, AwsError> {
    match op {
        AlarmOp::Filter { group } => {
            logs.put_metric_filter()
                .log_group_name(group)
                .filter_name(FILTER)
                .filter_pattern(ROOT_PATTERN)
                .metric_transformations(
                    MetricTransformation::builder()
                        .metric_name(METRIC)
                        .metric_namespace(NAMESPACE)
                        .metric_value("1")
                        .build()
                        .map_err(|e| {
                            AwsError::invalid_response("logs:PutMetricFilter", e.to_string())
                        })?,
                )
                .send()
                .await
                .map_err(aws_err("logs:PutMetricFilter"))?;
        }
        AlarmOp::Alarm { topic_arn } => {
            cloudwatch
                .put_metric_alarm()
                .alarm_name(ALARM)
                .alarm_description("baseline (CIS): the root user was used")
                .metric_name(METRIC)
                .namespace(NAMESPACE)
                .statistic(Statistic::Sum)
                .period(300)
                .evaluation_periods(1)
                .threshold(1.0)
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .treat_missing_data("notBreaching")
                .actions_enabled(true)
                .alarm_actions(topic_arn)
                .send()
                .await
                .map_err(aws_err("cloudwatch:PutMetricAlarm"))?;
        }
    }
    Ok(Applied::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::{
        describe_alarms::DescribeAlarmsOutput, put_metric_alarm::PutMetricAlarmOutput,
    };
    use aws_sdk_cloudwatch::types::MetricAlarm;
    use aws_sdk_cloudwatchlogs::operation::{
        describe_metric_filters::DescribeMetricFiltersOutput,
        put_metric_filter::PutMetricFilterOutput,
    };
    use aws_sdk_cloudwatchlogs::types::MetricFilter;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn account() -> Account {
        Account::example("us-east-1")
    }

    fn alarm_desired() -> AlarmDesired {
        AlarmDesired {
            trail: "baseline-trail".into(),
            topic: "baseline-security-alerts".into(),
        }
    }

    #[test]
    fn the_group_is_made_and_a_longer_retention_kept() {
        let d = Desired {
            trail: "baseline-trail".into(),
            retention_days: 365,
        };
        let fresh = Observed {
            account: account(),
            group: None,
            role: None,
        };
        let p = plan(&d, &fresh);
        assert_eq!(
            p[0].address,
            "logs.log_group[\"/baseline/cloudtrail/baseline-trail\"]"
        );
        assert_eq!((p[0].action, p[1].action), (Action::Create, Action::Create));
        let longer = Observed {
            group: Some(Some(731)),
            ..fresh.clone()
        };
        assert_eq!(plan(&d, &longer)[0].action, Action::NoOp);
        let shorter = Observed {
            group: Some(Some(30)),
            ..fresh
        };
        assert_eq!(plan(&d, &shorter)[0].action, Action::Update);
        assert_eq!(
            group_arn(&account(), "baseline-trail"),
            "arn:aws:logs:us-east-1:123456789012:log-group:/baseline/cloudtrail/baseline-trail:*"
        );
    }

    // moto cannot serve CloudWatch alarms to this SDK (it speaks rpc-v2-cbor, see
    // ../shared/EMULATOR.md): the alarm path is mocked with the real shapes.
    #[tokio::test]
    async fn a_fresh_account_gets_the_cis_filter_then_the_alarm_on_the_topic() {
        let no_filters = mock!(aws_sdk_cloudwatchlogs::Client::describe_metric_filters)
            .then_output(|| DescribeMetricFiltersOutput::builder().build());
        let no_alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
            .then_output(|| DescribeAlarmsOutput::builder().build());
        let put_filter = mock!(aws_sdk_cloudwatchlogs::Client::put_metric_filter)
            .match_requests(|r| {
                r.filter_pattern() == Some(ROOT_PATTERN)
                    && r.log_group_name() == Some("/baseline/cloudtrail/baseline-trail")
                    && r.metric_transformations()[0].metric_name() == METRIC
            })
            .then_output(|| PutMetricFilterOutput::builder().build());
        let put_alarm = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
            .match_requests(|r| {
                r.alarm_actions() == ["arn:aws:sns:us-east-1:123456789012:baseline-security-alerts"]
                    && r.threshold() == Some(1.0)
                    && r.comparison_operator()
                        == Some(&ComparisonOperator::GreaterThanOrEqualToThreshold)
            })
            .then_output(|| PutMetricAlarmOutput::builder().build());
        let logs = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::MatchAny,
            [&no_filters, &put_filter]
        );
        let cw = mock_client!(
            aws_sdk_cloudwatch,
            RuleMode::MatchAny,
            [&no_alarms, &put_alarm]
        );
        let observed = observe_alarm(&logs, &cw, account(), &alarm_desired())
            .await
            .unwrap();
        let proposals = plan_alarm(&alarm_desired(), &observed);
        assert_eq!(
            proposals.iter().map(|p| p.action).collect::<Vec<_>>(),
            [Action::Create, Action::Create]
        );
        for p in &proposals {
            apply_alarm(&logs, &cw, p.op.as_ref().unwrap())
                .await
                .unwrap();
        }
        assert_eq!((put_filter.num_calls(), put_alarm.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn an_alarm_in_place_causes_no_write() {
        let filters =
            mock!(aws_sdk_cloudwatchlogs::Client::describe_metric_filters).then_output(|| {
                DescribeMetricFiltersOutput::builder()
                    .metric_filters(
                        MetricFilter::builder()
                            .filter_name(FILTER)
                            .filter_pattern(ROOT_PATTERN)
                            .metric_transformations(
                                MetricTransformation::builder()
                                    .metric_name(METRIC)
                                    .metric_namespace(NAMESPACE)
                                    .metric_value("1")
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
            });
        let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name(ALARM)
                        .metric_name(METRIC)
                        .namespace(NAMESPACE)
                        .threshold(1.0)
                        .actions_enabled(true)
                        .alarm_actions(
                            "arn:aws:sns:us-east-1:123456789012:baseline-security-alerts",
                        )
                        .build(),
                )
                .build()
        });
        let logs = mock_client!(aws_sdk_cloudwatchlogs, [&filters]);
        let cw = mock_client!(aws_sdk_cloudwatch, [&alarms]);
        let observed = observe_alarm(&logs, &cw, account(), &alarm_desired())
            .await
            .unwrap();
        let p = plan_alarm(&alarm_desired(), &observed);
        assert!(
            p.iter().all(|p| p.action == Action::NoOp && p.op.is_none()),
            "{p:?}"
        );
    }
}
