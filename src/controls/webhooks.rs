//! Alerts to webhooks (`[[notifications.webhooks]]`): a Slack incoming webhook, a Teams
//! workflow, any receiver of JSON. In the home region, through EventBridge API
//! destinations: one connection, one API destination per webhook holding its URL, and per
//! webhook one rule per finding source whose input transformer writes the format's body.
//! EventBridge invokes the destinations with a role that may invoke ours and nothing else.
//!
//! The URL is a secret: it is read from the environment variable the baseline names, when
//! `plan` or `apply` runs, and is never written in the plan, the report or the logs (they
//! show its host only). It is stored in the API destination, where anyone allowed
//! `events:DescribeApiDestination` on it can read it (docs/controls/notifications.md).

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::{AwsError, TargetError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use crate::toolkit::account::Account;
use crate::toolkit::alerts::{self, Format};
use crate::toolkit::events_rule::{self, PutRule, Rule, RuleTarget, observe_rule};
use crate::toolkit::iam_role::{
    Role, observe_role, put_role, role_grant, role_proposal, service_trust,
};
use crate::toolkit::policy;
use aws_sdk_eventbridge::types::{
    ApiDestinationHttpMethod, ConnectionAuthorizationType,
    CreateConnectionApiKeyAuthRequestParameters, CreateConnectionAuthRequestParameters,
};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;

pub struct Webhooks;

pub const CONNECTION: &str = "baseline-webhooks";
pub const ROLE: &str = "baseline-webhooks-invoker";
const ROLE_POLICY: &str = "invoke-baseline-webhooks";
const TARGET_ID: &str = "baseline-webhook";
/// Per webhook: at most one request a second (Slack's documented rate for an incoming
/// webhook); EventBridge queues and retries above it, for up to 24 hours.
const RATE_PER_SECOND: i32 = 1;
/// The connection's API key: a webhook URL carries its own secret, but a connection must
/// have an authorization. This header is all the receiver sees of it.
const KEY_HEADER: &str = "X-Baseline-Alert";
const KEY_VALUE: &str = "baseline";

/// One `[[notifications.webhooks]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub name: WebhookName,
    pub format: WebhookFormat,
    /// The environment variable that holds the URL.
    pub url_env: EnvName,
}

/// What the receiver expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    Slack,
    Teams,
    Json,
}

impl WebhookFormat {
    fn format(self) -> Format {
        match self {
            WebhookFormat::Slack => Format::Slack,
            WebhookFormat::Teams => Format::Teams,
            WebhookFormat::Json => Format::Json,
        }
    }
}

/// A webhook's name: 1 to 32 lowercase letters, digits and '-', so that every name made
/// from it fits EventBridge's 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookName(pub String);

impl<'de> Deserialize<'de> for WebhookName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if (1..=32).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            Ok(WebhookName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid webhook name {s:?}: expected 1 to 32 lowercase letters, digits or '-'"
            )))
        }
    }
}

/// An environment variable's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvName(pub String);

impl<'de> Deserialize<'de> for EnvName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut chars = s.chars();
        if chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            Ok(EnvName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid environment variable name {s:?}: expected letters, digits and '_', not starting with a digit (the URL itself goes in the variable, not here)"
            )))
        }
    }
}

/// A webhook URL. Its `Debug` shows the host only, so that no log or error can print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(url: String) -> Secret {
        Secret(url)
    }

    /// `https://host/…`: what the plan and the report show (never a `user:password@`).
    pub fn masked(&self) -> String {
        let rest = self.0.strip_prefix("https://").unwrap_or(&self.0);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        format!("https://{host}/…")
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with the URL replaced by its masked form (an error message that quotes it).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.0, &self.masked())
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

/// Why the URL in `var` cannot be used, or None when it is an https:// URL with a host.
pub fn url_problem(var: &str, value: Option<&str>) -> Option<String> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Some(format!(
            "the environment variable {var} is not set: it must hold the webhook's https:// URL"
        ));
    };
    let host = value
        .strip_prefix("https://")
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    if host.contains('@') {
        return Some(format!(
            "the environment variable {var} holds a URL with a user name or password before the host: put the secret in the path or query, as webhook URLs do"
        ));
    }
    if host.is_empty() || !host.contains('.') || value.contains(char::is_whitespace) {
        return Some(format!(
            "the environment variable {var} does not hold an https://host/path URL (EventBridge API destinations call HTTPS only)"
        ));
    }
    None
}

impl Webhook {
    fn destination(&self) -> String {
        format!("baseline-webhook-{}", self.name.0)
    }

    fn rule(&self, source: &alerts::Source) -> String {
        format!("baseline-{}-to-{}", source.key, self.name.0)
    }
}

/// The webhooks of a baseline, each with its URL as the environment had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub webhooks: Vec<(Webhook, Option<Secret>)>,
    pub sources: Vec<alerts::Source>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub arn: String,
    pub endpoint: Secret,
    pub method: String,
    pub rate: Option<i32>,
    pub connection_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub arn: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub account: Account,
    pub connection: Option<Connection>,
    pub role: Option<Role>,
    /// By webhook name.
    pub destinations: Vec<(String, Destination)>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Connection,
    Role {
        create: bool,
        trust: Option<String>,
        policy: Option<String>,
    },
    Destination {
        create: bool,
        name: String,
        url: Secret,
    },
    /// The rule; its target's ARN is looked up by the destination's name when the
    /// destination is made in the same run.
    Rule {
        put: PutRule,
        destination: Option<String>,
    },
}

impl Control for Webhooks {
    const NAME: &'static str = "webhooks";
    const SCOPE: Scope = Scope::Account;
    type Desired = Desired;
    type Observed = Observed;
    type Op = Op;

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let n = baseline.notifications.as_ref().filter(|n| n.enabled)?;
        if n.webhooks.is_empty() {
            return None;
        }
        Some(Desired {
            webhooks: n
                .webhooks
                .iter()
                .map(|w| {
                    let url = std::env::var(&w.url_env.0).ok().map(Secret::new);
                    (w.clone(), url)
                })
                .collect(),
            sources: n.alert_sources(),
        })
    }

    fn permissions(desired: &Desired, arns: &Arns) -> Vec<Grant> {
        let role = arns.iam(&format!("role/{ROLE}"));
        let mut rules = Vec::new();
        let mut destinations = Vec::new();
        for (w, _) in &desired.webhooks {
            destinations
                .push(arns.regional("events", &format!("api-destination/{}", w.destination())));
            for s in &desired.sources {
                rules.push(arns.regional("events", &format!("rule/{}", w.rule(s))));
            }
        }
        let connection = [
            arns.regional("events", &format!("connection/{CONNECTION}")),
            arns.regional("events", &format!("connection/{CONNECTION}/*")),
        ];
        // Creating or describing a destination also acts on its connection.
        destinations.extend(connection.iter().cloned());
        vec![
            Grant::write("WebhookConnection", &["events:CreateConnection"])
                .and_read(&["events:DescribeConnection"])
                .on(connection.clone()),
            // CreateConnection stores the connection's key in a Secrets Manager secret
            // that EventBridge manages (events!connection/…), as the caller.
            Grant::write(
                "WebhookConnectionSecret",
                &[
                    "secretsmanager:CreateSecret",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:DescribeSecret",
                ],
            )
            .on([arns.regional(
                "secretsmanager",
                &format!("secret:events!connection/{CONNECTION}/*"),
            )]),
            // EventBridge keeps connection secrets through its service-linked role
            // (AmazonEventBridgeApiDestinationsServiceRolePolicy), made on the first
            // connection of the account.
            Grant::write("EventBridgeApiDestinationsServiceRole", &["iam:CreateServiceLinkedRole"])
                .on([arns.iam("role/aws-service-role/apidestinations.events.amazonaws.com/AWSServiceRoleForAmazonEventBridgeApiDestinations")])
                .when(json!({"StringEquals": {"iam:AWSServiceName": "apidestinations.events.amazonaws.com"}})),
            Grant::write(
                "WebhookDestinations",
                &["events:CreateApiDestination", "events:UpdateApiDestination"],
            )
            .and_read(&["events:DescribeApiDestination"])
            .on(destinations),
            Grant::write("WebhookRules", &["events:PutRule", "events:PutTargets"])
                .and_read(&["events:DescribeRule", "events:ListTargetsByRule"])
                .on(rules),
            role_grant(role.clone()),
            Grant::write("PassTheWebhookRoleToEventBridge", &["iam:PassRole"])
                .on([role])
                .when(json!({"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}})),
        ]
    }

    async fn observe(target: &Target, desired: &Desired) -> Result<Observed, TargetError> {
        let events = target.session.eventbridge(&target.home_region);
        let iam = target.iam();
        let connection = async {
            match events.describe_connection().name(CONNECTION).send().await {
                Ok(c) => Ok(Some(Connection {
                    arn: c.connection_arn().unwrap_or_default().to_owned(),
                    state: c
                        .connection_state()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                })),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(aws_err("events:DescribeConnection")(e)),
            }
        };
        let destinations = futures::future::try_join_all(desired.webhooks.iter().map(|(w, _)| {
            let events = &events;
            async move {
                match events
                    .describe_api_destination()
                    .name(w.destination())
                    .send()
                    .await
                {
                    Ok(d) => Ok(Some((
                        w.name.0.clone(),
                        Destination {
                            arn: d.api_destination_arn().unwrap_or_default().to_owned(),
                            endpoint: Secret::new(
                                d.invocation_endpoint().unwrap_or_default().to_owned(),
                            ),
                            method: d
                                .http_method()
                                .map(|m| m.as_str().to_owned())
                                .unwrap_or_default(),
                            rate: d.invocation_rate_limit_per_second(),
                            connection_arn: d.connection_arn().unwrap_or_default().to_owned(),
                        },
                    ))),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_found_exception()) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(aws_err("events:DescribeApiDestination")(e)),
                }
            }
        }));
        let names: Vec<String> = desired
            .webhooks
            .iter()
            .flat_map(|(w, _)| desired.sources.iter().map(|s| w.rule(s)))
            .collect();
        let rules = futures::future::try_join_all(
            names.iter().map(|n| observe_rule(&events, n, &[TARGET_ID])),
        );
        let role = observe_role(&iam, ROLE, ROLE_POLICY);
        let (connection, destinations, rules, role) =
            tokio::join!(connection, destinations, rules, role);
        Ok(Observed {
            account: Account::of(target),
            connection: connection?,
            role: role?,
            destinations: destinations?.into_iter().flatten().collect(),
            rules: rules?.into_iter().flatten().collect(),
        })
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<Op>> {
        plan(desired, observed)
    }

    async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
        apply(target, op).await
    }
}

fn trust(account: &Account) -> Value {
    service_trust(
        "events.amazonaws.com",
        Some(json!({ "StringEquals": { "aws:SourceAccount": account.id } })),
    )
}

/// Invoke our API destinations, nothing else. Their ARNs end in a random id.
fn invoke_policy(account: &Account) -> Value {
    json!({
        "Version": policy::VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": "events:InvokeApiDestination",
            "Resource": format!(
                "arn:{}:events:{}:{}:api-destination/baseline-webhook-*",
                account.partition, account.home_region, account.id
            )
        }]
    })
}

fn role_arn(account: &Account) -> String {
    format!("arn:{}:iam::{}:role/{ROLE}", account.partition, account.id)
}

pub fn plan(desired: &Desired, observed: &Observed) -> Vec<Proposal<Op>> {
    let account = &observed.account;
    let region = &account.home_region;
    let mut out = Vec::new();

    // 1. The connection: API-key authorization, because a connection must have one.
    let address = format!("events.connection[\"{region}\"][{CONNECTION:?}]");
    out.push(match &observed.connection {
        None => Proposal::new(address, Action::Create)
            .after(json!({ "authorization": "API_KEY", "header": KEY_HEADER }))
            .reason("a webhook URL carries its own secret; the connection sends one fixed header")
            .op(Op::Connection),
        Some(c) if c.state == "AUTHORIZED" || c.state.is_empty() => Proposal::new(address, Action::NoOp),
        Some(c) => Proposal::new(address, Action::Kept).reason(format!(
            "the connection is {}: EventBridge holds alerts until it is authorized again (see the EventBridge console)",
            c.state
        )),
    });

    // 2. The role EventBridge invokes the destinations with.
    out.push(
        role_proposal(
            format!("iam.role[{ROLE:?}]"),
            &trust(account),
            &invoke_policy(account),
            observed.role.as_ref(),
        )
        .map_op(|(create, trust, policy)| Op::Role {
            create,
            trust,
            policy,
        }),
    );

    for (w, url) in &desired.webhooks {
        let name = w.destination();
        let address = format!("events.api_destination[\"{region}\"][{name:?}]");
        let live = observed
            .destinations
            .iter()
            .find(|(n, _)| *n == w.name.0)
            .map(|(_, d)| d);
        // 3. The destination, holding the URL.
        let Some(url) = url else {
            out.push(Proposal::new(address, Action::Deferred).reason(format!(
                "the environment variable {} is not set, so the webhook's URL is unknown",
                w.url_env.0
            )));
            continue;
        };
        let shown = format!("{} (from ${})", url.masked(), w.url_env.0);
        let connection_ok = |d: &Destination| {
            observed
                .connection
                .as_ref()
                .is_some_and(|c| c.arn == d.connection_arn)
        };
        out.push(match live {
            None => Proposal::new(address, Action::Create)
                .after(json!({
                    "url": shown,
                    "method": "POST",
                    "rate_per_second": RATE_PER_SECOND,
                    "connection": CONNECTION,
                }))
                .op(Op::Destination {
                    create: true,
                    name: name.clone(),
                    url: url.clone(),
                }),
            Some(d)
                if d.endpoint == *url
                    && d.method == "POST"
                    && d.rate == Some(RATE_PER_SECOND)
                    && connection_ok(d) =>
            {
                Proposal::new(address, Action::NoOp)
            }
            Some(d) => {
                let mut before = json!({});
                let mut after = json!({});
                if d.endpoint != *url {
                    before["url"] = json!(format!("{} (another URL)", d.endpoint.masked()));
                    after["url"] = json!(shown);
                }
                if d.method != "POST" {
                    before["method"] = json!(d.method);
                    after["method"] = json!("POST");
                }
                if d.rate != Some(RATE_PER_SECOND) {
                    before["rate_per_second"] = json!(d.rate);
                    after["rate_per_second"] = json!(RATE_PER_SECOND);
                }
                if !connection_ok(d) {
                    before["connection"] = json!(d.connection_arn);
                    after["connection"] = json!(CONNECTION);
                }
                Proposal::new(address, Action::Update)
                    .before(before)
                    .after(after)
                    .op(Op::Destination {
                        create: false,
                        name: name.clone(),
                        url: url.clone(),
                    })
            }
        });

        // 4. One rule per source, its body in the webhook's format.
        let arn = live.map(|d| d.arn.clone());
        for source in &desired.sources {
            let want = Rule {
                name: w.rule(source),
                pattern: source.pattern.clone(),
                enabled: true,
                target: Some(RuleTarget {
                    id: TARGET_ID.into(),
                    arn: arn
                        .clone()
                        .unwrap_or_else(|| format!("(the ARN of {name}, once made)")),
                    role_arn: Some(role_arn(account)),
                    paths: source.paths.clone(),
                    template: Some(w.format.format().template(source)),
                }),
            };
            let live_rule = observed.rules.iter().find(|r| r.name == want.name);
            out.push(
                events_rule::rule_proposal(
                    format!("events.rule[\"{region}\"][{:?}]", want.name),
                    &want,
                    live_rule,
                    &format!("{}, to the webhook {}", source.description, w.name.0),
                )
                .map_op(|put| Op::Rule {
                    put,
                    destination: arn.is_none().then(|| name.clone()),
                }),
            );
        }
    }
    out
}

async fn apply(target: &Target, op: &Op) -> Result<Applied, TargetError> {
    let events = target.session.eventbridge(&target.home_region);
    match op {
        Op::Connection => {
            let key = CreateConnectionApiKeyAuthRequestParameters::builder()
                .api_key_name(KEY_HEADER)
                .api_key_value(KEY_VALUE)
                .build()
                .map_err(|e| {
                    AwsError::invalid_response("events:CreateConnection", e.to_string())
                })?;
            match events
                .create_connection()
                .name(CONNECTION)
                .description("baseline: the connection of the alert webhooks")
                .authorization_type(ConnectionAuthorizationType::ApiKey)
                .auth_parameters(
                    CreateConnectionAuthRequestParameters::builder()
                        .api_key_auth_parameters(key)
                        .build(),
                )
                .send()
                .await
            {
                Ok(_) => Ok(Applied::Done),
                // Made by a run that was stopped, or by another one: it is ours.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_already_exists_exception()) =>
                {
                    Ok(Applied::Done)
                }
                Err(e) => Err(aws_err("events:CreateConnection")(e).into()),
            }
        }
        Op::Role {
            create,
            trust,
            policy,
        } => put_role(
            &target.iam(),
            ROLE,
            ROLE_POLICY,
            "baseline: lets EventBridge call the alert webhooks",
            *create,
            trust.as_deref(),
            policy.as_deref(),
        )
        .await
        .map_err(TargetError::from),
        Op::Destination { create, name, url } => {
            let connection = events
                .describe_connection()
                .name(CONNECTION)
                .send()
                .await
                .map_err(aws_err("events:DescribeConnection"))?;
            let connection = connection.connection_arn().unwrap_or_default().to_owned();
            let scrub = |mut e: AwsError| {
                e.message = e.message.map(|m| url.scrub(&m));
                TargetError::from(e)
            };
            let description =
                "baseline: an alert webhook (the URL comes from the baseline's url_env)";
            if *create {
                let sent = events
                    .create_api_destination()
                    .name(name)
                    .description(description)
                    .connection_arn(&connection)
                    .invocation_endpoint(url.expose())
                    .http_method(ApiDestinationHttpMethod::Post)
                    .invocation_rate_limit_per_second(RATE_PER_SECOND)
                    .send()
                    .await;
                match sent {
                    Ok(_) => return Ok(Applied::Done),
                    Err(e)
                        if !e
                            .as_service_error()
                            .is_some_and(|s| s.is_resource_already_exists_exception()) =>
                    {
                        return Err(scrub(aws_err("events:CreateApiDestination")(e)));
                    }
                    // Made meanwhile: put our settings on it.
                    Err(_) => {}
                }
            }
            events
                .update_api_destination()
                .name(name)
                .description(description)
                .connection_arn(&connection)
                .invocation_endpoint(url.expose())
                .http_method(ApiDestinationHttpMethod::Post)
                .invocation_rate_limit_per_second(RATE_PER_SECOND)
                .send()
                .await
                .map_err(|e| scrub(aws_err("events:UpdateApiDestination")(e)))?;
            Ok(Applied::Done)
        }
        Op::Rule { put, destination } => {
            let mut t = put.target.clone();
            if let Some(name) = destination {
                let d = events
                    .describe_api_destination()
                    .name(name)
                    .send()
                    .await
                    .map_err(aws_err("events:DescribeApiDestination"))?;
                t.arn = d.api_destination_arn().unwrap_or_default().to_owned();
            }
            events_rule::put_rule(&events, &put.name, &put.description, &put.pattern, &t).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(url: Option<&str>) -> (Webhook, Option<Secret>) {
        (
            Webhook {
                name: WebhookName("sec-slack".into()),
                format: WebhookFormat::Slack,
                url_env: EnvName("SLACK_URL".into()),
            },
            url.map(|u| Secret::new(u.to_owned())),
        )
    }

    const URL: &str = "https://hooks.slack.com/services/T000/B000/abcdefSECRET";

    fn desired(url: Option<&str>) -> Desired {
        Desired {
            webhooks: vec![hook(url)],
            sources: alerts::sources(4, &["HIGH"], true),
        }
    }

    fn fresh() -> Observed {
        Observed {
            account: Account::example("us-east-1"),
            connection: None,
            role: None,
            destinations: vec![],
            rules: vec![],
        }
    }

    #[test]
    fn a_fresh_account_gets_connection_role_destination_and_rules_without_the_url() {
        let p = plan(&desired(Some(URL)), &fresh());
        let addresses: Vec<&str> = p.iter().map(|p| p.address.as_str()).collect();
        assert_eq!(
            addresses,
            [
                "events.connection[\"us-east-1\"][\"baseline-webhooks\"]",
                "iam.role[\"baseline-webhooks-invoker\"]",
                "events.api_destination[\"us-east-1\"][\"baseline-webhook-sec-slack\"]",
                "events.rule[\"us-east-1\"][\"baseline-guardduty-to-sec-slack\"]",
                "events.rule[\"us-east-1\"][\"baseline-securityhub-to-sec-slack\"]",
                "events.rule[\"us-east-1\"][\"baseline-access-analyzer-to-sec-slack\"]",
            ]
        );
        assert!(p.iter().all(|p| p.action == Action::Create));
        let shown = format!("{p:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert_eq!(
            p[2].after.as_ref().unwrap()["url"],
            "https://hooks.slack.com/… (from $SLACK_URL)"
        );
        // The rules look up the destination's ARN once it exists.
        assert!(
            matches!(&p[3].op, Some(Op::Rule { destination: Some(d), .. }) if d == "baseline-webhook-sec-slack")
        );
        let Some(Op::Rule { put, .. }) = &p[3].op else {
            panic!()
        };
        assert_eq!(
            put.target.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/baseline-webhooks-invoker")
        );
        assert!(
            put.target
                .template
                .as_deref()
                .unwrap()
                .starts_with("{\"text\":")
        );
    }

    #[test]
    fn a_changed_url_is_updated_and_both_are_masked() {
        let mut o = fresh();
        o.connection = Some(Connection {
            arn: "arn:aws:events:us-east-1:123456789012:connection/baseline-webhooks/1".into(),
            state: "AUTHORIZED".into(),
        });
        o.destinations = vec![(
            "sec-slack".into(),
            Destination {
                arn: "arn:aws:events:us-east-1:123456789012:api-destination/baseline-webhook-sec-slack/2".into(),
                endpoint: Secret::new("https://hooks.slack.com/services/OLDSECRET".into()),
                method: "POST".into(),
                rate: Some(1),
                connection_arn: "arn:aws:events:us-east-1:123456789012:connection/baseline-webhooks/1".into(),
            },
        )];
        let p = plan(&desired(Some(URL)), &o);
        let d = &p[2];
        assert_eq!(d.action, Action::Update);
        assert_eq!(
            d.before.as_ref().unwrap()["url"],
            "https://hooks.slack.com/… (another URL)"
        );
        assert!(!format!("{p:?}").contains("SECRET"));
        // The rules now name the destination's ARN and need no lookup.
        assert!(matches!(
            &p[3].op,
            Some(Op::Rule {
                destination: None,
                ..
            })
        ));

        // The same URL: nothing to do there.
        o.destinations[0].1.endpoint = Secret::new(URL.into());
        let p = plan(&desired(Some(URL)), &o);
        assert_eq!(p[2].action, Action::NoOp);
    }

    #[test]
    fn an_unset_variable_defers_the_webhook_and_a_bad_url_is_explained() {
        let p = plan(&desired(None), &fresh());
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].action, Action::Deferred);
        assert!(p[2].reason.as_deref().unwrap().contains("SLACK_URL"));
        assert!(url_problem("X", None).unwrap().contains("not set"));
        assert!(
            url_problem("X", Some("http://hooks.slack.com/x"))
                .unwrap()
                .contains("https")
        );
        assert!(url_problem("X", Some(URL)).is_none());
        assert!(
            url_problem("X", Some("https://u:pw@hooks.test/x"))
                .unwrap()
                .contains("password")
        );
        assert_eq!(
            Secret::new("https://u:pw@hooks.test/x".into()).masked(),
            "https://hooks.test/…"
        );
        let s = Secret::new(URL.into());
        assert_eq!(
            s.scrub(&format!("bad endpoint {URL}")),
            "bad endpoint https://hooks.slack.com/…"
        );
    }
}
