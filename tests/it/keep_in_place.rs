//! Notifications, the security contact, the run report and the HTML page, end to end
//! against the emulator.

use crate::emulator::{Emulator, baseline_file, output};
use serde_json::{Value, json};
use std::path::Path;

const BASELINE: &str = r#"
regions = ["us-east-1", "eu-west-1"]
home_region = "us-east-1"

[notifications]
enabled = true
topic = "baseline-security-alerts"
emails = ["secops@corp.test"]
https_endpoint = "https://hooks.corp.test/aws"
guardduty_min_severity = 4
security_hub_severities = ["HIGH", "CRITICAL"]
access_analyzer = true

[security_contact]
enabled = true
name = "Security team"
title = "Security"
email = "secops@corp.test"
phone = "+81-3-1234-5678"
"#;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:baseline-security-alerts";

async fn sns(emu: &Emulator) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&emu.sdk("us-east-1").await)
}

async fn events(emu: &Emulator, region: &str) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&emu.sdk(region).await)
}

/// The severity condition of the GuardDuty findings rule.
async fn guardduty_threshold(eb: &aws_sdk_eventbridge::Client) -> Value {
    let rule = eb
        .describe_rule()
        .name("baseline-guardduty-findings")
        .send()
        .await
        .unwrap();
    let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
    pattern["detail"]["severity"][0]["numeric"].clone()
}

async fn account(emu: &Emulator) -> aws_sdk_account::Client {
    aws_sdk_account::Client::new(&emu.sdk("us-east-1").await)
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_and_security_contact_apply_then_converge() {
    let emu = Emulator::start();
    let f = baseline_file(BASELINE);
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    let text = output(&apply);
    assert_eq!(apply.status.code(), Some(0), "{text}");
    assert!(text.contains("AWS emails a confirmation link"), "{text}");

    // The topic: encrypted with our key; EventBridge may publish, for this account only.
    let sns = sns(&emu).await;
    let attrs = sns
        .get_topic_attributes()
        .topic_arn(TOPIC)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    assert_eq!(attrs["KmsMasterKeyId"], "alias/baseline-notifications");
    let policy: Value = serde_json::from_str(&attrs["Policy"]).unwrap();
    let publish = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "BaselineEventBridgePublishes")
        .unwrap();
    assert_eq!(publish["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(
        publish["Condition"]["StringEquals"]["aws:SourceAccount"],
        "123456789012"
    );
    let kms = aws_sdk_kms::Client::new(&emu.sdk("us-east-1").await);
    let key = kms
        .describe_key()
        .key_id("alias/baseline-notifications")
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let key_policy = kms
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    assert!(
        key_policy
            .policy()
            .unwrap()
            .contains("BaselineEventBridgeUsesKey")
    );

    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(TOPIC)
        .send()
        .await
        .unwrap();
    let mut endpoints: Vec<(String, String)> = subs
        .subscriptions()
        .iter()
        .map(|s| {
            (
                s.protocol().unwrap().to_owned(),
                s.endpoint().unwrap().to_owned(),
            )
        })
        .collect();
    endpoints.sort();
    assert_eq!(
        endpoints,
        [
            ("email".to_owned(), "secops@corp.test".to_owned()),
            ("https".to_owned(), "https://hooks.corp.test/aws".to_owned())
        ]
    );

    // Home-region rules turn findings into sentences on the topic.
    let eb = events(&emu, "us-east-1").await;
    assert_eq!(guardduty_threshold(&eb).await, json!([">=", 4]));
    let targets = eb
        .list_targets_by_rule()
        .rule("baseline-guardduty-findings")
        .send()
        .await
        .unwrap();
    let t = &targets.targets()[0];
    assert_eq!(t.arn(), TOPIC);
    let x = t.input_transformer().unwrap();
    assert!(
        x.input_template()
            .contains("GuardDuty found a threat of severity <severity>")
    );
    assert_eq!(x.input_paths_map().unwrap()["title"], "$.detail.title");
    for name in [
        "baseline-securityhub-findings",
        "baseline-access-analyzer-findings",
    ] {
        let targets = eb.list_targets_by_rule().rule(name).send().await.unwrap();
        assert!(targets.targets()[0].input_transformer().is_some(), "{name}");
    }
    let hub = eb
        .describe_rule()
        .name("baseline-securityhub-findings")
        .send()
        .await
        .unwrap();
    let pattern: Value = serde_json::from_str(hub.event_pattern().unwrap()).unwrap();
    assert_eq!(
        pattern["detail"]["findings"]["Severity"]["Label"],
        json!(["HIGH", "CRITICAL"])
    );
    assert_eq!(
        pattern["detail"]["findings"]["Workflow"]["Status"],
        json!(["NEW"])
    );

    // Other regions forward to the home bus through the forwarder role.
    let eu = events(&emu, "eu-west-1").await;
    let targets = eu
        .list_targets_by_rule()
        .rule("baseline-findings-to-home-region")
        .send()
        .await
        .unwrap();
    let t = &targets.targets()[0];
    assert_eq!(
        t.arn(),
        "arn:aws:events:us-east-1:123456789012:event-bus/default"
    );
    assert_eq!(
        t.role_arn(),
        Some("arn:aws:iam::123456789012:role/baseline-events-forwarder")
    );

    // The security contact.
    let contact = account(&emu)
        .await
        .get_alternate_contact()
        .alternate_contact_type(aws_sdk_account::types::AlternateContactType::Security)
        .send()
        .await
        .unwrap();
    let c = contact.alternate_contact().unwrap();
    assert_eq!(
        (c.name(), c.email_address(), c.phone_number()),
        (
            Some("Security team"),
            Some("secops@corp.test"),
            Some("+81-3-1234-5678")
        )
    );

    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_topic_and_matching_contact_are_adopted() {
    let emu = Emulator::start();
    let sns = sns(&emu).await;
    let theirs = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "OpsPublish", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/ops"},
        "Action": "sns:Publish", "Resource": TOPIC
    }]});
    sns.create_topic()
        .name("baseline-security-alerts")
        .attributes("Policy", theirs.to_string())
        .send()
        .await
        .unwrap();
    account(&emu)
        .await
        .put_alternate_contact()
        .alternate_contact_type(aws_sdk_account::types::AlternateContactType::Security)
        .name("Security team")
        .title("Security")
        .email_address("secops@corp.test")
        .phone_number("+81-3-1234-5678")
        .send()
        .await
        .unwrap();

    // A rule with our name that someone loosened to severity 7.
    let eb = events(&emu, "us-east-1").await;
    eb.put_rule()
        .name("baseline-guardduty-findings")
        .event_pattern(
            r#"{"source":["aws.guardduty"],"detail":{"severity":[{"numeric":[">=",7]}]}}"#,
        )
        .send()
        .await
        .unwrap();

    let f = baseline_file(BASELINE);
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert!(
        text.contains("~ events.rule[\"us-east-1\"][\"baseline-guardduty-findings\"]"),
        "{text}"
    );
    assert!(
        text.contains("~ sns.topic[\"baseline-security-alerts\"]"),
        "{text}"
    );
    assert!(!text.contains("account.alternate_contact"), "{text}");

    emu.clear_requests();
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));
    let creates: Vec<Value> = emu
        .requests()
        .into_iter()
        .filter(|r| r["action"] == "CreateTopic" || r["action"] == "PutAlternateContact")
        .collect();
    assert!(creates.is_empty(), "{creates:?}");
    let attrs = sns
        .get_topic_attributes()
        .topic_arn(TOPIC)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    assert_eq!(attrs["KmsMasterKeyId"], "alias/baseline-notifications");
    assert!(
        attrs["Policy"].contains("OpsPublish"),
        "their statement was dropped"
    );
    assert_eq!(guardduty_threshold(&eb).await, json!([">=", 4]));
    let rules = eb
        .list_rules()
        .name_prefix("baseline-guardduty")
        .send()
        .await
        .unwrap();
    assert_eq!(rules.rules().len(), 1);
    emu.assert_converged(f.path());
}

#[test]
fn placeholder_contacts_are_refused_before_any_aws_call() {
    let emu = Emulator::start();
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/secure-account.toml"),
    )
    .unwrap();
    let enabled = shipped.replace(
        "[security_contact]                  # the account's SECURITY alternate contact\nenabled = false",
        "[security_contact]\nenabled = true",
    );
    assert_ne!(enabled, shipped);
    let f = baseline_file(&enabled);
    let out = emu.run(&["plan"], f.path());
    let text = output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("security_contact.email: \"security@example.com\" is a placeholder"),
        "{text}"
    );
    assert!(emu.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_file_follows_its_schema_and_the_html_page_its_structure() {
    let emu = Emulator::start();
    let f = baseline_file(BASELINE);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let page = dir.path().join("report.html");
    let apply = emu.run(
        &[
            "apply",
            "--auto-approve",
            "--detailed-exitcode",
            "--report",
            report.to_str().unwrap(),
            "--report-html",
            page.to_str().unwrap(),
        ],
        f.path(),
    );
    assert_eq!(apply.status.code(), Some(2), "{}", output(&apply));

    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["outcome"]["applied"], 10);
    assert_eq!(
        doc["baseline"]["sha256"],
        baseline::report::sha256_hex(BASELINE.as_bytes())
    );
    // The schema is not vacuous: a report without its account is refused.
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("account");
    assert!(!validator.is_valid(&broken));

    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<table class=\"matrix\">"));
    for row in [
        "security_contact",
        "notifications",
        "notification_forwarding",
    ] {
        assert!(
            html.contains(&format!("<tr data-control=\"{row}\">")),
            "{row}"
        );
    }
    assert_eq!(html.matches("<td class=\"changed\"").count(), 3, "{html}");

    // A second run: nothing to do, exit 0, and the plan page shows every cell compliant.
    let plan = emu.run(&["plan", "--output", "html"], f.path());
    let html = String::from_utf8(plan.stdout).unwrap();
    assert!(html.contains("<h1>baseline plan: account"), "{html}");
    assert_eq!(html.matches("<td class=\"compliant\"").count(), 3, "{html}");
    assert_eq!(
        html.matches("<td class=\"will-change\"").count(),
        0,
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_can_go_to_s3_with_the_run_time_in_its_key() {
    let emu = Emulator::start();
    let s3 = emu.s3().await;
    s3.create_bucket().bucket("reports").send().await.unwrap();
    let f = baseline_file(BASELINE);
    let out = emu.run(
        &[
            "apply",
            "--auto-approve",
            "--report",
            "s3://reports/baseline/{time}.json",
        ],
        f.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let listed = s3.list_objects_v2().bucket("reports").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("baseline/20") && keys[0].ends_with("Z.json") && !keys[0].contains(':'),
        "{keys:?}"
    );
    let body = s3
        .get_object()
        .bucket("reports")
        .key(keys[0])
        .send()
        .await
        .unwrap();
    let bytes = body.body.collect().await.unwrap().into_bytes();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["account"], "123456789012");
    assert_eq!(doc["outcome"]["applied"], 10);
}
