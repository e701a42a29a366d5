//! The apply graph end to end: a control waits only for what it names in `AFTER`, in the
//! same region, and a dependency that fails to be observed or applied stops exactly the
//! changes that need it.

use crate::audit_trail::{BASELINE, TRAIL_BUCKET};
use crate::emulator::{Emulator, baseline_file, output};
use serde_json::{Value, json};

/// The audit trail's baseline, with notifications and EBS encryption beside it.
fn baseline() -> String {
    format!("{BASELINE}{MORE}")
}

const MORE: &str = r#"
[notifications]
enabled = true
topic = "baseline-security-alerts"
emails = ["secops@corp.test"]
guardduty_min_severity = 4
security_hub_severities = ["HIGH", "CRITICAL"]
access_analyzer = true

[ebs_encryption]
enabled = true
"#;

fn sent(emu: &Emulator, action: &str) -> Vec<Value> {
    emu.requests()
        .into_iter()
        .filter(|r| r["action"] == action)
        .collect()
}

fn report(emu: &Emulator, args: &[&str], baseline: &std::path::Path) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let mut all = args.to_vec();
    let flag = format!("--report={}", path.display());
    all.push(&flag);
    let out = emu.run(&all, baseline);
    let text = output(&out);
    let json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (json, text)
}

/// The report's changes of one control that are changes (not no-ops).
fn changes_of<'a>(report: &'a Value, control: &str) -> Vec<&'a Value> {
    let changes: Vec<&Value> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["control"] == control && c["status"] != "none")
        .collect();
    assert!(!changes.is_empty(), "no {control} change in the report");
    changes
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_log_buckets_cannot_be_observed_no_trail_or_recorder_is_created() {
    let emu = Emulator::start();
    let f = baseline_file(&baseline());
    // This identity may not read the trail bucket: the log buckets cannot be observed.
    emu.inject_faults(json!([{"service": "s3", "method": "HEAD",
        "path": format!("/{TRAIL_BUCKET}/"), "code": "Forbidden", "status": 403}]));
    emu.clear_requests();
    let (report, text) = report(&emu, &["apply", "--auto-approve"], f.path());
    assert!(sent(&emu, "CreateTrail").is_empty(), "{text}");
    assert!(sent(&emu, "PutConfigurationRecorder").is_empty(), "{text}");
    assert!(
        text.contains("not attempted: log_buckets, which it depends on, could not be observed"),
        "{text}"
    );
    for change in changes_of(&report, "cloudtrail")
        .into_iter()
        .chain(changes_of(&report, "config"))
    {
        assert_eq!(change["status"], "failed", "{change}");
        assert_eq!(change["error"]["code"], "DependencyFailed", "{change}");
    }
    // What does not depend on the buckets went on: the log key, EBS encryption, the
    // notifications, the Config role.
    assert!(!sent(&emu, "CreateKey").is_empty(), "{text}");
    assert!(
        !sent(&emu, "EnableEbsEncryptionByDefault").is_empty(),
        "{text}"
    );
    assert!(!sent(&emu, "CreateTopic").is_empty(), "{text}");

    // Once the bucket can be read, the next run creates what was held back.
    emu.inject_faults(json!([]));
    let again = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(again.status.code(), Some(0), "{}", output(&again));
    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_notification_rule_blocks_only_its_region_and_never_the_audit_trail() {
    let emu = Emulator::start();
    let f = baseline_file(&baseline());
    emu.inject_faults(json!([{"service": "events", "region": "eu-west-1",
        "action": "PutRule", "code": "AccessDeniedException", "status": 400}]));
    emu.clear_requests();
    let (report, text) = report(&emu, &["apply", "--auto-approve"], f.path());
    let failed = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| c["address"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert!(!failed.is_empty(), "{text}");
    assert!(
        failed.iter().all(|a| a.contains("eu-west-1")),
        "only the rule in eu-west-1 failed: {failed:?}\n{text}"
    );
    for change in changes_of(&report, "notification_forwarding") {
        let region = change["region"].as_str().unwrap();
        let status = if region == "eu-west-1" {
            "failed"
        } else {
            "applied"
        };
        assert_eq!(change["status"], status, "{change}");
    }
    assert_eq!(sent(&emu, "CreateTrail").len(), 1, "{text}");
    assert!(!sent(&emu, "PutConfigurationRecorder").is_empty(), "{text}");
    for change in changes_of(&report, "cloudtrail") {
        assert_eq!(change["status"], "applied", "{change}");
    }
    assert!(!text.contains("DependencyFailed"), "{text}");

    emu.inject_faults(json!([]));
    let again = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(again.status.code(), Some(0), "{}", output(&again));
    emu.assert_converged(f.path());
}
