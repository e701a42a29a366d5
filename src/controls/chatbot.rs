//! Alerts to Slack and Microsoft Teams channels through AWS Chatbot.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::{AwsError, TargetError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::account::Account;
use crate::toolkit::iam_role::{
    Role, observe_role, put_role, role_grant, role_proposal, service_trust,
};
use crate::toolkit::policy;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One `[[notifications.slack]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackChannel {
    /// The Slack workspace (team) id, `T…`.
    pub workspace_id: ChatId,
    /// The channel id, `C…` (Slack: channel details, at the bottom).
    pub channel_id: ChatId,
}

/// One `[[notifications.teams]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsChannel {
    pub tenant_id: ChatId,
    pub team_id: ChatId,
    pub channel_id: ChatId,
}

/// An id of a chat workspace, tenant, team or channel, as the chat application shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatId(pub String);

impl<'de> Deserialize<'de> for ChatId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if (1..=256).contains(&s.len()) && !s.contains(char::is_whitespace) {
            Ok(ChatId(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid id {s:?}: expected 1 to 256 characters without spaces"
            )))
        }
    }
}

impl ChatId {
    /// A value left as the shipped baselines write it: zeros, X's or "example".
    pub fn is_placeholder(&self) -> bool {
        let s = self.0.to_ascii_lowercase();
        s.contains("example")
            || s.chars()
                .skip(1)
                .filter(|c| c.is_ascii_alphanumeric())
                .all(|c| c == '0' || c == 'x')
    }
}

impl SlackChannel {
    /// A placeholder, or an id Chatbot's API would refuse (its model's patterns).
    pub(crate) fn problem(&self) -> Option<(String, String)> {
        let placeholder = placeholder(&[
            ("workspace_id", &self.workspace_id),
            ("channel_id", &self.channel_id),
        ]);
        let w = &self.workspace_id.0;
        let c = &self.channel_id.0;
        placeholder
            .or_else(|| {
                (!w.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
                .then(|| {
                    (
                        "workspace_id".to_owned(),
                        format!("{w:?}: a Slack workspace id is capitals and digits (T…)"),
                    )
                })
            })
            .or_else(|| {
                (!c.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| {
                    (
                        "channel_id".to_owned(),
                        format!(
                            "{c:?}: a Slack channel id is letters and digits (C…), not its name"
                        ),
                    )
                })
            })
    }
}

impl TeamsChannel {
    /// A placeholder, or an id Chatbot's API would refuse (its model's patterns).
    pub(crate) fn problem(&self) -> Option<(String, String)> {
        let uuid = |s: &str| {
            let parts: Vec<&str> = s.split('-').collect();
            parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
                && parts
                    .iter()
                    .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        let c = self.channel_id.0.to_ascii_lowercase();
        placeholder(&[
            ("tenant_id", &self.tenant_id),
            ("team_id", &self.team_id),
            ("channel_id", &self.channel_id),
        ])
        .or_else(|| {
            [("tenant_id", &self.tenant_id), ("team_id", &self.team_id)]
                .into_iter()
                .find(|(_, id)| !uuid(&id.0))
                .map(|(k, id)| {
                    (
                        k.to_owned(),
                        format!("{:?}: expected a UUID, from the channel's link", id.0),
                    )
                })
        })
        .or_else(|| {
            (!(c.contains("%3a") && c.contains("%40"))).then(|| {
                (
                    "channel_id".to_owned(),
                    format!(
                        "{:?}: expected the channel id URL-encoded, as the channel's link writes it (19%3A…%40thread.tacv2)",
                        self.channel_id.0
                    ),
                )
            })
        })
    }
}

fn placeholder(ids: &[(&str, &ChatId)]) -> Option<(String, String)> {
    ids.iter()
        .find(|(_, id)| id.is_placeholder())
        .map(|(key, id)| {
            (
                (*key).to_owned(),
                format!("{:?} {}", id.0, crate::baseline::PLACEHOLDER),
            )
        })
}

pub struct Chatbot;

pub const ROLE: &str = "baseline-chatbot";
const ROLE_POLICY: &str = "read-notifications";
/// The channels' guardrail, a ceiling on what the channel's role and its members may do:
/// the AWS managed CloudWatch read-only policy, on Chatbot's list of guardrail policies.
/// With the channel role's notifications-only permissions (CloudWatch reads), the
/// channel can read notifications and alarm charts, and do nothing else.
pub const GUARDRAIL: &str = "CloudWatchReadOnlyAccess";

/// What `[notifications]` asks of Chatbot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub slack: Vec<SlackChannel>,
    pub teams: Vec<TeamsChannel>,
    /// The chat topic's name (the notifications control makes it).
    pub topic: String,
}

/// A channel configuration as Chatbot has it (Slack or Teams).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    pub arn: String,
    /// The Slack workspace, or the Teams tenant and team (`tenant/team`).
    pub workspace: String,
    pub channel: String,
    pub topics: Vec<String>,
    pub role: String,
    pub logging: Option<String>,
    pub guardrails: Vec<String>,
    pub user_role_required: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub account: Account,
    pub role: Option<Role>,
    /// Slack workspaces authorised in the Chatbot console.
    pub slack_workspaces: Vec<String>,
    /// Teams teams authorised, as `tenant/team`.
    pub teams_authorised: Vec<String>,
    pub slack: Vec<ChannelConfig>,
    pub teams: Vec<ChannelConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    Slack,
    Teams,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Role {
        create: bool,
        trust: Option<String>,
        policy: Option<String>,
    },
    Create {
        app: App,
        name: String,
        /// Slack: the workspace; Teams: `tenant/team`.
        workspace: String,
        channel: String,
        topic: String,
        role: String,
        guardrail: String,
    },
    /// Our topic added to an existing configuration; the rest of it is sent back as it is.
    AddTopic {
        app: App,
        config: ChannelConfig,
        topics: Vec<String>,
    },
}

impl Control for Chatbot {
    const NAME: &'static str = "chatbot";
    const SCOPE: Scope = Scope::Account;
    const AFTER: &'static [&'static str] = &["notifications"];
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let n = baseline
            .notifications
            .as_ref()
            .filter(|n| n.enabled && n.chat_on())?;
        Some(Desired {
            slack: n.slack.clone(),
            teams: n.teams.clone(),
            topic: format!("{}-chat", n.topic.0),
        })
    }

    fn permissions(_desired: &Desired, arns: &Arns) -> Vec<Grant> {
        let role = arns.iam(&format!("role/{ROLE}"));
        vec![
            // Chatbot's configurations have no ARN before they exist, and its read
            // calls take no resource.
            Grant::write(
                "ChatChannels",
                &[
                    "chatbot:CreateSlackChannelConfiguration",
                    "chatbot:UpdateSlackChannelConfiguration",
                    "chatbot:CreateMicrosoftTeamsChannelConfiguration",
                    "chatbot:UpdateMicrosoftTeamsChannelConfiguration",
                ],
            )
            .and_read(&[
                "chatbot:DescribeSlackWorkspaces",
                "chatbot:DescribeSlackChannelConfigurations",
                "chatbot:ListMicrosoftTeamsConfiguredTeams",
                "chatbot:ListMicrosoftTeamsChannelConfigurations",
            ])
            .on(["*".to_owned()]),
            role_grant(role.clone()),
            Grant::write("PassTheChatRoleToChatbot", &["iam:PassRole"])
                .on([role])
                .when(json!({"StringEquals": {"iam:PassedToService": "chatbot.amazonaws.com"}})),
        ]
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        if target.partition != "aws" {
            return Err(TargetError::refused(
                "chatbot",
                format!(
                    "AWS Chatbot's API is offered in the aws partition only, not {}: use a webhook",
                    target.partition
                ),
            ));
        }
        let (iam, chatbot) = (target.iam(), target.chatbot());
        let (role, chat) = tokio::join!(
            observe_role(&iam, ROLE, ROLE_POLICY),
            observe_with(&chatbot, desired)
        );
        let (slack_workspaces, teams_authorised, slack, teams) = chat?;
        Ok(Observed {
            account: Account::of(target),
            role: role?,
            slack_workspaces,
            teams_authorised,
            slack,
            teams,
        })
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<Op>> {
        plan(desired, observed)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        match op {
            Op::Role {
                create,
                trust,
                policy,
            } => Ok(put_role(
                &target.iam(),
                ROLE,
                ROLE_POLICY,
                "baseline: AWS Chatbot's role for the security alert channels",
                *create,
                trust.as_deref(),
                policy.as_deref(),
            )
            .await?),
            op => Ok(apply_with(&target.chatbot(), op).await?),
        }
    }
}

type Seen = (
    Vec<String>,
    Vec<String>,
    Vec<ChannelConfig>,
    Vec<ChannelConfig>,
);

/// The authorised workspaces and teams, and the channel configurations, of the apps the
/// baseline lists.
pub async fn observe_with(
    client: &aws_sdk_chatbot::Client,
    desired: &Desired,
) -> Result<Seen, AwsError> {
    let slack = async {
        if desired.slack.is_empty() {
            return Ok::<_, AwsError>((Vec::new(), Vec::new()));
        }
        let workspaces: Vec<_> = client
            .describe_slack_workspaces()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("chatbot:DescribeSlackWorkspaces"))?;
        let configs: Vec<_> = client
            .describe_slack_channel_configurations()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("chatbot:DescribeSlackChannelConfigurations"))?;
        Ok((
            workspaces
                .iter()
                .flat_map(|p| p.slack_workspaces())
                .map(|w| w.slack_team_id().to_owned())
                .collect(),
            configs
                .iter()
                .flat_map(|p| p.slack_channel_configurations())
                .map(|c| ChannelConfig {
                    arn: c.chat_configuration_arn().to_owned(),
                    workspace: c.slack_team_id().to_owned(),
                    channel: c.slack_channel_id().to_owned(),
                    topics: c.sns_topic_arns().to_vec(),
                    role: c.iam_role_arn().to_owned(),
                    logging: c.logging_level().map(str::to_owned),
                    guardrails: c.guardrail_policy_arns().to_vec(),
                    user_role_required: c.user_authorization_required(),
                })
                .collect(),
        ))
    };
    let teams = async {
        if desired.teams.is_empty() {
            return Ok::<_, AwsError>((Vec::new(), Vec::new()));
        }
        let teams: Vec<_> = client
            .list_microsoft_teams_configured_teams()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("chatbot:ListMicrosoftTeamsConfiguredTeams"))?;
        let configs: Vec<_> = client
            .list_microsoft_teams_channel_configurations()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("chatbot:ListMicrosoftTeamsChannelConfigurations"))?;
        Ok((
            teams
                .iter()
                .flat_map(|p| p.configured_teams())
                .map(|t| format!("{}/{}", t.tenant_id(), t.team_id()))
                .collect(),
            configs
                .iter()
                .flat_map(|p| p.team_channel_configurations())
                .map(|c| ChannelConfig {
                    arn: c.chat_configuration_arn().to_owned(),
                    workspace: format!("{}/{}", c.tenant_id(), c.team_id()),
                    channel: c.channel_id().to_owned(),
                    topics: c.sns_topic_arns().to_vec(),
                    role: c.iam_role_arn().to_owned(),
                    logging: c.logging_level().map(str::to_owned),
                    guardrails: c.guardrail_policy_arns().to_vec(),
                    user_role_required: c.user_authorization_required(),
                })
                .collect(),
        ))
    };
    let (slack, teams) = tokio::join!(slack, teams);
    let ((slack_workspaces, slack), (teams_authorised, teams)) = (slack?, teams?);
    Ok((slack_workspaces, teams_authorised, slack, teams))
}

fn trust() -> Value {
    service_trust("chatbot.amazonaws.com", None)
}

/// The Chatbot guide's notifications-only permissions: read CloudWatch, to draw an
/// alarm's chart beside its notification.
fn read_notifications() -> Value {
    json!({
        "Version": policy::VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": ["cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*"],
            "Resource": "*"
        }]
    })
}

/// A configuration name Chatbot accepts: letters, digits, '-' and '_', at most 128.
fn config_name(app: App, channel: &str) -> String {
    let prefix = match app {
        App::Slack => "baseline-slack-",
        App::Teams => "baseline-teams-",
    };
    let id: String = channel
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("{prefix}{id}");
    name.truncate(128);
    name
}

pub fn plan(desired: &Desired, observed: &Observed) -> Vec<Proposal<Op>> {
    let account = &observed.account;
    let topic = account.topic_arn(&desired.topic);
    let role_arn = format!("arn:{}:iam::{}:role/{ROLE}", account.partition, account.id);
    let guardrail = format!("arn:{}:iam::aws:policy/{GUARDRAIL}", account.partition);
    let mut out = vec![
        role_proposal(
            format!("iam.role[{ROLE:?}]"),
            &trust(),
            &read_notifications(),
            observed.role.as_ref(),
        )
        .map_op(|(create, trust, policy)| Op::Role {
            create,
            trust,
            policy,
        }),
    ];
    let wanted = desired
        .slack
        .iter()
        .map(|c| (App::Slack, c.workspace_id.0.clone(), c.channel_id.0.clone()))
        .chain(desired.teams.iter().map(|c| {
            (
                App::Teams,
                format!("{}/{}", c.tenant_id.0, c.team_id.0),
                c.channel_id.0.clone(),
            )
        }));
    for (app, workspace, channel) in wanted {
        let (kind, authorised, live) = match app {
            App::Slack => ("slack", &observed.slack_workspaces, &observed.slack),
            App::Teams => ("teams", &observed.teams_authorised, &observed.teams),
        };
        let address = format!("chatbot.{kind}_channel[\"{workspace}\"][\"{channel}\"]");
        // Ids compared as Chatbot may spell them: any case, `%3a` or `%3A`.
        let live = live.iter().find(|c| {
            c.workspace.eq_ignore_ascii_case(&workspace) && c.channel.eq_ignore_ascii_case(&channel)
        });
        out.push(match live {
            Some(c) if c.topics.contains(&topic) => Proposal::new(address, Action::NoOp),
            Some(c) => {
                let mut topics = c.topics.clone();
                topics.push(topic.clone());
                let mut reason = "an existing channel configuration: the alert topic is added, its role, guardrails and logging stay as they are".to_owned();
                if c.guardrails.is_empty() {
                    reason.push_str(". Warning: it has no guardrail policy, which Chatbot treats as AdministratorAccess for its channel");
                }
                Proposal::new(address, Action::Update)
                    .before(json!({ "sns_topics": c.topics }))
                    .after(json!({ "sns_topics": topics }))
                    .reason(reason)
                    .op(Op::AddTopic {
                        app,
                        config: c.clone(),
                        topics,
                    })
            }
            None if !authorised.contains(&workspace) => {
                Proposal::new(address, Action::Deferred).reason(match app {
                    App::Slack => format!(
                        "the Slack workspace {workspace} is not authorised for AWS Chatbot in this account. A Slack workspace admin must do it once, in the console (no API can): Amazon Q Developer in chat applications (AWS Chatbot) > Configure new client > Slack > Allow. The next run then creates the channel configuration"
                    ),
                    App::Teams => format!(
                        "the Microsoft Teams team {workspace} (tenant/team) is not authorised for AWS Chatbot in this account. A Teams admin must do it once, in the console (no API can): Amazon Q Developer in chat applications (AWS Chatbot) > Configure new client > Microsoft Teams, paste the channel's link, and accept the permissions. The next run then creates the channel configuration"
                    ),
                })
            }
            None => {
                let name = config_name(app, &channel);
                Proposal::new(address, Action::Create)
                    .after(json!({
                        "name": name,
                        "sns_topics": [topic],
                        "role": role_arn,
                        "guardrails": [guardrail],
                        "logging": "NONE",
                    }))
                    .op(Op::Create {
                        app,
                        name,
                        workspace,
                        channel,
                        topic: topic.clone(),
                        role: role_arn.clone(),
                        guardrail: guardrail.clone(),
                    })
            }
        });
    }
    out
}

/// Chatbot's answer to a second configuration of one channel.
fn already_configured(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("already been configured"))
}

fn slack_taken(
    e: &aws_sdk_chatbot::operation::create_slack_channel_configuration::CreateSlackChannelConfigurationError,
) -> bool {
    use aws_sdk_chatbot::operation::create_slack_channel_configuration::CreateSlackChannelConfigurationError as E;
    match e {
        E::ConflictException(_) => true,
        E::InvalidRequestException(x) => already_configured(x.message()),
        _ => false,
    }
}

fn teams_taken(
    e: &aws_sdk_chatbot::operation::create_microsoft_teams_channel_configuration::CreateMicrosoftTeamsChannelConfigurationError,
) -> bool {
    use aws_sdk_chatbot::operation::create_microsoft_teams_channel_configuration::CreateMicrosoftTeamsChannelConfigurationError as E;
    match e {
        E::ConflictException(_) => true,
        E::InvalidRequestException(x) => already_configured(x.message()),
        _ => false,
    }
}

/// A role made moments before may not be usable by Chatbot yet (IAM is eventually
/// consistent): a create refused over its role is tried again, a few times.
const ROLE_RETRIES: u32 = 4;
const ROLE_WAIT: std::time::Duration =
    std::time::Duration::from_secs(if cfg!(test) { 0 } else { 5 });

/// `send` again while Chatbot refuses over the role (`not_ready`), up to [`ROLE_RETRIES`]
/// times [`ROLE_WAIT`] apart.
async fn until_role_ready<T, E, R, Fut>(
    send: impl Fn() -> Fut,
    not_ready: impl Fn(&E) -> bool,
) -> Result<T, aws_sdk_chatbot::error::SdkError<E, R>>
where
    Fut: std::future::Future<Output = Result<T, aws_sdk_chatbot::error::SdkError<E, R>>>,
{
    let mut tries = 0;
    loop {
        let sent = send().await;
        match &sent {
            Err(e) if tries < ROLE_RETRIES && e.as_service_error().is_some_and(&not_ready) => {
                tries += 1;
                tokio::time::sleep(ROLE_WAIT).await;
            }
            _ => return sent,
        }
    }
}

fn about_role(message: Option<&str>) -> bool {
    message.is_some_and(|m| {
        m.to_ascii_lowercase().contains("role") && !m.contains("already been configured")
    })
}

fn slack_role_not_ready(
    e: &aws_sdk_chatbot::operation::create_slack_channel_configuration::CreateSlackChannelConfigurationError,
) -> bool {
    use aws_sdk_chatbot::operation::create_slack_channel_configuration::CreateSlackChannelConfigurationError as E;
    match e {
        E::InvalidParameterException(x) => about_role(x.message()),
        E::InvalidRequestException(x) => about_role(x.message()),
        _ => false,
    }
}

fn teams_role_not_ready(
    e: &aws_sdk_chatbot::operation::create_microsoft_teams_channel_configuration::CreateMicrosoftTeamsChannelConfigurationError,
) -> bool {
    use aws_sdk_chatbot::operation::create_microsoft_teams_channel_configuration::CreateMicrosoftTeamsChannelConfigurationError as E;
    match e {
        E::InvalidParameterException(x) => about_role(x.message()),
        E::InvalidRequestException(x) => about_role(x.message()),
        _ => false,
    }
}

/// A create refused because Chatbot has a configuration the observation did not find.
fn configured_elsewhere(operation: &'static str) -> AwsError {
    AwsError::invalid_response(
        operation,
        "AWS Chatbot has a configuration for this channel (or one of this name), but none was found for the channel when the account was read: another run may have made it meanwhile, or the ids are written differently in the baseline; the next plan shows which",
    )
}

pub async fn apply_with(client: &aws_sdk_chatbot::Client, op: &Op) -> Result<Applied, AwsError> {
    match op {
        Op::Role { .. } => Err(AwsError::invalid_response(
            "chatbot",
            "the role is made through IAM",
        )),
        Op::Create {
            app: App::Slack,
            name,
            workspace,
            channel,
            topic,
            role,
            guardrail,
        } => {
            let request = client
                .create_slack_channel_configuration()
                .configuration_name(name)
                .slack_team_id(workspace)
                .slack_channel_id(channel)
                .sns_topic_arns(topic)
                .iam_role_arn(role)
                .guardrail_policy_arns(guardrail)
                .logging_level("NONE")
                .user_authorization_required(false);
            let sent = until_role_ready(|| request.clone().send(), slack_role_not_ready).await;
            match sent {
                Ok(_) => Ok(Applied::Done),
                // Observing found no configuration for this channel, yet Chatbot has one
                // (another run at the same time, or ids spelt differently): not done.
                Err(e) if e.as_service_error().is_some_and(slack_taken) => Err(
                    configured_elsewhere("chatbot:CreateSlackChannelConfiguration"),
                ),
                Err(e) => Err(aws_err("chatbot:CreateSlackChannelConfiguration")(e)),
            }
        }
        Op::Create {
            app: App::Teams,
            name,
            workspace,
            channel,
            topic,
            role,
            guardrail,
        } => {
            let (tenant, team) = workspace.split_once('/').unwrap_or((workspace, ""));
            let request = client
                .create_microsoft_teams_channel_configuration()
                .configuration_name(name)
                .tenant_id(tenant)
                .team_id(team)
                .channel_id(channel)
                .sns_topic_arns(topic)
                .iam_role_arn(role)
                .guardrail_policy_arns(guardrail)
                .logging_level("NONE")
                .user_authorization_required(false);
            let sent = until_role_ready(|| request.clone().send(), teams_role_not_ready).await;
            match sent {
                Ok(_) => Ok(Applied::Done),
                Err(e) if e.as_service_error().is_some_and(teams_taken) => Err(
                    configured_elsewhere("chatbot:CreateMicrosoftTeamsChannelConfiguration"),
                ),
                Err(e) => Err(aws_err("chatbot:CreateMicrosoftTeamsChannelConfiguration")(
                    e,
                )),
            }
        }
        // The update calls replace what they are given: the configuration's own role,
        // guardrails and logging are sent back with the longer topic list.
        Op::AddTopic {
            app: App::Slack,
            config: c,
            topics,
        } => {
            client
                .update_slack_channel_configuration()
                .chat_configuration_arn(&c.arn)
                .slack_channel_id(&c.channel)
                .set_sns_topic_arns(Some(topics.clone()))
                .iam_role_arn(&c.role)
                .set_logging_level(c.logging.clone())
                .set_guardrail_policy_arns((!c.guardrails.is_empty()).then(|| c.guardrails.clone()))
                .set_user_authorization_required(c.user_role_required)
                .send()
                .await
                .map_err(aws_err("chatbot:UpdateSlackChannelConfiguration"))?;
            Ok(Applied::Done)
        }
        Op::AddTopic {
            app: App::Teams,
            config: c,
            topics,
        } => {
            client
                .update_microsoft_teams_channel_configuration()
                .chat_configuration_arn(&c.arn)
                .channel_id(&c.channel)
                .set_sns_topic_arns(Some(topics.clone()))
                .iam_role_arn(&c.role)
                .set_logging_level(c.logging.clone())
                .set_guardrail_policy_arns((!c.guardrails.is_empty()).then(|| c.guardrails.clone()))
                .set_user_authorization_required(c.user_role_required)
                .send()
                .await
                .map_err(aws_err("chatbot:UpdateMicrosoftTeamsChannelConfiguration"))?;
            Ok(Applied::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_chatbot::operation::create_slack_channel_configuration::CreateSlackChannelConfigurationOutput;
    use aws_sdk_chatbot::operation::describe_slack_channel_configurations::DescribeSlackChannelConfigurationsOutput;
    use aws_sdk_chatbot::operation::describe_slack_workspaces::DescribeSlackWorkspacesOutput;
    use aws_sdk_chatbot::operation::list_microsoft_teams_channel_configurations::ListMicrosoftTeamsChannelConfigurationsOutput;
    use aws_sdk_chatbot::operation::list_microsoft_teams_configured_teams::ListMicrosoftTeamsConfiguredTeamsOutput;
    use aws_sdk_chatbot::operation::update_slack_channel_configuration::UpdateSlackChannelConfigurationOutput;
    use aws_sdk_chatbot::types::error::ConflictException;
    use aws_sdk_chatbot::types::{SlackChannelConfiguration, SlackWorkspace};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:baseline-security-alerts-chat";

    fn desired() -> Desired {
        Desired {
            slack: vec![
                SlackChannel {
                    workspace_id: ChatId("T07AUTHED".into()),
                    channel_id: ChatId("C07ALERTS".into()),
                },
                SlackChannel {
                    workspace_id: ChatId("T07NEWONE".into()),
                    channel_id: ChatId("C07OTHERS".into()),
                },
            ],
            teams: vec![TeamsChannel {
                tenant_id: ChatId("a1b2c3d4-1111-2222-3333-444455556666".into()),
                team_id: ChatId("b1b2c3d4-1111-2222-3333-444455556666".into()),
                channel_id: ChatId("19%3Aabc%40thread.tacv2".into()),
            }],
            topic: "baseline-security-alerts-chat".into(),
        }
    }

    fn workspaces() -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_chatbot::Client::describe_slack_workspaces).then_output(|| {
            DescribeSlackWorkspacesOutput::builder()
                .slack_workspaces(
                    SlackWorkspace::builder()
                        .slack_team_id("T07AUTHED")
                        .slack_team_name("Corp")
                        .build()
                        .unwrap(),
                )
                .build()
        })
    }

    fn teams_none() -> (aws_smithy_mocks::Rule, aws_smithy_mocks::Rule) {
        (
            mock!(aws_sdk_chatbot::Client::list_microsoft_teams_configured_teams)
                .then_output(|| ListMicrosoftTeamsConfiguredTeamsOutput::builder().build()),
            mock!(aws_sdk_chatbot::Client::list_microsoft_teams_channel_configurations)
                .then_output(|| ListMicrosoftTeamsChannelConfigurationsOutput::builder().build()),
        )
    }

    fn observed(seen: Seen) -> Observed {
        let (slack_workspaces, teams_authorised, slack, teams) = seen;
        Observed {
            account: Account::example("us-east-1"),
            role: None,
            slack_workspaces,
            teams_authorised,
            slack,
            teams,
        }
    }

    // The emulator has no Chatbot: its calls are mocked with the real shapes.
    #[tokio::test]
    async fn an_authorised_workspace_gets_a_channel_and_the_others_are_told_the_console_step() {
        let configs = mock!(aws_sdk_chatbot::Client::describe_slack_channel_configurations)
            .then_output(|| DescribeSlackChannelConfigurationsOutput::builder().build());
        let (teams, teams_configs) = teams_none();
        let ws = workspaces();
        let client = mock_client!(
            aws_sdk_chatbot,
            RuleMode::MatchAny,
            [&ws, &configs, &teams, &teams_configs]
        );
        let o = observed(observe_with(&client, &desired()).await.unwrap());
        assert_eq!(o.slack_workspaces, ["T07AUTHED"]);
        let p = plan(&desired(), &o);
        let actions: Vec<(&str, Action)> =
            p.iter().map(|p| (p.address.as_str(), p.action)).collect();
        assert_eq!(
            actions,
            [
                ("iam.role[\"baseline-chatbot\"]", Action::Create),
                (
                    "chatbot.slack_channel[\"T07AUTHED\"][\"C07ALERTS\"]",
                    Action::Create
                ),
                (
                    "chatbot.slack_channel[\"T07NEWONE\"][\"C07OTHERS\"]",
                    Action::Deferred
                ),
                (
                    "chatbot.teams_channel[\"a1b2c3d4-1111-2222-3333-444455556666/b1b2c3d4-1111-2222-3333-444455556666\"][\"19%3Aabc%40thread.tacv2\"]",
                    Action::Deferred
                ),
            ]
        );
        assert!(
            p[2].reason
                .as_deref()
                .unwrap()
                .contains("Configure new client > Slack")
        );
        assert!(p[3].reason.as_deref().unwrap().contains("Microsoft Teams"));
        let Some(Op::Create {
            name,
            guardrail,
            role,
            topic,
            ..
        }) = &p[1].op
        else {
            panic!("{:?}", p[1].op)
        };
        assert_eq!(name, "baseline-slack-C07ALERTS");
        assert_eq!(
            guardrail,
            "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"
        );
        assert_eq!(role, "arn:aws:iam::123456789012:role/baseline-chatbot");
        assert_eq!(topic, TOPIC);

        // Created once; a configuration of that name made by a stopped run is ours.
        let created = mock!(aws_sdk_chatbot::Client::create_slack_channel_configuration)
            .match_requests(|r| {
                r.slack_team_id() == Some("T07AUTHED")
                    && r.logging_level() == Some("NONE")
                    && r.sns_topic_arns() == [TOPIC.to_owned()]
                    && r.guardrail_policy_arns()
                        == ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess".to_owned()]
            })
            .then_output(|| CreateSlackChannelConfigurationOutput::builder().build());
        let client = mock_client!(aws_sdk_chatbot, RuleMode::MatchAny, [&created]);
        apply_with(&client, p[1].op.as_ref().unwrap())
            .await
            .unwrap();
        assert_eq!(created.num_calls(), 1);
        let conflict = mock!(aws_sdk_chatbot::Client::create_slack_channel_configuration)
            .then_error(|| {
                aws_sdk_chatbot::operation::create_slack_channel_configuration::CreateSlackChannelConfigurationError::ConflictException(
                    ConflictException::builder().message("exists").build(),
                )
            });
        let client = mock_client!(aws_sdk_chatbot, RuleMode::MatchAny, [&conflict]);
        let err = apply_with(&client, p[1].op.as_ref().unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("none was found"), "{err}");
        // What Chatbot answers when the channel is configured already (as reported): the
        // same, never a silent success that would repeat every run.
        let configured = mock!(aws_sdk_chatbot::Client::create_slack_channel_configuration)
            .then_error(|| {
                aws_sdk_chatbot::operation::create_slack_channel_configuration::CreateSlackChannelConfigurationError::InvalidRequestException(
                    aws_sdk_chatbot::types::error::InvalidRequestException::builder()
                        .message("Slack channel with ID C07ALERTS has already been configured for AWS account.")
                        .build(),
                )
            });
        let client = mock_client!(aws_sdk_chatbot, RuleMode::MatchAny, [&configured]);
        let err = apply_with(&client, p[1].op.as_ref().unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("none was found"), "{err}");

        // A role too new for Chatbot is waited for: refused once, then made.
        let not_ready = mock!(aws_sdk_chatbot::Client::create_slack_channel_configuration)
            .then_error(|| {
                aws_sdk_chatbot::operation::create_slack_channel_configuration::CreateSlackChannelConfigurationError::InvalidParameterException(
                    aws_sdk_chatbot::types::error::InvalidParameterException::builder()
                        .message("The IAM role cannot be assumed by AWS Chatbot.")
                        .build(),
                )
            });
        let made = mock!(aws_sdk_chatbot::Client::create_slack_channel_configuration)
            .then_output(|| CreateSlackChannelConfigurationOutput::builder().build());
        let client = mock_client!(aws_sdk_chatbot, RuleMode::Sequential, [&not_ready, &made]);
        apply_with(&client, p[1].op.as_ref().unwrap())
            .await
            .unwrap();
        assert_eq!((not_ready.num_calls(), made.num_calls()), (1, 1));

        // A Teams channel is created with its tenant and team split back out.
        let teams_op = Op::Create {
            app: App::Teams,
            name: "baseline-teams-x".into(),
            workspace: "a1b2c3d4-1111-2222-3333-444455556666/b1b2c3d4-1111-2222-3333-444455556666"
                .into(),
            channel: "19%3Aabc%40thread.tacv2".into(),
            topic: TOPIC.into(),
            role: "arn:aws:iam::123456789012:role/baseline-chatbot".into(),
            guardrail: "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess".into(),
        };
        let teams = mock!(aws_sdk_chatbot::Client::create_microsoft_teams_channel_configuration)
            .match_requests(|r| {
                r.tenant_id() == Some("a1b2c3d4-1111-2222-3333-444455556666")
                    && r.team_id() == Some("b1b2c3d4-1111-2222-3333-444455556666")
                    && r.channel_id() == Some("19%3Aabc%40thread.tacv2")
                    && r.logging_level() == Some("NONE")
            })
            .then_output(|| {
                aws_sdk_chatbot::operation::create_microsoft_teams_channel_configuration::CreateMicrosoftTeamsChannelConfigurationOutput::builder().build()
            });
        let client = mock_client!(aws_sdk_chatbot, RuleMode::MatchAny, [&teams]);
        apply_with(&client, &teams_op).await.unwrap();
        assert_eq!(teams.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_existing_channel_is_adopted_and_only_gets_the_topic() {
        let existing = |topics: Vec<String>| {
            SlackChannelConfiguration::builder()
                .slack_team_id("T07AUTHED")
                .slack_team_name("Corp")
                .slack_channel_id("C07ALERTS")
                .slack_channel_name("security-alerts")
                .chat_configuration_arn(
                    "arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ops",
                )
                .iam_role_arn("arn:aws:iam::123456789012:role/their-chatops")
                .set_sns_topic_arns(Some(topics))
                .guardrail_policy_arns("arn:aws:iam::aws:policy/ReadOnlyAccess")
                .logging_level("ERROR")
                .build()
                .unwrap()
        };
        let mine = desired();
        let one = Desired {
            slack: mine.slack[..1].to_vec(),
            teams: vec![],
            topic: mine.topic.clone(),
        };
        let theirs = "arn:aws:sns:us-east-1:123456789012:ops".to_owned();
        let t = theirs.clone();
        let configs = mock!(aws_sdk_chatbot::Client::describe_slack_channel_configurations)
            .then_output(move || {
                DescribeSlackChannelConfigurationsOutput::builder()
                    .slack_channel_configurations(existing(vec![t.clone()]))
                    .build()
            });
        let ws = workspaces();
        let client = mock_client!(aws_sdk_chatbot, RuleMode::MatchAny, [&ws, &configs]);
        let o = observed(observe_with(&client, &one).await.unwrap());
        let p = plan(&one, &o);
        assert_eq!(p[1].action, Action::Update);
        let Some(Op::AddTopic { topics, .. }) = &p[1].op else {
            panic!()
        };
        assert_eq!(topics, &[theirs.clone(), TOPIC.to_owned()]);

        // The update sends back their role, guardrail and logging with both topics.
        let update = mock!(aws_sdk_chatbot::Client::update_slack_channel_configuration)
            .match_requests(|r| {
                r.iam_role_arn() == Some("arn:aws:iam::123456789012:role/their-chatops")
                    && r.logging_level() == Some("ERROR")
                    && r.guardrail_policy_arns()
                        == ["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()]
                    && r.sns_topic_arns().len() == 2
            })
            .then_output(|| UpdateSlackChannelConfigurationOutput::builder().build());
        let client = mock_client!(aws_sdk_chatbot, RuleMode::MatchAny, [&update]);
        apply_with(&client, p[1].op.as_ref().unwrap())
            .await
            .unwrap();
        assert_eq!(update.num_calls(), 1);

        // With the topic in place, nothing to do.
        let mut o = o;
        o.slack[0].topics.push(TOPIC.into());
        assert_eq!(plan(&one, &o)[1].action, Action::NoOp);
    }

    #[test]
    fn placeholders_are_refused_and_real_ids_pass() {
        assert!(ChatId("T00000000".into()).is_placeholder());
        assert!(ChatId("C0XXXXXXX".into()).is_placeholder());
        assert!(ChatId("00000000-0000-0000-0000-000000000000".into()).is_placeholder());
        assert!(!ChatId("T07AUTHED".into()).is_placeholder());
        let c = SlackChannel {
            workspace_id: ChatId("T07AUTHED".into()),
            channel_id: ChatId("C00000000".into()),
        };
        assert_eq!(c.problem().unwrap().0, "channel_id");
        let bad = SlackChannel {
            workspace_id: ChatId("T07AUTHED".into()),
            channel_id: ChatId("#security".into()),
        };
        assert_eq!(bad.problem().unwrap().0, "channel_id");
        let teams = TeamsChannel {
            tenant_id: ChatId("a1b2c3d4-1111-2222-3333-444455556666".into()),
            team_id: ChatId("b1b2c3d4-1111-2222-3333-444455556666".into()),
            channel_id: ChatId("19:abc@thread.tacv2".into()),
        };
        assert_eq!(teams.problem().unwrap().0, "channel_id");
        // Ids Chatbot spells in another case are the same channel.
        let d = Desired {
            slack: vec![SlackChannel {
                workspace_id: ChatId("T07AUTHED".into()),
                channel_id: ChatId("C07ALERTS".into()),
            }],
            teams: vec![],
            topic: "t".into(),
        };
        let mut o = Observed {
            account: Account::example("us-east-1"),
            role: None,
            slack_workspaces: vec!["T07AUTHED".into()],
            teams_authorised: vec![],
            slack: vec![ChannelConfig {
                arn: "a".into(),
                workspace: "T07AUTHED".into(),
                channel: "c07alerts".into(),
                topics: vec!["arn:aws:sns:us-east-1:123456789012:t".into()],
                role: "r".into(),
                logging: None,
                guardrails: vec![],
                user_role_required: None,
            }],
            teams: vec![],
        };
        assert_eq!(plan(&d, &o)[1].action, Action::NoOp);
        // Adopting one without guardrails says what that means.
        o.slack[0].topics.clear();
        assert!(
            plan(&d, &o)[1]
                .reason
                .as_deref()
                .unwrap()
                .contains("AdministratorAccess")
        );
        assert_eq!(
            config_name(App::Teams, "19%3Aabc%40thread.tacv2"),
            "baseline-teams-19-3Aabc-40thread-tacv2"
        );
    }
}
