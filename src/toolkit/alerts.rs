//! The findings that raise an alert, and the message each destination receives for one.
//!
//! One source (GuardDuty, Security Hub, IAM Access Analyzer) is one EventBridge pattern
//! and one sentence with `<placeholders>` filled from the event by an input transformer.
//! Each destination has its own rule per source, because each needs its own body: mail
//! (SNS) takes the sentence as a JSON string, AWS Chatbot drops anything but the events it
//! knows and its custom-notification JSON, Slack and Teams webhooks take their own JSON.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One source of findings, as a pattern and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Part of the rule names: `guardduty`, `securityhub`, `access-analyzer`.
    pub key: &'static str,
    /// A short title: "GuardDuty finding".
    pub title: &'static str,
    pub pattern: Value,
    /// What the rule matches, for its description.
    pub description: String,
    /// The input transformer's paths: placeholder name → JSON path in the event.
    pub paths: BTreeMap<String, String>,
    /// The sentence, with `<placeholder>`s. It holds no `"` or `\`, so it can sit inside
    /// a JSON string as it is.
    pub sentence: String,
}

/// The sources a baseline turns on: GuardDuty always, Security Hub when it lists
/// severities, Access Analyzer when asked.
pub fn sources(
    guardduty_min_severity: u32,
    hub_labels: &[&str],
    access_analyzer: bool,
) -> Vec<Source> {
    let paths = |p: &[(&str, &str)]| {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>()
    };
    let console = "https://console.aws.amazon.com";
    let mut out = vec![Source {
        key: "guardduty",
        title: "GuardDuty finding",
        pattern: json!({
            "source": ["aws.guardduty"],
            "detail-type": ["GuardDuty Finding"],
            "detail": { "severity": [{ "numeric": [">=", guardduty_min_severity] }] }
        }),
        description: format!("GuardDuty findings of severity {guardduty_min_severity} or more"),
        paths: paths(&[
            ("severity", "$.detail.severity"),
            ("title", "$.detail.title"),
            ("account", "$.account"),
            ("region", "$.region"),
            ("id", "$.detail.id"),
        ]),
        sentence: format!(
            "GuardDuty found a threat of severity <severity> in account <account>, region <region>: <title>. Details: {console}/guardduty/home?region=<region>#/findings?search=id%3D<id>"
        ),
    }];
    if !hub_labels.is_empty() {
        out.push(Source {
            key: "securityhub",
            title: "Security Hub finding",
            pattern: json!({
                "source": ["aws.securityhub"],
                "detail-type": ["Security Hub Findings - Imported"],
                "detail": { "findings": {
                    "Severity": { "Label": hub_labels },
                    "Workflow": { "Status": ["NEW"] },
                    "RecordState": ["ACTIVE"],
                    "Compliance": { "Status": ["FAILED"] }
                } }
            }),
            description: format!(
                "new, failed Security Hub findings of severity {}",
                hub_labels.join(" or ")
            ),
            paths: paths(&[
                ("severity", "$.detail.findings[0].Severity.Label"),
                ("title", "$.detail.findings[0].Title"),
                ("account", "$.detail.findings[0].AwsAccountId"),
                ("region", "$.detail.findings[0].Region"),
            ]),
            sentence: format!(
                "Security Hub reports a failed check of severity <severity> in account <account>, region <region>: <title>. Details: {console}/securityhub/home?region=<region>#/findings"
            ),
        });
    }
    if access_analyzer {
        out.push(Source {
            key: "access-analyzer",
            title: "IAM Access Analyzer finding",
            pattern: json!({
                "source": ["aws.access-analyzer"],
                "detail-type": ["Access Analyzer Finding"],
                "detail": { "status": ["ACTIVE"] }
            }),
            description: "active IAM Access Analyzer findings".into(),
            paths: paths(&[
                ("type", "$.detail.resourceType"),
                ("resource", "$.detail.resource"),
                ("account", "$.account"),
                ("region", "$.region"),
            ]),
            sentence: format!(
                "IAM Access Analyzer found <type> <resource> shared outside account <account>, region <region>. Details: {console}/access-analyzer/home?region=<region>#/findings"
            ),
        });
    }
    out
}

/// What a destination expects in the body of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// SNS to mail: the sentence (SNS takes the template's output, a JSON string).
    #[serde(skip)]
    Mail,
    /// SNS to AWS Chatbot: its custom-notification JSON (version 1.0, source "custom").
    #[serde(skip)]
    Chatbot,
    /// A Slack incoming webhook: `{"text": …}`.
    Slack,
    /// A Microsoft Teams workflow ("when a Teams webhook request is received"): a message
    /// with one Adaptive Card.
    Teams,
    /// Any other receiver: the finding's fields and the sentence, as one JSON object.
    Json,
}

impl Format {
    /// The input template of `source`'s transformer for this destination.
    pub fn template(self, source: &Source) -> String {
        let s = &source.sentence;
        let body = match self {
            Format::Mail => return format!("\"{s}\""),
            Format::Chatbot => json!({
                "version": "1.0",
                "source": "custom",
                "content": {
                    "textType": "client-markdown",
                    "title": format!(":rotating_light: {}", source.title),
                    "description": s,
                }
            }),
            Format::Slack => json!({ "text": s }),
            Format::Teams => json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            { "type": "TextBlock", "weight": "Bolder", "text": source.title },
                            { "type": "TextBlock", "wrap": true, "text": s }
                        ]
                    }
                }]
            }),
            Format::Json => {
                // `alert` names the kind; a finding's own title is its `title` field.
                let mut body = json!({ "source": source.key, "alert": source.title, "message": s });
                for name in source.paths.keys() {
                    body[name] = Value::String(format!("<{name}>"));
                }
                body
            }
        };
        body.to_string()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Mail => "mail",
            Format::Chatbot => "chatbot",
            Format::Slack => "slack",
            Format::Teams => "teams",
            Format::Json => "json",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_is_json_once_the_placeholders_are_filled() {
        for source in sources(4, &["HIGH"], true) {
            assert!(
                !source.sentence.contains(['"', '\\']),
                "{}",
                source.sentence
            );
            for format in [
                Format::Mail,
                Format::Chatbot,
                Format::Slack,
                Format::Teams,
                Format::Json,
            ] {
                let mut body = format.template(&source);
                for name in source.paths.keys() {
                    body = body.replace(&format!("<{name}>"), "x");
                }
                let v: Value = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{format:?} {body}: {e}"));
                assert!(!body.contains('<'), "{format:?} left a placeholder: {body}");
                if format == Format::Chatbot {
                    assert_eq!(v["version"], "1.0");
                    assert_eq!(v["source"], "custom");
                    assert!(
                        v["content"]["description"]
                            .as_str()
                            .unwrap()
                            .contains("account x")
                    );
                }
            }
        }
    }
}
