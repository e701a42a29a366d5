//! Security Hub and Inspector end to end against the emulator. moto has no Security Hub
//! standards calls, Detective or Access Analyzer: those paths are covered by the mocked
//! tests in their control modules.

use crate::emulator::{Emulator, baseline_file};
use aws_sdk_securityhub::types::ControlFindingGenerator;

const BASELINE: &str = r#"
regions = ["us-east-1", "eu-west-1"]

[security_hub]
enabled = true
standards = []   # the emulator has no standards API

[inspector]
enabled = true
ec2 = true
ecr = true
lambda = true
"#;

async fn security_hub(emu: &Emulator, region: &str) -> aws_sdk_securityhub::Client {
    aws_sdk_securityhub::Client::new(&emu.sdk(region).await)
}

async fn inspector(emu: &Emulator, region: &str) -> aws_sdk_inspector2::Client {
    aws_sdk_inspector2::Client::new(&emu.sdk(region).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_account_gets_security_hub_and_inspector_then_converges() {
    let emu = Emulator::start();
    let f = baseline_file(BASELINE);
    let plan = emu.run(&["plan", "--detailed-exitcode"], f.path());
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(2), "{text}");
    for region in ["us-east-1", "eu-west-1"] {
        assert!(
            text.contains(&format!("+ security_hub.hub[\"{region}\"]")),
            "{text}"
        );
        assert!(
            text.contains(&format!("+ inspector.scanning[\"{region}\"]")),
            "{text}"
        );
    }
    assert!(
        text.contains("+ enable_default_standards = false"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 4 to add, 0 to change, 0 to destroy."),
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
        let hub = security_hub(&emu, region)
            .await
            .describe_hub()
            .send()
            .await
            .unwrap();
        assert_eq!(
            hub.control_finding_generator(),
            Some(&ControlFindingGenerator::SecurityControl)
        );
        assert_eq!(hub.auto_enable_controls(), Some(true));
        let status = inspector(&emu, region)
            .await
            .batch_get_account_status()
            .account_ids("123456789012")
            .send()
            .await
            .unwrap();
        let state = status.accounts()[0].resource_state().unwrap();
        for (name, s) in [
            ("ec2", state.ec2()),
            ("ecr", state.ecr()),
            ("lambda", state.lambda()),
        ] {
            assert_eq!(s.unwrap().status().as_str(), "ENABLED", "{region} {name}");
        }
    }
    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_hub_is_adopted_not_enabled_again() {
    let emu = Emulator::start();
    security_hub(&emu, "eu-west-1")
        .await
        .enable_security_hub()
        .enable_default_standards(false)
        .send()
        .await
        .unwrap();
    let f = baseline_file(BASELINE);
    let plan = emu.run(&["plan"], f.path());
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(!text.contains("security_hub.hub[\"eu-west-1\"]"), "{text}");
    assert!(text.contains("+ security_hub.hub[\"us-east-1\"]"), "{text}");

    emu.clear_requests();
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&apply.stdout)
    );
    // EnableSecurityHub is `POST /accounts`; moto would accept a second one silently, so
    // the request log is the proof that the adopted region was not enabled again.
    let enables: Vec<String> = emu
        .requests()
        .into_iter()
        .filter(|r| {
            r["service"] == "securityhub" && r["method"] == "POST" && r["path"] == "/accounts"
        })
        .map(|r| r["region"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(enables, ["us-east-1"]);
    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_security_hub_does_not_stop_inspector() {
    let emu = Emulator::start();
    emu.inject_faults(serde_json::json!([{
        "region": "eu-west-1", "service": "securityhub",
        "code": "AccessDeniedException", "status": 403
    }]));
    let f = baseline_file(BASELINE);
    let apply = emu.run(&["apply", "--auto-approve", "--output", "json"], f.path());
    assert_eq!(apply.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&apply.stdout).unwrap();
    let failures = report["plan"]["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["address"], "security_hub[\"eu-west-1\"]");
    assert_eq!(failures[0]["error"]["kind"], "access_denied");
    let applied: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "applied")
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        applied,
        [
            "inspector.scanning[\"eu-west-1\"]",
            "inspector.scanning[\"us-east-1\"]",
            "security_hub.hub[\"us-east-1\"]"
        ]
    );
}
