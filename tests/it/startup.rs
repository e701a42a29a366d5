//! How a run that cannot start, or a call that hangs, is reported: one plain sentence
//! that says what to do, each cause once, the SDK's detail only with `-v`.

use crate::emulator::{Emulator, output};
use assert_cmd::Command;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

const MINIMAL: &str = "baselines/minimal.toml";

/// The binary with nothing from this machine's AWS set-up: an empty home, no instance
/// metadata (nothing may leave loopback), and an endpoint that refuses connections.
fn bare(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("baseline").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["plan", "--baseline", MINIMAL, "--region", "eu-west-1"])
        .args([
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--max-attempts",
            "1",
        ]);
    cmd
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One `error:` line, no SDK `Debug` dump, no line said twice.
fn assert_plain(text: &str) {
    assert_eq!(text.matches("error:").count(), 1, "{text}");
    for dump in ["DispatchFailure(", "ConnectorError {", "headers:", "Some("] {
        assert!(!text.contains(dump), "a Debug dump leaks: {text}");
    }
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        assert!(!lines[..i].contains(line), "{line:?} is said twice: {text}");
    }
}

#[test]
fn no_credentials_is_one_sentence_and_v_adds_the_detail() {
    let home = tempfile::tempdir().unwrap();
    let out = bare(home.path()).output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.starts_with("error: no AWS credentials were found: run `aws configure`"),
        "{t}"
    );
    assert!(t.contains("(run with -v for the detail)"), "{t}");
    assert!(!t.contains("credential provider was not enabled"), "{t}");
    assert_plain(&t);

    let out = bare(home.path()).arg("-v").output().unwrap();
    let t = text(&out);
    assert!(t.contains("Caused by: "), "{t}");
    assert!(t.contains("no credentials found in chain"), "{t}");
    assert_plain(&t);
}

#[test]
fn an_unknown_profile_is_refused_before_the_sdk_falls_back_to_other_credentials() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile prod]\nregion = eu-west-1\n[profile dev]\nregion = eu-west-1\n",
    )
    .unwrap();
    // Environment credentials exist: without the check, the SDK would use them.
    let out = bare(home.path())
        .args(["--profile", "prdo"])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert_eq!(
        t,
        "error: the profile \"prdo\" is not in ~/.aws/config or ~/.aws/credentials \
         (defined: dev, prod): check --profile or AWS_PROFILE\n"
    );
}

#[test]
fn an_expired_sso_session_says_to_log_in_again() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    // No token in ~/.aws/sso/cache: the state `aws sso logout` or an old session leaves.
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile work]\nsso_session = corp\nsso_account_id = 111111111111\n\
         sso_role_name = Admin\nregion = eu-west-1\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    )
    .unwrap();
    let out = bare(home.path())
        .args(["--profile", "work"])
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.starts_with("error: no credentials from the SSO session of profile \"work\""),
        "{t}"
    );
    assert!(t.contains("run `aws sso login --profile work`"), "{t}");
    assert_plain(&t);
}

#[test]
fn an_unreachable_endpoint_is_named() {
    let home = tempfile::tempdir().unwrap();
    let out = bare(home.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.starts_with("error: cannot reach AWS at http://127.0.0.1:1: check the network"),
        "{t}"
    );
    assert_plain(&t);
}

#[test]
fn refused_and_denied_credentials_each_say_what_to_do() {
    let emu = Emulator::start();
    for (code, expected) in [
        (
            "InvalidClientTokenId",
            "error: AWS refused the credentials (InvalidClientTokenId): they are invalid or have expired",
        ),
        (
            "ExpiredToken",
            "error: AWS refused the credentials (ExpiredToken): they are invalid or have expired",
        ),
        (
            "AccessDenied",
            "error: the credentials may not call sts:GetCallerIdentity (AccessDenied)",
        ),
    ] {
        emu.inject_faults(json!([{
            "service": "sts", "action": "GetCallerIdentity", "code": code, "status": 403
        }]));
        let out = emu.run(&["plan"], Path::new(MINIMAL));
        let t = output(&out);
        assert_eq!(out.status.code(), Some(1), "{t}");
        assert!(t.starts_with(expected), "{code}: {t}");
        assert_plain(&t);
    }
}

#[test]
fn a_hanging_service_times_out_and_the_run_ends_saying_what_timed_out() {
    let emu = Emulator::start();
    emu.inject_faults(json!([{
        "service": "guardduty", "region": "eu-west-1", "stall": true
    }]));
    let minimal = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(MINIMAL))
        .unwrap()
        .replace(
            "regions = \"all\"",
            "regions = [\"us-east-1\", \"eu-west-1\"]",
        );
    let f = crate::emulator::baseline_file(&format!("{minimal}\n[guardduty]\nenabled = true\n"));
    let started = Instant::now();
    let out = emu.run(
        &[
            "plan",
            "--attempt-timeout",
            "1",
            "--operation-timeout",
            "3",
            "--max-attempts",
            "2",
        ],
        f.path(),
    );
    let t = output(&out);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the run did not end in time: {t}"
    );
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("guardduty"), "{t}");
    assert!(t.contains("eu-west-1"), "{t}");
    assert!(t.contains("timed out"), "{t}");
    assert!(t.contains("--operation-timeout"), "{t}");
    // The other region was observed and planned as usual.
    assert!(t.contains("guardduty.detector[\"us-east-1\"]"), "{t}");
}
