//! Alert webhooks end to end: EventBridge API destinations holding URLs that come from
//! environment variables, rules whose transformers write each format's body, invoked
//! with a role limited to our destinations. The URL appears in no output: not the plan,
//! the JSON, the report or the `-vv` logs.

use crate::emulator::{Emulator, baseline_file, is_write, output};

const HOOKS: &str = r#"
regions = ["us-east-1", "eu-west-1"]
home_region = "us-east-1"

[notifications]
enabled = true

[[notifications.webhooks]]
name = "sec-slack"
format = "slack"
url_env = "BASELINE_TEST_SLACK_URL"

[[notifications.webhooks]]
name = "pager"
format = "json"
url_env = "BASELINE_TEST_PAGER_URL"
"#;

const SLACK: &str = "https://hooks.slack.com/services/T0TEST/B0TEST/SlackSecretToken123";
const SLACK_ROTATED: &str = "https://hooks.slack.com/services/T0TEST/B0TEST/RotatedSecret456";
const PAGER: &str = "https://events.pager.test/v2/enqueue?token=PagerSecret789";
const SECRETS: [&str; 3] = ["SlackSecretToken123", "RotatedSecret456", "PagerSecret789"];

fn assert_secret_free(what: &str, text: &str) {
    for s in SECRETS {
        assert!(
            !text.contains(s),
            "{what} shows the webhook URL ({s}):\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_get_a_destination_a_role_and_rules_and_the_url_is_never_shown() {
    let emu = Emulator::start();
    let f = baseline_file(HOOKS);

    // Without the variable: a clear error before any AWS call.
    emu.set_env("BASELINE_TEST_SLACK_URL", SLACK);
    let missing = emu.run(&["plan"], f.path());
    let text = output(&missing);
    assert_ne!(missing.status.code(), Some(0), "{text}");
    assert!(
        text.contains("notifications.webhooks[1].url_env")
            && text.contains("BASELINE_TEST_PAGER_URL is not set"),
        "{text}"
    );
    assert!(emu.requests().is_empty(), "{:?}", emu.requests());
    // A URL that is not HTTPS is refused the same way.
    emu.set_env("BASELINE_TEST_PAGER_URL", "http://events.pager.test/x");
    let plain = emu.run(&["plan"], f.path());
    assert_eq!(plain.status.code(), Some(1), "{}", output(&plain));
    assert!(output(&plain).contains("https://"), "{}", output(&plain));
    assert!(emu.requests().is_empty());
    emu.set_env("BASELINE_TEST_PAGER_URL", PAGER);

    let plan = emu.run(&["plan", "-vv"], f.path());
    let text = output(&plan);
    assert_eq!(plan.status.code(), Some(0), "{text}");
    assert_secret_free("plan -vv", &text);
    for expected in [
        "+ events.connection[\"us-east-1\"][\"baseline-webhooks\"]",
        "+ iam.role[\"baseline-webhooks-invoker\"]",
        "+ events.api_destination[\"us-east-1\"][\"baseline-webhook-sec-slack\"]",
        "https://hooks.slack.com/… (from $BASELINE_TEST_SLACK_URL)",
        "https://events.pager.test/… (from $BASELINE_TEST_PAGER_URL)",
        "+ events.rule[\"us-east-1\"][\"baseline-guardduty-to-sec-slack\"]",
        "+ events.rule[\"us-east-1\"][\"baseline-access-analyzer-to-pager\"]",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    let json = emu.run(&["plan", "--output", "json"], f.path());
    assert_secret_free("plan --output json", &output(&json));
    // Not even with every log on: the SDK's own request logs are capped.
    let traced = emu
        .baseline()
        .env("BASELINE_LOG", "trace")
        .args(["plan", "--baseline"])
        .arg(f.path())
        .output()
        .unwrap();
    assert_secret_free("plan with BASELINE_LOG=trace", &output(&traced));

    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let apply = emu.run(
        &[
            "apply",
            "--auto-approve",
            "-vv",
            "--report",
            report.to_str().unwrap(),
        ],
        f.path(),
    );
    let text = output(&apply);
    assert_eq!(apply.status.code(), Some(0), "{text}");
    assert_secret_free("apply -vv", &text);
    assert_secret_free("the report", &std::fs::read_to_string(&report).unwrap());

    // What EventBridge now holds.
    let events = aws_sdk_eventbridge::Client::new(&emu.sdk("us-east-1").await);
    let dest = events
        .describe_api_destination()
        .name("baseline-webhook-sec-slack")
        .send()
        .await
        .unwrap();
    assert_eq!(dest.invocation_endpoint(), Some(SLACK));
    assert_eq!(dest.http_method().map(|m| m.as_str()), Some("POST"));
    assert_eq!(dest.invocation_rate_limit_per_second(), Some(1));
    let connection = events
        .describe_connection()
        .name("baseline-webhooks")
        .send()
        .await
        .unwrap();
    assert_eq!(dest.connection_arn(), connection.connection_arn());
    let targets = events
        .list_targets_by_rule()
        .rule("baseline-guardduty-to-sec-slack")
        .send()
        .await
        .unwrap();
    let t = &targets.targets()[0];
    assert_eq!(Some(t.arn()), dest.api_destination_arn());
    assert_eq!(
        t.role_arn(),
        Some("arn:aws:iam::123456789012:role/baseline-webhooks-invoker")
    );
    let transformer = t.input_transformer().unwrap();
    assert!(
        transformer
            .input_template()
            .starts_with("{\"text\":\"GuardDuty found a threat of severity <severity>"),
        "{}",
        transformer.input_template()
    );
    assert_eq!(
        transformer.input_paths_map().unwrap()["severity"],
        "$.detail.severity"
    );
    let pager = events
        .list_targets_by_rule()
        .rule("baseline-securityhub-to-pager")
        .send()
        .await
        .unwrap();
    let template = pager.targets()[0]
        .input_transformer()
        .unwrap()
        .input_template();
    assert!(
        template.contains("\"source\":\"securityhub\""),
        "{template}"
    );
    // The role may invoke our destinations and nothing else.
    let iam = emu.iam().await;
    let policy = iam
        .get_role_policy()
        .role_name("baseline-webhooks-invoker")
        .policy_name("invoke-baseline-webhooks")
        .send()
        .await
        .unwrap();
    let doc = urlencoding_decode(policy.policy_document());
    assert!(
        doc.contains("events:InvokeApiDestination")
            && doc.contains("api-destination/baseline-webhook-*"),
        "{doc}"
    );
    emu.assert_converged(f.path());

    // Rotation: a new URL in the variable, one update, masked on both sides.
    emu.set_env("BASELINE_TEST_SLACK_URL", SLACK_ROTATED);
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert_secret_free("the rotation plan", &text);
    assert!(
        text.contains("~ events.api_destination[\"us-east-1\"][\"baseline-webhook-sec-slack\"]")
            && text.contains("https://hooks.slack.com/… (another URL)"),
        "{text}"
    );
    emu.clear_requests();
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));
    let writes: Vec<String> = emu
        .requests()
        .into_iter()
        .filter(is_write)
        .map(|r| r["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(writes, ["UpdateApiDestination"]);
    let dest = events
        .describe_api_destination()
        .name("baseline-webhook-sec-slack")
        .send()
        .await
        .unwrap();
    assert_eq!(dest.invocation_endpoint(), Some(SLACK_ROTATED));
    emu.assert_converged(f.path());
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
