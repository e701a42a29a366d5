//! GuardDuty end to end against the emulator.

use crate::emulator::{Emulator, baseline_file};
use aws_sdk_guardduty::types::{DetectorFeatureConfiguration, FeatureStatus};

const BASELINE: &str = r#"
regions = ["us-east-1", "eu-west-1"]

[guardduty]
enabled = true
finding_publishing_frequency = "SIX_HOURS"
[guardduty.features]
s3_data_events = true
eks_audit_logs = true
ebs_malware_protection = true
rds_login_events = true
lambda_network_logs = true
runtime_monitoring = false
"#;

async fn guardduty(emu: &Emulator, region: &str) -> aws_sdk_guardduty::Client {
    aws_sdk_guardduty::Client::new(&emu.sdk(region).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_account_apply_then_no_changes_and_no_writes() {
    let emu = Emulator::start();
    let f = baseline_file(BASELINE);
    let plan = emu.run(&["plan", "--detailed-exitcode"], f.path());
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(2), "{text}");
    assert!(
        text.contains("+ guardduty.detector[\"eu-west-1\"]"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{text}"
    );

    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&apply.stdout)
    );

    for region in ["us-east-1", "eu-west-1"] {
        let gd = guardduty(&emu, region).await;
        let ids = gd
            .list_detectors()
            .send()
            .await
            .unwrap()
            .detector_ids()
            .to_vec();
        assert_eq!(ids.len(), 1, "{region}: {ids:?}");
        let d = gd.get_detector().detector_id(&ids[0]).send().await.unwrap();
        assert_eq!(d.status().unwrap().as_str(), "ENABLED");
        assert_eq!(
            d.finding_publishing_frequency().unwrap().as_str(),
            "SIX_HOURS"
        );
        let on = |name: &str| {
            d.features()
                .iter()
                .find(|f| f.name().map(|n| n.as_str()) == Some(name))
                .and_then(|f| f.status())
                .map(|s| s.as_str().to_owned())
        };
        assert_eq!(on("S3_DATA_EVENTS").as_deref(), Some("ENABLED"));
        assert_eq!(on("LAMBDA_NETWORK_LOGS").as_deref(), Some("ENABLED"));
        assert_eq!(on("RUNTIME_MONITORING").as_deref(), Some("DISABLED"));
    }

    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_detector_is_re_enabled_not_duplicated() {
    let emu = Emulator::start();
    let gd = guardduty(&emu, "eu-west-1").await;
    let features: Vec<DetectorFeatureConfiguration> = [
        "S3_DATA_EVENTS",
        "EKS_AUDIT_LOGS",
        "EBS_MALWARE_PROTECTION",
        "RDS_LOGIN_EVENTS",
        "LAMBDA_NETWORK_LOGS",
        "RUNTIME_MONITORING",
    ]
    .iter()
    .map(|n| {
        DetectorFeatureConfiguration::builder()
            .name((*n).into())
            .status(if *n == "RUNTIME_MONITORING" {
                FeatureStatus::Disabled
            } else {
                FeatureStatus::Enabled
            })
            .build()
    })
    .collect();
    let id = gd
        .create_detector()
        .enable(false)
        .set_features(Some(features))
        .send()
        .await
        .unwrap();
    let id = id.detector_id().unwrap().to_owned();

    let f = baseline_file(BASELINE);
    let plan = emu.run(&["plan"], f.path());
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("~ guardduty.detector[\"eu-west-1\"]"),
        "{text}"
    );
    assert!(
        text.contains("~ status: \"DISABLED\" → \"ENABLED\""),
        "{text}"
    );
    assert!(
        text.contains("+ guardduty.detector[\"us-east-1\"]"),
        "{text}"
    );

    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&apply.stdout)
    );
    let ids = gd
        .list_detectors()
        .send()
        .await
        .unwrap()
        .detector_ids()
        .to_vec();
    assert_eq!(ids, vec![id.clone()], "a second detector was created");
    let d = gd.get_detector().detector_id(&id).send().await.unwrap();
    assert_eq!(d.status().unwrap().as_str(), "ENABLED");
    let status = |name: &str| {
        d.features()
            .iter()
            .find(|f| f.name().map(|n| n.as_str()) == Some(name))
            .and_then(|f| f.status())
            .map(|s| s.as_str().to_owned())
    };
    for name in [
        "S3_DATA_EVENTS",
        "EKS_AUDIT_LOGS",
        "EBS_MALWARE_PROTECTION",
        "RDS_LOGIN_EVENTS",
        "LAMBDA_NETWORK_LOGS",
    ] {
        assert_eq!(
            status(name).as_deref(),
            Some("ENABLED"),
            "{name} was clobbered: {:?}",
            d.features()
        );
    }
}

/// A detector where a team turned Runtime Monitoring on (GetDetector then reports both
/// RUNTIME_MONITORING and EKS_RUNTIME_MONITORING, as real GuardDuty does): the shipped
/// `runtime_monitoring = false` keeps it on, and nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn runtime_monitoring_a_team_turned_on_is_kept_and_nothing_is_sent() {
    let emu = Emulator::start();
    let gd = guardduty(&emu, "eu-west-1").await;
    let features: Vec<DetectorFeatureConfiguration> = [
        "S3_DATA_EVENTS",
        "EKS_AUDIT_LOGS",
        "EBS_MALWARE_PROTECTION",
        "RDS_LOGIN_EVENTS",
        "LAMBDA_NETWORK_LOGS",
        "RUNTIME_MONITORING",
    ]
    .iter()
    .map(|n| {
        DetectorFeatureConfiguration::builder()
            .name((*n).into())
            .status(FeatureStatus::Enabled)
            .build()
    })
    .collect();
    gd.create_detector()
        .enable(true)
        .finding_publishing_frequency("SIX_HOURS".into())
        .set_features(Some(features))
        .send()
        .await
        .unwrap();
    let text = r#"
regions = ["eu-west-1"]
[guardduty]
enabled = true
[guardduty.features]
s3_data_events = true
eks_audit_logs = true
ebs_malware_protection = true
rds_login_events = true
lambda_network_logs = true
runtime_monitoring = false
"#;
    let f = baseline_file(text);
    emu.assert_converged(f.path());

    // Turning it off is an explicit intent, shown as such.
    let off = baseline_file(
        &text
            .replace(
                "enabled = true\n[guardduty.features]",
                "enabled = true\ndisable = [\"runtime_monitoring\"]\n[guardduty.features]",
            )
            .replace("runtime_monitoring = false\n", ""),
    );
    let plan = emu.run(&["plan"], off.path());
    let out = String::from_utf8_lossy(&plan.stdout);
    assert!(out.contains("turns off RUNTIME_MONITORING"), "{out}");
    let apply = emu.run(&["apply", "--auto-approve"], off.path());
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&apply.stdout)
    );
    emu.assert_converged(off.path());
}

/// A protection plan a region does not offer is skipped there (and said), not a failed
/// region; the emulator refuses it in UpdateDetector and leaves it out of GetDetector.
#[tokio::test(flavor = "multi_thread")]
async fn a_protection_plan_a_region_does_not_offer_is_skipped_there() {
    let emu = Emulator::start();
    emu.guardduty_unavailable(serde_json::json!({ "eu-west-1": ["RDS_LOGIN_EVENTS"] }));
    let f = baseline_file(BASELINE);
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    let out = String::from_utf8_lossy(&apply.stdout);
    assert_eq!(apply.status.code(), Some(0), "{out}");
    let plan = emu.run(&["plan", "--detailed-exitcode"], f.path());
    let out = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(0), "{out}");
    assert!(
        out.contains("not offered in eu-west-1, skipped: RDS_LOGIN_EVENTS"),
        "{out}"
    );
    let gd = guardduty(&emu, "us-east-1").await;
    let ids = gd
        .list_detectors()
        .send()
        .await
        .unwrap()
        .detector_ids()
        .to_vec();
    let d = gd.get_detector().detector_id(&ids[0]).send().await.unwrap();
    assert!(
        d.features()
            .iter()
            .any(|f| f.name().map(|n| n.as_str()) == Some("RDS_LOGIN_EVENTS")
                && f.status().map(|s| s.as_str()) == Some("ENABLED"))
    );
}
