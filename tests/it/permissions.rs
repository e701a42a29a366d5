//! `baseline permissions`: the generated policy is the shipped example, every call a run
//! sends is one of its actions, an independent linter (parliament) accepts it, and the
//! `--for plan` policy only reads.

use crate::emulator::{Emulator, output};
use baseline::permissions::{allows, iam_action};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const SHIPPED: &[&str] = &[
    "baselines/minimal.toml",
    "baselines/secure-account.toml",
    "baselines/cis.toml",
    "baselines/maturity-phase1.toml",
];

/// A shipped baseline as a team would run it: its placeholder contacts filled in (they
/// are refused as they are), and two regions instead of all (the calls are the same in
/// every region; the emulator is slow with seventeen).
fn filled(file: &str) -> String {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    assert!(text.contains("regions = \"all\""), "{file}");
    text.replace(
        "regions = \"all\"",
        "regions = [\"us-east-1\", \"eu-west-1\"]",
    )
    .replace("@example.com", "@acme-security.io")
    .replace("+81-3-0000-0000", "+81-3-5555-1234")
}

/// The shipped baselines, filled in, and `secure-account.toml` with every table on
/// (notifications, security contact and Inspector are off there until a team fills them
/// in), so that every control is exercised.
fn baselines() -> Vec<tempfile::NamedTempFile> {
    let mut files: Vec<tempfile::NamedTempFile> = SHIPPED
        .iter()
        .map(|f| crate::emulator::baseline_file(&filled(f)))
        .collect();
    let everything = crate::emulator::every_table_on(&filled("baselines/secure-account.toml"));
    files.push(crate::emulator::baseline_file(&everything));
    files
}

/// The policy for `baseline`, with the emulator's account (no AWS call).
fn policy(baseline: &Path, purpose: &str) -> Value {
    let out = assert_cmd::Command::cargo_bin("baseline")
        .unwrap()
        .current_dir(root())
        .env_clear()
        .args([
            "permissions",
            "--account",
            "123456789012",
            "--partition",
            "aws",
        ])
        .args(["--for", purpose, "--baseline"])
        .arg(baseline)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The AWS operations a run sent, as IAM actions (from the `-vv` call log).
fn calls(out: &std::process::Output) -> BTreeSet<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|line| {
            let rest = line.split_once(" call service=\"")?.1;
            let (service, rest) = rest.split_once("\" operation=\"")?;
            let operation = rest.split('"').next()?;
            Some(iam_action(service, operation))
        })
        .collect()
}

#[test]
fn the_shipped_example_is_the_policy_of_secure_account() {
    let out = assert_cmd::Command::cargo_bin("baseline")
        .unwrap()
        .current_dir(root())
        .env_clear()
        .args(["permissions", "--account", "*", "--partition", "aws"])
        .args(["--baseline", "baselines/secure-account.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/iam-policy.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        generated, shipped,
        "examples/iam-policy.json is out of date: regenerate it with \
         `baseline permissions --baseline baselines/secure-account.toml --account '*' --partition aws`"
    );
}

#[test]
fn every_call_a_run_sends_is_allowed_by_the_policy_of_its_baseline() {
    // One emulator per baseline, all at once: the runs wait on the emulator, not on us.
    let files = baselines();
    std::thread::scope(|scope| {
        for file in files.iter().map(|f| f.path()) {
            scope.spawn(move || check_calls(file));
        }
    });
}

/// A fresh account, the apply that fixes it, and the plan of the account it left (which
/// reads what the first plan found missing): every call is in the baseline's policy.
fn check_calls(file: &Path) {
    let emu = Emulator::start();
    emu.set_env(
        crate::emulator::WEBHOOK_ENV.0,
        crate::emulator::WEBHOOK_ENV.1,
    );
    let plan = policy(file, "plan");
    let apply = policy(file, "apply");
    for (args, allowed) in [
        (&["plan"][..], &plan),
        (&["apply", "--auto-approve"][..], &apply),
        (&["plan"][..], &plan),
    ] {
        let out = emu
            .baseline()
            .env("BASELINE_LOG", "baseline=warn,baseline::aws=debug")
            .args(args)
            // The emulator lacks some APIs (Detective, Access Analyzer, Security Hub
            // standards): their HTTP 500s are not worth retrying here.
            .args(["--max-attempts", "1"])
            .arg("--baseline")
            .arg(file)
            .output()
            .unwrap();
        let sent = calls(&out);
        assert!(
            sent.contains("sts:GetCallerIdentity") && sent.len() > 5,
            "{}: no call log: {}",
            file.display(),
            output(&out)
        );
        let denied: Vec<&String> = sent.iter().filter(|a| !allows(allowed, a)).collect();
        assert!(
            denied.is_empty(),
            "{} {args:?}: sent but not in its policy: {denied:?}",
            file.display()
        );
    }
}

#[test]
fn without_an_account_the_callers_account_and_partition_are_used() {
    let emu = Emulator::start();
    let out = emu.run(&["permissions"], Path::new("baselines/secure-account.toml"));
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("arn:aws:kms:*:123456789012:key/*"), "{text}");
    assert!(!text.contains(":*:key"), "{text}");
}

#[test]
fn the_policies_pass_parliament_and_the_plan_policy_only_reads() {
    // Installs the linter with the emulator (scripts/install-emulator.sh).
    drop(Emulator::start());
    let dir = tempfile::tempdir().unwrap();
    let files = baselines();
    let mut plans = Vec::new();
    let mut applies = Vec::new();
    for (i, file) in files.iter().map(|f| f.path()).enumerate() {
        for (purpose, list) in [("plan", &mut plans), ("apply", &mut applies)] {
            let path = dir.path().join(format!("{i}-{purpose}.json"));
            std::fs::write(&path, policy(file, purpose).to_string()).unwrap();
            list.push(path);
        }
    }
    let lint = |args: &[&str], files: &[PathBuf]| {
        std::process::Command::new(root().join(".venv-emulator/bin/python"))
            .arg(root().join("scripts/lint-policy.py"))
            .args(args)
            .args(files)
            .output()
            .unwrap()
    };
    let out = lint(&[], &applies);
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let out = lint(&["--read-only"], &plans);
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    // The linter does catch a write in a policy said to be read-only.
    let out = lint(&["--read-only"], &applies[..1]);
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    assert!(
        output(&out).contains("iam:UpdateAccountPasswordPolicy: Write"),
        "{}",
        output(&out)
    );
}
