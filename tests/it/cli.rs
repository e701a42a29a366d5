//! End-to-end tests of the `baseline` binary against the emulator.

use crate::emulator::{Emulator, baseline_file, is_write};
use serde_json::{Value, json};
use std::path::Path;

const MINIMAL: &str = "baselines/minimal.toml";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn two_regions(extra: &str) -> tempfile::NamedTempFile {
    let minimal = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/baselines/minimal.toml"
    ))
    .unwrap();
    let body = minimal.replace(
        "regions = \"all\"",
        "regions = [\"us-east-1\", \"eu-west-1\"]",
    );
    assert_ne!(body, minimal);
    baseline_file(&format!("{body}\n{extra}"))
}

#[test]
fn fresh_account_plan_apply_plan_and_a_second_apply_writes_nothing() {
    let emu = Emulator::start();

    let plan = emu.run(&["plan", "--detailed-exitcode"], Path::new(MINIMAL));
    let text = stdout(&plan);
    assert_eq!(plan.status.code(), Some(2), "{text}{}", stderr(&plan));
    assert!(text.contains("20 regions targeted"), "{text}");
    assert!(
        text.contains("Skipped 14 regions (opt-in region not enabled in this account)"),
        "{text}"
    );
    assert!(text.contains("+ iam.password_policy"), "{text}");
    assert!(text.contains("+ s3.account_public_access_block"), "{text}");
    assert!(
        text.contains("~ ec2.ebs_encryption[\"eu-west-1\"]"),
        "{text}"
    );
    assert!(
        text.contains("~ encryption_by_default: false → true"),
        "{text}"
    );
    assert!(text.contains("- ec2.default_vpc[\"eu-west-1\"]"), "{text}");
    assert!(text.contains("- cidr = \"172.31.0.0/16\""), "{text}");
    assert!(
        !text.contains("us-gov-") && !text.contains("cn-north"),
        "other partitions leak: {text}"
    );
    assert!(
        text.ends_with("Plan: 2 to add, 20 to change, 20 to destroy.\n"),
        "{text}"
    );

    let apply = emu.run(
        &["apply", "--auto-approve", "--detailed-exitcode"],
        Path::new(MINIMAL),
    );
    let text = stdout(&apply);
    assert_eq!(apply.status.code(), Some(2), "{text}{}", stderr(&apply));
    assert!(
        text.contains("ec2.default_vpc[\"us-east-1\"]: destroyed"),
        "{text}"
    );
    assert!(
        text.contains("Apply complete! Resources: 2 added, 20 changed, 20 destroyed."),
        "{text}"
    );

    let plan = emu.run(&["plan", "--detailed-exitcode"], Path::new(MINIMAL));
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    assert!(stdout(&plan).contains("No changes. The account matches the baseline."));

    emu.clear_requests();
    let again = emu.run(
        &["apply", "--auto-approve", "--detailed-exitcode"],
        Path::new(MINIMAL),
    );
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    let requests = emu.requests();
    assert!(
        requests.len() > 40,
        "the second apply observed too little: {requests:?}"
    );
    let writes: Vec<&Value> = requests.iter().filter(|r| is_write(r)).collect();
    assert!(writes.is_empty(), "the second apply wrote: {writes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_after_apply_is_read_back_through_the_api() {
    let emu = Emulator::start();
    let file = two_regions("");
    let apply = emu.run(&["apply", "--auto-approve"], file.path());
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}{}",
        stdout(&apply),
        stderr(&apply)
    );

    let policy = emu
        .iam()
        .await
        .get_account_password_policy()
        .send()
        .await
        .unwrap();
    let policy = policy.password_policy().unwrap();
    assert_eq!(policy.minimum_password_length(), Some(14));
    assert_eq!(policy.password_reuse_prevention(), Some(24));
    assert_eq!(policy.max_password_age(), Some(90));
    assert!(policy.require_symbols() && policy.require_numbers());
    assert!(policy.require_uppercase_characters() && policy.require_lowercase_characters());
    assert!(policy.allow_users_to_change_password());

    for region in ["us-east-1", "eu-west-1"] {
        let ec2 = emu.ec2(region).await;
        let ebs = ec2.get_ebs_encryption_by_default().send().await.unwrap();
        assert_eq!(ebs.ebs_encryption_by_default(), Some(true), "{region}");
        let vpcs = ec2
            .describe_vpcs()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("is-default")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(vpcs.vpcs().is_empty(), "{region} still has a default VPC");
    }
    // A region outside the baseline's list is untouched.
    let ec2 = emu.ec2("eu-west-2").await;
    let ebs = ec2.get_ebs_encryption_by_default().send().await.unwrap();
    assert_eq!(ebs.ebs_encryption_by_default(), Some(false));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stricter_live_password_policy_is_kept_and_the_plan_says_so() {
    let emu = Emulator::start();
    emu.iam()
        .await
        .update_account_password_policy()
        .minimum_password_length(20)
        .require_symbols(true)
        .send()
        .await
        .unwrap();
    let file = two_regions("");
    let plan = emu.run(&["plan"], file.path());
    let text = stdout(&plan);
    assert!(text.contains("~ iam.password_policy"), "{text}");
    assert!(
        text.contains("# minimum_length: live 20 is stricter than the baseline's 14"),
        "{text}"
    );
    assert!(
        !text.contains("minimum_length: 20 →"),
        "the plan would loosen: {text}"
    );

    let apply = emu.run(&["apply", "--auto-approve"], file.path());
    assert_eq!(apply.status.code(), Some(0), "{}", stdout(&apply));
    let policy = emu
        .iam()
        .await
        .get_account_password_policy()
        .send()
        .await
        .unwrap();
    let policy = policy.password_policy().unwrap();
    assert_eq!(policy.minimum_password_length(), Some(20));
    assert_eq!(policy.password_reuse_prevention(), Some(24));
    assert!(policy.require_uppercase_characters());

    let plan = emu.run(&["plan", "--detailed-exitcode"], file.path());
    let text = stdout(&plan);
    assert_eq!(plan.status.code(), Some(0), "{text}");
    assert!(
        text.contains("= iam.password_policy no change: minimum_length: live 20 is stricter"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_default_vpc_with_an_egress_only_gateway_is_kept_and_reported() {
    let emu = Emulator::start();
    let ec2 = emu.ec2("eu-west-1").await;
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("is-default")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vpc_id = vpcs.vpcs()[0].vpc_id().unwrap().to_owned();
    ec2.create_egress_only_internet_gateway()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();

    let file = two_regions("");
    let plan = emu.run(&["plan"], file.path());
    let text = stdout(&plan);
    assert!(
        text.contains(&format!(
            "# ec2.default_vpc[\"eu-west-1\"] kept: {vpc_id} is in use: 1 egress-only internet gateway"
        )),
        "{text}"
    );
    let apply = emu.run(&["apply", "--auto-approve"], file.path());
    assert_eq!(apply.status.code(), Some(0), "{}", stdout(&apply));
    let after = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert_eq!(
        after.vpcs().len(),
        1,
        "the VPC with IPv6 egress was deleted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_default_vpc_with_a_network_interface_is_kept_and_reported() {
    let emu = Emulator::start();
    let ec2 = emu.ec2("eu-west-1").await;
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let subnet = subnets.subnets()[0].subnet_id().unwrap().to_owned();
    let vpc_id = subnets.subnets()[0].vpc_id().unwrap().to_owned();
    ec2.create_network_interface()
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();

    let file = two_regions("");
    let plan = emu.run(&["plan"], file.path());
    let text = stdout(&plan);
    assert!(
        text.contains(&format!(
            "# ec2.default_vpc[\"eu-west-1\"] kept: {vpc_id} is in use: 1 network interface"
        )),
        "{text}"
    );
    assert!(text.contains("- ec2.default_vpc[\"us-east-1\"]"), "{text}");
    assert!(text.contains("1 to destroy"), "{text}");

    let apply = emu.run(&["apply", "--auto-approve"], file.path());
    assert_eq!(apply.status.code(), Some(0), "{}", stdout(&apply));
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "the VPC in use was deleted");
    let subnets_after = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        subnets_after.subnets().len(),
        subnets.subnets().len(),
        "subnets of the kept VPC were deleted"
    );
}

#[test]
fn deletion_off_only_reports_default_vpcs() {
    let emu = Emulator::start();
    let minimal = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/baselines/minimal.toml"
    ))
    .unwrap();
    let body = minimal
        .replace("regions = \"all\"", "regions = [\"eu-west-1\"]")
        .replace("delete = true ", "delete = false");
    let file = baseline_file(&body);
    let apply = emu.run(&["apply", "--auto-approve"], file.path());
    let text = stdout(&apply);
    assert!(
        text.contains(" reported only: deletion is off (delete = false)"),
        "{text}"
    );
    assert!(!text.contains(": destroyed"), "{text}");
    let plan = emu.run(&["plan", "--detailed-exitcode"], file.path());
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
}

#[test]
fn a_region_that_denies_access_does_not_stop_the_others() {
    let emu = Emulator::start();
    emu.inject_faults(json!([{ "region": "eu-west-1", "service": "ec2", "code": "UnauthorizedOperation", "status": 403 }]));
    let plan = emu.run(
        &["plan", "--detailed-exitcode", "--max-attempts", "1"],
        Path::new(MINIMAL),
    );
    let text = stdout(&plan);
    assert_eq!(plan.status.code(), Some(1), "{text}");
    assert!(
        text.contains("! ebs_encryption[\"eu-west-1\"]: ec2:GetEbsEncryptionByDefault failed: UnauthorizedOperation"),
        "{text}"
    );
    assert!(
        text.contains("! default_vpc[\"eu-west-1\"]: ec2:"),
        "{text}"
    );
    assert!(
        text.contains("~ ec2.ebs_encryption[\"eu-west-2\"]"),
        "{text}"
    );
    assert!(text.contains("+ iam.password_policy"), "{text}");
    assert!(
        text.contains("Error: 2 target(s) could not be observed"),
        "{text}"
    );

    // apply changes the others and still exits 1.
    let apply = emu.run(
        &[
            "apply",
            "--auto-approve",
            "--max-attempts",
            "1",
            "--output",
            "json",
        ],
        Path::new(MINIMAL),
    );
    assert_eq!(apply.status.code(), Some(1), "{}", stdout(&apply));
    let report: Value = serde_json::from_slice(&apply.stdout).unwrap();
    let failures = report["plan"]["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2);
    for f in failures {
        assert_eq!(f["region"], "eu-west-1");
        assert_eq!(f["error"]["code"], "UnauthorizedOperation");
        assert_eq!(f["error"]["kind"], "access_denied");
    }
    let applied = report["results"].as_array().unwrap();
    assert_eq!(applied.len(), 2 + 19 + 19, "{applied:?}");
    assert!(applied.iter().all(|r| r["status"] == "applied"));
}

#[test]
fn malformed_baselines_are_refused_before_any_aws_call() {
    let emu = Emulator::start();
    let cases = [
        (
            "[password_policy]\nenabled = true\nminimum_lenght = 14\n",
            ":3:1: password_policy.minimum_lenght: unknown field `minimum_lenght`, expected one of",
        ),
        (
            "[ebs_encryption]\nenabled = 1\n",
            ":2:11: ebs_encryption.enabled: invalid type: integer `1`, expected a boolean",
        ),
        (
            "[password_policy]\nenabled = true\nminimum_length = 4\n",
            ":3:18: password_policy.minimum_length: 4 is out of range: expected an integer from 6 to 128",
        ),
        (
            "regions = [\"us-east-1\", \"eu-wst-1\"]\n",
            "regions[1]: unknown region \"eu-wst-1\"",
        ),
        ("[default_vpc\nenabled = true\n", ":1:"),
    ];
    for (body, expected) in cases {
        let file = baseline_file(body);
        for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
            let out = emu.run(command, file.path());
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{body}: {err}");
            assert!(
                err.starts_with(&format!("error: {}", file.path().display())),
                "{body}: {err}"
            );
            assert!(err.contains(expected), "{body}: {err}");
            assert!(out.stdout.is_empty(), "{body}: {}", stdout(&out));
        }
    }
    assert!(
        emu.requests().is_empty(),
        "a bad baseline caused AWS calls: {:?}",
        emu.requests()
    );
}

#[test]
fn a_missing_baseline_file_is_a_clear_error() {
    let emu = Emulator::start();
    let out = emu
        .baseline()
        .args(["plan", "--baseline", "no/such.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error: cannot read the baseline no/such.toml"),
        "{}",
        stderr(&out)
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn usage_errors_exit_1_not_2() {
    let emu = Emulator::start();
    let out = emu
        .baseline()
        .args(["plan", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = emu
        .baseline()
        .args(["plan", "--output", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn apply_without_yes_changes_nothing() {
    let emu = Emulator::start();
    let file = two_regions("");
    let out = emu
        .baseline()
        .args(["apply", "--baseline"])
        .arg(file.path())
        .write_stdin("no\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Apply cancelled: nothing was changed."),
        "{}",
        stderr(&out)
    );
    let writes: Vec<Value> = emu.requests().into_iter().filter(is_write).collect();
    assert!(writes.is_empty(), "{writes:?}");

    let out = emu
        .baseline()
        .args(["apply", "--baseline"])
        .arg(file.path())
        .write_stdin("yes\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Apply complete!"));
}

#[test]
fn json_plan_snapshot() {
    let emu = Emulator::start();
    let file = two_regions("");
    let out = emu.run(&["plan", "--output", "json"], file.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::with_settings!({filters => vec![
        (r"vpc-[0-9a-f]+", "vpc-[id]"),
        (r#""tool_version": "[^"]+""#, r#""tool_version": "[version]""#),
    ]}, {
        insta::assert_snapshot!(serde_json::to_string_pretty(&plan).unwrap());
    });
}
