//! Alert notifications. In the home region: an SNS topic encrypted with a KMS key whose
//! policy lets EventBridge (and CloudWatch alarms) publish, the listed email addresses and
//! HTTPS endpoint subscribed, and EventBridge rules that turn GuardDuty, Security Hub and
//! IAM Access Analyzer findings into one-sentence messages on the topic. In every other
//! target region ([`Forwarding`]): one rule that forwards those findings to the home
//! region's default event bus (EventBridge delivers to an SNS topic of its own region
//! only), through a role that may only put events on that bus.

use super::chatbot::{SlackChannel, TeamsChannel};
use super::webhooks::{self, Webhook};
use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::{Baseline, Bounded, Email, HttpsUrl};
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::account::Account;
use crate::toolkit::alerts;
use crate::toolkit::events_rule::{self, Rule, RuleTarget, observe_rule};
use crate::toolkit::iam_role::{
    Role, observe_role, put_role, role_grant, role_proposal, service_trust,
};
use crate::toolkit::kms::{self, Key};
use crate::toolkit::policy;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub struct Notifications;

pub const KEY_ALIAS: &str = "alias/baseline-notifications";
/// The key's `baseline-key` tag.
const WHICH_KEY: &str = "notifications";
pub const FORWARDER_ROLE: &str = "baseline-events-forwarder";
const FORWARDER_POLICY: &str = "put-events-on-the-home-bus";
pub const FORWARD_RULE: &str = "baseline-findings-to-home-region";
const TOPIC_TARGET: &str = "baseline-topic";
const BUS_TARGET: &str = "baseline-home-bus";

/// Alert notifications: an encrypted SNS topic and EventBridge rules for findings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    pub enabled: bool,
    #[serde(default = "default_topic")]
    pub topic: TopicName,
    #[serde(default)]
    pub emails: Vec<Email>,
    pub https_endpoint: Option<HttpsUrl>,
    /// GuardDuty findings at or above this severity (1 to 8.9; 4 is medium).
    #[serde(default = "default_min_severity")]
    pub guardduty_min_severity: Bounded<1, 8>,
    #[serde(default = "default_hub_severities")]
    pub security_hub_severities: Vec<SeverityLabel>,
    #[serde(default = "crate::baseline::yes")]
    pub access_analyzer: bool,
    /// Slack channels, through AWS Chatbot.
    #[serde(default)]
    pub slack: Vec<SlackChannel>,
    /// Microsoft Teams channels, through AWS Chatbot.
    #[serde(default)]
    pub teams: Vec<TeamsChannel>,
    /// Webhooks, through EventBridge API destinations.
    #[serde(default)]
    pub webhooks: Vec<Webhook>,
}

impl NotificationsConfig {
    /// A placeholder left in, or nobody to tell.
    pub(crate) fn problem(&self) -> Option<(String, String)> {
        if !self.enabled {
            return None;
        }
        let advice = crate::baseline::PLACEHOLDER;
        if let Some((i, e)) = self
            .emails
            .iter()
            .enumerate()
            .find(|(_, e)| e.is_placeholder())
        {
            return Some((
                format!("notifications.emails[{i}]"),
                format!("{:?} {advice}", e.0),
            ));
        }
        if let Some(u) = self.https_endpoint.as_ref().filter(|u| u.is_placeholder()) {
            return Some((
                "notifications.https_endpoint".into(),
                format!("{:?} {advice}", u.0),
            ));
        }
        for (i, c) in self.slack.iter().enumerate() {
            if let Some((key, message)) = c.problem() {
                return Some((format!("notifications.slack[{i}].{key}"), message));
            }
        }
        for (i, c) in self.teams.iter().enumerate() {
            if let Some((key, message)) = c.problem() {
                return Some((format!("notifications.teams[{i}].{key}"), message));
            }
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            if self.webhooks[..i].iter().any(|o| o.name == w.name) {
                return Some((
                    format!("notifications.webhooks[{i}].name"),
                    format!(
                        "{:?} is the name of an earlier webhook: each needs its own",
                        w.name.0
                    ),
                ));
            }
        }
        if self.emails.is_empty()
            && self.https_endpoint.is_none()
            && !self.chat_on()
            && self.webhooks.is_empty()
        {
            return Some((
                "notifications.enabled".into(),
                "lists no emails, https_endpoint, slack, teams or webhooks: nobody would hear of a finding".into(),
            ));
        }
        None
    }

    /// The finding sources the baseline turns on.
    pub fn alert_sources(&self) -> Vec<alerts::Source> {
        let labels: Vec<&str> = self
            .security_hub_severities
            .iter()
            .map(|s| s.as_str())
            .collect();
        alerts::sources(
            self.guardduty_min_severity.get(),
            &labels,
            self.access_analyzer,
        )
    }

    /// Chat channels are listed.
    pub fn chat_on(&self) -> bool {
        !self.slack.is_empty() || !self.teams.is_empty()
    }

    /// The first webhook whose URL the environment does not hold: its key and why.
    pub fn missing_url(&self) -> Option<(String, String)> {
        if !self.enabled {
            return None;
        }
        self.webhooks.iter().enumerate().find_map(|(i, w)| {
            let value = std::env::var(&w.url_env.0).ok();
            webhooks::url_problem(&w.url_env.0, value.as_deref())
                .map(|m| (format!("notifications.webhooks[{i}].url_env"), m))
        })
    }
}

fn default_topic() -> TopicName {
    TopicName("baseline-security-alerts".into())
}
fn default_min_severity() -> Bounded<1, 8> {
    Bounded(4)
}
fn default_hub_severities() -> Vec<SeverityLabel> {
    vec![SeverityLabel::High, SeverityLabel::Critical]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeverityLabel {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Informational => "INFORMATIONAL",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicName(pub String);

impl<'de> Deserialize<'de> for TopicName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if (1..=256).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            Ok(TopicName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid topic name {s:?}: expected 1 to 256 letters, digits, '-' or '_'"
            )))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub config: NotificationsConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub kms_key: Option<String>,
    pub policy: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub account: Account,
    pub key: Option<Key>,
    /// The key's id and ARN, to recognise it on the topic.
    pub key_ids: Vec<String>,
    pub topic: Option<Topic>,
    /// The chat topic, when chat channels are listed.
    pub chat_topic: Option<Topic>,
    /// (protocol, endpoint, subscription ARN or "PendingConfirmation").
    pub subscriptions: Vec<(String, String, String)>,
    pub role: Option<Role>,
    pub rules: Vec<Rule>,
    /// Some target region is not the home region: findings must be forwarded.
    pub forwarding: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Key(kms::Op),
    Topic {
        create: bool,
        name: String,
        arn: String,
        kms_key: Option<String>,
        policy: Option<String>,
    },
    Subscribe {
        topic_arn: String,
        protocol: String,
        endpoint: String,
    },
    Role {
        create: bool,
        trust: Option<String>,
        policy: Option<String>,
    },
    Rule {
        name: String,
        description: String,
        pattern: String,
        target: RuleTarget,
    },
}

impl Control for Notifications {
    const NAME: &'static str = "notifications";
    const SCOPE: Scope = Scope::Account;
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn permissions(desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        let mut grants = kms::key_grants(arns, KEY_ALIAS);
        grants.push(topic_and_rules(arns, &desired.config));
        grants.extend(forwarder_role(arns));
        grants
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let config = baseline.notifications.clone().filter(|n| n.enabled)?;
        Some(Desired { config })
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        observe(target, desired).await
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<Op>> {
        plan(desired, observed)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        apply(target, op).await
    }
}

/// The alert topic and the rules that publish to it.
fn topic_and_rules(arns: &Arns, config: &NotificationsConfig) -> Grant {
    let mut resources = vec![arns.regional("sns", &config.topic.0)];
    if config.chat_on() {
        resources.push(arns.regional("sns", &chat_topic(config)));
    }
    // Only the rules' names matter here.
    let account = Account {
        id: String::new(),
        partition: String::new(),
        home_region: String::new(),
        central: None,
    };
    resources.extend(
        home_rules(config, &account)
            .iter()
            .map(|(rule, _)| arns.regional("events", &format!("rule/{}", rule.name))),
    );
    Grant::write(
        "Notifications",
        &[
            "sns:CreateTopic",
            "sns:SetTopicAttributes",
            "sns:Subscribe",
            "events:PutRule",
            "events:PutTargets",
        ],
    )
    .and_read(&[
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
        "events:DescribeRule",
        "events:ListTargetsByRule",
    ])
    .on(resources)
}

/// The role EventBridge forwards other regions' findings with, given to EventBridge only.
fn forwarder_role(arns: &Arns) -> Vec<Grant> {
    let role = arns.iam(&format!("role/{FORWARDER_ROLE}"));
    vec![
        role_grant(role.clone()),
        Grant::write("PassTheForwarderRoleToEventBridge", &["iam:PassRole"])
            .on([role])
            .when(json!({"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}})),
    ]
}

fn home_bus(account: &Account) -> String {
    format!(
        "arn:{}:events:{}:{}:event-bus/default",
        account.partition, account.home_region, account.id
    )
}

fn forwarder_role_arn(account: &Account) -> String {
    format!(
        "arn:{}:iam::{}:role/{FORWARDER_ROLE}",
        account.partition, account.id
    )
}

/// The key policy: the account administers; EventBridge and CloudWatch alarms may use the
/// key to publish to the encrypted topic. CloudWatch's grant is for this account only; the
/// EventBridge grant carries no condition, because the Amazon SNS developer guide (key
/// management, compatibility with event sources from AWS services) says `aws:SourceAccount`
/// and `aws:SourceArn` are not supported there: with one, every rule invocation fails
/// (`FailedInvocations`) and no alert arrives. The topic policy still limits who may
/// publish through EventBridge to this account's rules.
///
/// With chat channels, AWS Chatbot may use the key too: the Chatbot guide does not say it
/// needs to, but users report that chat notifications from a topic encrypted with a
/// customer managed key stop until `chatbot.amazonaws.com` is allowed (see
/// docs/controls/chatbot.md). It receives the messages anyway; the grant lets it read them.
pub fn key_statements(account: &Account, chat: bool) -> Vec<Value> {
    let use_key = |sid: &str, service: &str| {
        json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*"
        })
    };
    let mut cloudwatch = use_key("BaselineCloudWatchUsesKey", "cloudwatch.amazonaws.com");
    cloudwatch["Condition"] = json!({ "StringEquals": { "aws:SourceAccount": account.id } });
    let mut out = vec![
        json!({
            "Sid": "BaselineAccountAdministers",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{}:iam::{}:root", account.partition, account.id) },
            "Action": "kms:*",
            "Resource": "*"
        }),
        use_key("BaselineEventBridgeUsesKey", "events.amazonaws.com"),
        cloudwatch,
    ];
    if chat {
        out.push(use_key("BaselineChatbotUsesKey", "chatbot.amazonaws.com"));
    }
    out
}

pub fn topic_statements(account: &Account, topic: &str) -> Vec<Value> {
    let publish = |sid: &str, service: &str| {
        json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": { "StringEquals": { "aws:SourceAccount": account.id } }
        })
    };
    vec![
        json!({
            "Sid": "BaselineAccountManages",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{}:iam::{}:root", account.partition, account.id) },
            "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"],
            "Resource": topic
        }),
        publish("BaselineEventBridgePublishes", "events.amazonaws.com"),
        publish("BaselineCloudWatchPublishes", "cloudwatch.amazonaws.com"),
    ]
}

fn forwarder_trust(account: &Account) -> Value {
    service_trust(
        "events.amazonaws.com",
        Some(json!({ "StringEquals": { "aws:SourceAccount": account.id } })),
    )
}

fn forwarder_policy(account: &Account) -> Value {
    json!({
        "Version": policy::VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": home_bus(account)
        }]
    })
}

/// The topic chat channels subscribe to: Chatbot renders its own format only, so chat
/// gets its own topic and rules, and mail keeps its sentence.
pub fn chat_topic(config: &NotificationsConfig) -> String {
    format!("{}-chat", config.topic.0)
}

/// The rules of the home region: one per finding source the baseline turns on, to the
/// mail topic; and, when chat channels are listed, one more per source to the chat topic.
pub fn home_rules(config: &NotificationsConfig, account: &Account) -> Vec<(Rule, String)> {
    let mut destinations = vec![(account.topic_arn(&config.topic.0), alerts::Format::Mail, "")];
    if config.chat_on() {
        destinations.push((
            account.topic_arn(&chat_topic(config)),
            alerts::Format::Chatbot,
            "-chat",
        ));
    }
    let mut out = Vec::new();
    for (topic, format, suffix) in &destinations {
        for source in config.alert_sources() {
            out.push((
                Rule {
                    name: format!("baseline-{}-findings{suffix}", source.key),
                    pattern: source.pattern.clone(),
                    enabled: true,
                    target: Some(RuleTarget {
                        id: TOPIC_TARGET.into(),
                        arn: topic.clone(),
                        role_arn: None,
                        paths: source.paths.clone(),
                        template: Some(format.template(&source)),
                    }),
                },
                match format {
                    alerts::Format::Chatbot => format!("{}, to chat", source.description),
                    _ => source.description.clone(),
                },
            ));
        }
    }
    out
}

/// The rule of every other region: the same sources, forwarded to the home bus.
pub fn forward_rule(account: &Account) -> Rule {
    Rule {
        name: FORWARD_RULE.into(),
        pattern: json!({
            "source": ["aws.guardduty", "aws.securityhub", "aws.access-analyzer"],
            "detail-type": ["GuardDuty Finding", "Security Hub Findings - Imported", "Access Analyzer Finding"]
        }),
        enabled: true,
        target: Some(RuleTarget {
            id: BUS_TARGET.into(),
            arn: home_bus(account),
            role_arn: Some(forwarder_role_arn(account)),
            paths: BTreeMap::new(),
            template: None,
        }),
    }
}

/// A topic's key and policy, and its subscriptions; None when it does not exist.
async fn observe_topic(
    sns: &aws_sdk_sns::Client,
    arn: &str,
) -> Result<(Option<Topic>, Vec<(String, String, String)>), AwsError> {
    match sns.get_topic_attributes().topic_arn(arn).send().await {
        Ok(out) => {
            let attrs = out.attributes();
            let get = |k: &str| attrs.and_then(|a| a.get(k)).cloned();
            let subs = sns
                .list_subscriptions_by_topic()
                .topic_arn(arn)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(aws_err("sns:ListSubscriptionsByTopic"))?;
            Ok((
                Some(Topic {
                    kms_key: get("KmsMasterKeyId").filter(|k| !k.is_empty()),
                    policy: policy::parse(get("Policy").as_deref()),
                }),
                subs.iter()
                    .map(|s| {
                        (
                            s.protocol().unwrap_or_default().to_owned(),
                            s.endpoint().unwrap_or_default().to_owned(),
                            s.subscription_arn().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
            ))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            Ok((None, Vec::new()))
        }
        Err(e) => Err(aws_err("sns:GetTopicAttributes")(e)),
    }
}

async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
    let account = Account::of(target);
    let kms = target.kms();
    let sns = target.session.sns(&target.home_region);
    let iam = target.iam();
    let events = target.session.eventbridge(&target.home_region);
    let arn = account.topic_arn(&desired.config.topic.0);
    let rules = home_rules(&desired.config, &account);

    let key = kms::observe_key(&kms, KEY_ALIAS, WHICH_KEY);
    let topic = observe_topic(&sns, &arn);
    let chat = async {
        match desired.config.chat_on() {
            true => observe_topic(&sns, &account.topic_arn(&chat_topic(&desired.config)))
                .await
                .map(|(t, _)| t),
            false => Ok(None),
        }
    };
    let role = observe_role(&iam, FORWARDER_ROLE, FORWARDER_POLICY);
    let live_rules = futures::future::try_join_all(
        rules
            .iter()
            .map(|(r, _)| observe_rule(&events, &r.name, &[TOPIC_TARGET, BUS_TARGET])),
    );
    let (key, topic, chat, role, live_rules) = tokio::join!(key, topic, chat, role, live_rules);
    let key = key?;
    let (topic, subscriptions) = topic?;
    let chat_topic = chat?;
    Ok(Observed {
        key_ids: key
            .as_ref()
            .map(|k| vec![k.id.clone(), k.arn.clone(), KEY_ALIAS.to_owned()])
            .unwrap_or_default(),
        key,
        topic,
        chat_topic,
        subscriptions,
        role: role?,
        rules: live_rules?.into_iter().flatten().collect(),
        forwarding: target.regions.iter().any(|r| *r != target.home_region),
        account,
    })
}

/// The proposal that puts `want` in place of `live`.
pub fn rule_proposal(
    address: String,
    want: &Rule,
    live: Option<&Rule>,
    description: &str,
) -> Proposal<Op> {
    events_rule::rule_proposal(address, want, live, description).map_op(|r| Op::Rule {
        name: r.name,
        description: r.description,
        pattern: r.pattern,
        target: r.target,
    })
}

/// The topic `name`, encrypted with our key, our statements merged into its policy.
fn topic_proposal(
    account: &Account,
    name: &str,
    live: Option<&Topic>,
    key_ids: &[String],
) -> Proposal<Op> {
    let arn = account.topic_arn(name);
    let address = format!("sns.topic[{name:?}]");
    let ours = topic_statements(account, &arn);
    let merged = policy::merge_by_sid(live.and_then(|t| t.policy.as_ref()), &ours);
    let Some(t) = live else {
        return Proposal::new(address, Action::Create)
            .after(json!({ "name": name, "kms_key": KEY_ALIAS, "policy": merged }))
            .op(Op::Topic {
                create: true,
                name: name.to_owned(),
                arn,
                kms_key: Some(KEY_ALIAS.into()),
                policy: Some(merged.to_string()),
            });
    };
    let ours_key = t.kms_key.as_ref().is_some_and(|k| key_ids.contains(k));
    let policy_changes = t.policy.as_ref() != Some(&merged);
    if ours_key && !policy_changes {
        return Proposal::new(address, Action::NoOp);
    }
    let mut before = json!({ "kms_key": t.kms_key });
    let mut after =
        json!({ "kms_key": if ours_key { t.kms_key.clone() } else { Some(KEY_ALIAS.to_owned()) } });
    if policy_changes {
        before["policy"] = t.policy.clone().unwrap_or(Value::Null);
        after["policy"] = merged.clone();
    }
    Proposal::new(address, Action::Update)
        .before(before)
        .after(after)
        .op(Op::Topic {
            create: false,
            name: name.to_owned(),
            arn,
            kms_key: (!ours_key).then(|| KEY_ALIAS.to_owned()),
            policy: policy_changes.then(|| merged.to_string()),
        })
}

pub fn plan(desired: &Desired, observed: &Observed) -> Vec<Proposal<Op>> {
    let account = &observed.account;
    let config = &desired.config;
    let mut out = Vec::new();

    // 1. The key.
    out.push(
        kms::key_proposal(
            format!("kms.notifications_key[{KEY_ALIAS:?}]"),
            KEY_ALIAS,
            WHICH_KEY,
            &key_statements(account, config.chat_on()),
            observed.key.as_ref(),
            "baseline: encrypts the security alerts topic",
        )
        .map_op(Op::Key),
    );

    // 2. The topics: encrypted with our key, our statements in their policies.
    let arn = account.topic_arn(&config.topic.0);
    out.push(topic_proposal(
        account,
        &config.topic.0,
        observed.topic.as_ref(),
        &observed.key_ids,
    ));
    if config.chat_on() {
        out.push(topic_proposal(
            account,
            &chat_topic(config),
            observed.chat_topic.as_ref(),
            &observed.key_ids,
        ));
    }

    // 3. Subscriptions: each listed address; others are left alone.
    let mut endpoints: Vec<(&str, &str)> = config
        .emails
        .iter()
        .map(|e| ("email", e.0.as_str()))
        .collect();
    if let Some(url) = &config.https_endpoint {
        endpoints.push(("https", url.0.as_str()));
    }
    for (protocol, endpoint) in endpoints {
        let address = format!("sns.subscription[\"{protocol}:{endpoint}\"]");
        let live = observed
            .subscriptions
            .iter()
            .find(|(p, e, _)| p == protocol && e.eq_ignore_ascii_case(endpoint));
        out.push(match live {
            Some((_, _, sub)) if sub == "PendingConfirmation" => {
                Proposal::new(address, Action::NoOp).reason(format!(
                    "waiting for {endpoint} to confirm the subscription (AWS sent a confirmation message)"
                ))
            }
            Some(_) => Proposal::new(address, Action::NoOp),
            None => Proposal::new(address, Action::Create)
                .after(json!({ "protocol": protocol, "endpoint": endpoint }))
                .reason(if protocol == "email" {
                    "AWS emails a confirmation link to this address; alerts arrive once it is clicked"
                } else {
                    "AWS posts a confirmation request to this endpoint; alerts arrive once it is confirmed"
                })
                .op(Op::Subscribe {
                    topic_arn: arn.clone(),
                    protocol: protocol.to_owned(),
                    endpoint: endpoint.to_owned(),
                }),
        });
    }

    // 4. The role that forwards other regions' findings to the home bus (when there are
    // other regions, or it exists and is ours to keep right).
    if observed.forwarding || observed.role.is_some() {
        out.push(
            role_proposal(
                format!("iam.role[{FORWARDER_ROLE:?}]"),
                &forwarder_trust(account),
                &forwarder_policy(account),
                observed.role.as_ref(),
            )
            .map_op(|(create, trust, policy)| Op::Role {
                create,
                trust,
                policy,
            }),
        );
    }

    // 5. The home region's rules.
    for (rule, description) in home_rules(config, account) {
        let address = format!("events.rule[\"{}\"][{:?}]", account.home_region, rule.name);
        let live = observed.rules.iter().find(|r| r.name == rule.name);
        out.push(rule_proposal(address, &rule, live, &description));
    }
    out
}

async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
    match op {
        Op::Key(op) => Ok(kms::apply_with(&target.kms(), op).await?),
        Op::Topic {
            create,
            name,
            arn,
            kms_key,
            policy,
        } => {
            let sns = target.session.sns(&target.home_region);
            if *create {
                let mut req = sns.create_topic().name(name);
                if let Some(k) = kms_key {
                    req = req.attributes("KmsMasterKeyId", k);
                }
                if let Some(p) = policy {
                    req = req.attributes("Policy", p);
                }
                req.send().await.map_err(aws_err("sns:CreateTopic"))?;
                return Ok(Applied::Done);
            }
            for (name, value) in [("KmsMasterKeyId", kms_key), ("Policy", policy)] {
                if let Some(v) = value {
                    sns.set_topic_attributes()
                        .topic_arn(arn)
                        .attribute_name(name)
                        .attribute_value(v)
                        .send()
                        .await
                        .map_err(aws_err("sns:SetTopicAttributes"))?;
                }
            }
            Ok(Applied::Done)
        }
        Op::Subscribe {
            topic_arn,
            protocol,
            endpoint,
        } => {
            target
                .session
                .sns(&target.home_region)
                .subscribe()
                .topic_arn(topic_arn)
                .protocol(protocol)
                .endpoint(endpoint)
                .send()
                .await
                .map_err(aws_err("sns:Subscribe"))?;
            Ok(Applied::Done)
        }
        Op::Role {
            create,
            trust,
            policy,
        } => put_role(
            &target.iam(),
            FORWARDER_ROLE,
            FORWARDER_POLICY,
            "baseline: forwards security findings to the home region's event bus",
            *create,
            trust.as_deref(),
            policy.as_deref(),
        )
        .await
        .map_err(TargetError::from),
        Op::Rule {
            name,
            description,
            pattern,
            target: rule_target,
        } => {
            events_rule::put_rule(
                &target.eventbridge(),
                name,
                description,
                pattern,
                rule_target,
            )
            .await
        }
    }
}

/// Every target region but the home one: forward findings to the home bus.
pub struct Forwarding;

impl Control for Forwarding {
    const NAME: &'static str = "notification_forwarding";
    const SCOPE: Scope = Scope::Regional;
    const AFTER: &'static [&'static str] = &["notifications"];
    type Desired = ();
    type Observed = (Account, Option<Rule>);
    type Op = Op;

    fn permissions(_desired: &Self::Desired, arns: &Arns) -> Vec<Grant> {
        let mut grants = vec![
            Grant::write("Notifications", &["events:PutRule", "events:PutTargets"])
                .and_read(&["events:DescribeRule", "events:ListTargetsByRule"])
                .on([arns.regional("events", &format!("rule/{FORWARD_RULE}"))]),
        ];
        grants.extend(forwarder_role(arns));
        grants
    }

    fn desired(baseline: &Baseline) -> Option<()> {
        baseline
            .notifications
            .as_ref()
            .filter(|n| n.enabled)
            .map(|_| ())
    }

    async fn observe(target: &Target, _: &()) -> Result<(Account, Option<Rule>), TargetError> {
        let account = Account::of(target);
        if target.region == target.home_region {
            return Ok((account, None));
        }
        let rule = observe_rule(&target.eventbridge(), FORWARD_RULE, &[BUS_TARGET]).await?;
        Ok((account, rule))
    }

    fn plan(_: &(), observed: &(Account, Option<Rule>), region: &str) -> Vec<Proposal<Op>> {
        let (account, live) = observed;
        if region == account.home_region {
            return Vec::new();
        }
        vec![rule_proposal(
            format!("events.rule[\"{region}\"][{FORWARD_RULE:?}]"),
            &forward_rule(account),
            live.as_ref(),
            "forwards security findings to the home region",
        )]
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        match op {
            Op::Rule {
                name,
                description,
                pattern,
                target: t,
            } => events_rule::put_rule(&target.eventbridge(), name, description, pattern, t).await,
            _ => Err(TargetError::Panicked(
                "notification_forwarding only forwards rules".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::{Bounded, Email};

    fn account() -> Account {
        Account::example("us-east-1")
    }

    fn config() -> NotificationsConfig {
        NotificationsConfig {
            enabled: true,
            topic: TopicName("baseline-security-alerts".into()),
            emails: vec![Email("sec@corp.test".into())],
            https_endpoint: None,
            guardduty_min_severity: Bounded(4),
            security_hub_severities: vec![SeverityLabel::High, SeverityLabel::Critical],
            access_analyzer: true,
            slack: vec![],
            teams: vec![],
            webhooks: vec![],
        }
    }

    fn fresh() -> Observed {
        Observed {
            account: account(),
            key: None,
            key_ids: vec![],
            topic: None,
            chat_topic: None,
            subscriptions: vec![],
            role: None,
            rules: vec![],
            forwarding: true,
        }
    }

    #[test]
    fn eventbridge_may_use_the_key_without_conditions_and_an_old_grant_is_corrected() {
        let ours = key_statements(&account(), false);
        let events = ours
            .iter()
            .find(|s| s["Sid"] == "BaselineEventBridgeUsesKey")
            .unwrap();
        assert_eq!(events["Principal"]["Service"], "events.amazonaws.com");
        assert!(events.get("Condition").is_none(), "{events}");
        let cloudwatch = ours
            .iter()
            .find(|s| s["Sid"] == "BaselineCloudWatchUsesKey")
            .unwrap();
        assert_eq!(
            cloudwatch["Condition"]["StringEquals"]["aws:SourceAccount"],
            "123456789012"
        );

        // A key made by an earlier version: the EventBridge grant has the condition.
        let mut old = ours.clone();
        old[1]["Condition"] = json!({ "StringEquals": { "aws:SourceAccount": "123456789012" } });
        let observed = Observed {
            key: Some(Key {
                id: "k-1".into(),
                arn: "arn:aws:kms:us-east-1:123456789012:key/k-1".into(),
                state: "Enabled".into(),
                rotation: true,
                policy: Some(json!({ "Version": policy::VERSION, "Statement": old })),
                tagged: true,
                ..Key::default()
            }),
            ..fresh()
        };
        let p = plan(&Desired { config: config() }, &observed);
        assert_eq!(p[0].action, Action::Update);
        let Some(Op::Key(kms::Op::Update {
            policy: Some(doc), ..
        })) = &p[0].op
        else {
            panic!("{:?}", p[0].op)
        };
        let doc: Value = serde_json::from_str(doc).unwrap();
        assert!(doc["Statement"][1].get("Condition").is_none(), "{doc}");
    }

    #[test]
    fn a_fresh_account_gets_key_topic_subscription_role_and_rules_in_order() {
        let p = plan(&Desired { config: config() }, &fresh());
        let addresses: Vec<&str> = p.iter().map(|p| p.address.as_str()).collect();
        assert_eq!(
            addresses,
            [
                "kms.notifications_key[\"alias/baseline-notifications\"]",
                "sns.topic[\"baseline-security-alerts\"]",
                "sns.subscription[\"email:sec@corp.test\"]",
                "iam.role[\"baseline-events-forwarder\"]",
                "events.rule[\"us-east-1\"][\"baseline-guardduty-findings\"]",
                "events.rule[\"us-east-1\"][\"baseline-securityhub-findings\"]",
                "events.rule[\"us-east-1\"][\"baseline-access-analyzer-findings\"]",
            ]
        );
        assert!(p.iter().all(|p| p.action == Action::Create));
        assert!(p[2].reason.as_deref().unwrap().contains("confirmation"));
        let Some(Op::Rule {
            pattern, target, ..
        }) = &p[4].op
        else {
            panic!()
        };
        let pattern: Value = serde_json::from_str(pattern).unwrap();
        assert_eq!(
            pattern["detail"]["severity"][0]["numeric"],
            json!([">=", 4])
        );
        let template = target.template.as_deref().unwrap();
        assert!(
            template.starts_with("\"GuardDuty found a threat of severity <severity>"),
            "{template}"
        );
        for placeholder in ["<severity>", "<title>", "<account>", "<region>"] {
            assert!(template.contains(placeholder), "{template}");
            let key = &placeholder[1..placeholder.len() - 1];
            assert!(target.paths.contains_key(key), "{key}");
        }
        assert_eq!(
            target.arn,
            "arn:aws:sns:us-east-1:123456789012:baseline-security-alerts"
        );
    }

    #[test]
    fn everything_in_place_is_no_change_and_a_pending_address_is_said() {
        let want = Desired { config: config() };
        let account = account();
        let arn = account.topic_arn("baseline-security-alerts");
        let key_doc = policy::merge_by_sid(None, &key_statements(&account, false));
        let observed = Observed {
            account: account.clone(),
            key: Some(Key {
                id: "k".into(),
                arn: "arn:aws:kms:us-east-1:123456789012:key/k".into(),
                state: "Enabled".into(),
                rotation: true,
                policy: Some(key_doc),
                tagged: true,
                ..Key::default()
            }),
            key_ids: vec![
                "k".into(),
                "arn:aws:kms:us-east-1:123456789012:key/k".into(),
                KEY_ALIAS.into(),
            ],
            topic: Some(Topic {
                kms_key: Some(KEY_ALIAS.into()),
                policy: Some(policy::merge_by_sid(
                    None,
                    &topic_statements(&account, &arn),
                )),
            }),
            chat_topic: None,
            subscriptions: vec![(
                "email".into(),
                "SEC@corp.test".into(),
                "PendingConfirmation".into(),
            )],
            role: Some(Role {
                trust: Some(forwarder_trust(&account)),
                policy: Some(forwarder_policy(&account)),
            }),
            rules: home_rules(&config(), &account)
                .into_iter()
                .map(|(r, _)| r)
                .collect(),
            forwarding: true,
        };
        let p = plan(&want, &observed);
        assert!(p.iter().all(|p| p.action == Action::NoOp), "{p:#?}");
        assert!(
            p[2].reason
                .as_deref()
                .unwrap()
                .contains("waiting for sec@corp.test")
        );
    }

    #[test]
    fn a_topic_on_another_key_moves_to_ours_and_keeps_its_statements() {
        let theirs = json!({"Sid": "Ops", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/ops"}, "Action": "sns:Publish", "Resource": "*"});
        let observed = Observed {
            topic: Some(Topic {
                kms_key: Some("alias/aws/sns".into()),
                policy: Some(json!({"Version": "2012-10-17", "Statement": [theirs.clone()]})),
            }),
            ..fresh()
        };
        let p = plan(&Desired { config: config() }, &observed);
        let Some(Op::Topic {
            create,
            kms_key,
            policy,
            ..
        }) = &p[1].op
        else {
            panic!()
        };
        assert!(!create);
        assert_eq!(kms_key.as_deref(), Some(KEY_ALIAS));
        let doc: Value = serde_json::from_str(policy.as_ref().unwrap()).unwrap();
        assert_eq!(doc["Statement"][0], theirs);
    }

    #[test]
    fn a_rule_with_our_name_but_another_pattern_is_corrected_in_place() {
        let account = account();
        let (want, _) = home_rules(&config(), &account).remove(0);
        let mut live = want.clone();
        live.pattern["detail"]["severity"][0]["numeric"] = json!([">=", 7]);
        live.target.as_mut().unwrap().template = Some("\"raw\"".into());
        let p = rule_proposal("a".into(), &want, Some(&live), "d");
        assert_eq!(p.action, Action::Update);
        assert_eq!(
            p.before.as_ref().unwrap()["pattern"]["detail"]["severity"][0]["numeric"],
            json!([">=", 7])
        );
        let Some(Op::Rule {
            name,
            pattern,
            target,
            ..
        }) = p.op
        else {
            panic!()
        };
        assert_eq!(name, "baseline-guardduty-findings");
        assert!(pattern.contains("4"));
        assert_eq!(target, want.target.unwrap());
        assert_eq!(
            rule_proposal("a".into(), &live, Some(&live), "d").action,
            Action::NoOp
        );
    }

    #[test]
    fn chat_channels_get_their_own_topic_and_rules_in_chatbots_format() {
        let mut c = config();
        c.slack = vec![super::super::chatbot::SlackChannel {
            workspace_id: super::super::chatbot::ChatId("T07AUTHED".into()),
            channel_id: super::super::chatbot::ChatId("C07ALERTS".into()),
        }];
        let p = plan(&Desired { config: c.clone() }, &fresh());
        let addresses: Vec<&str> = p.iter().map(|p| p.address.as_str()).collect();
        assert!(
            addresses.contains(&"sns.topic[\"baseline-security-alerts-chat\"]"),
            "{addresses:?}"
        );
        let rules = home_rules(&c, &account());
        let chat_rules: Vec<&Rule> = rules
            .iter()
            .map(|(r, _)| r)
            .filter(|r| r.name.ends_with("-chat"))
            .collect();
        assert_eq!(chat_rules.len(), 3);
        let key = p.iter().find(|p| p.address.starts_with("kms.")).unwrap();
        assert!(
            key.after
                .as_ref()
                .unwrap()
                .to_string()
                .contains("chatbot.amazonaws.com")
        );
        for r in chat_rules {
            let t = r.target.as_ref().unwrap();
            assert_eq!(
                t.arn,
                "arn:aws:sns:us-east-1:123456789012:baseline-security-alerts-chat"
            );
            let body: Value =
                serde_json::from_str(&t.template.as_ref().unwrap().replace(['<', '>'], ""))
                    .unwrap();
            assert_eq!(body["source"], "custom");
        }
        // The mail rules keep their sentence.
        let (mail, _) = &home_rules(&c, &account())[0];
        assert!(
            mail.target
                .as_ref()
                .unwrap()
                .template
                .as_ref()
                .unwrap()
                .starts_with("\"GuardDuty found")
        );
        // Without chat, no chat topic.
        let p = plan(&Desired { config: config() }, &fresh());
        assert!(!p.iter().any(|p| p.address.contains("-chat")));
    }

    #[test]
    fn a_home_region_only_run_needs_no_forwarder_role() {
        let alone = Observed {
            forwarding: false,
            ..fresh()
        };
        let p = plan(&Desired { config: config() }, &alone);
        assert!(
            p.iter().all(|p| !p.address.starts_with("iam.role")),
            "{p:?}"
        );
        assert_eq!(p.len(), 6);
    }
}
