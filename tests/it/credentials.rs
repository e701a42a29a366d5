//! The IAM credential review end to end: findings from the credential report and the
//! account summary are kept with their reasons and change nothing; only the opt-in sets
//! unused access keys Inactive, and the next plan has nothing to change.

use crate::emulator::{Emulator, baseline_file, is_write, output};

const REVIEW: &str = r#"
regions = ["us-east-1"]
home_region = "us-east-1"

[iam_credentials]
enabled = true
unused_days = 90
"#;

async fn seed(emu: &Emulator) -> String {
    let iam = emu.iam().await;
    // A person with a password who never signed in, no MFA, and a fresh access key.
    iam.create_user().user_name("alice").send().await.unwrap();
    iam.create_login_profile()
        .user_name("alice")
        .password("Correct-Horse-Battery-9")
        .send()
        .await
        .unwrap();
    iam.create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    // A program whose key was made 200 days ago and never used.
    iam.create_user().user_name("ci").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("ci")
        .send()
        .await
        .unwrap();
    emu.age_access_keys("ci", 200);
    key.access_key().unwrap().access_key_id().to_owned()
}

async fn status(emu: &Emulator, user: &str) -> Vec<String> {
    emu.iam()
        .await
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key_metadata()
        .iter()
        .map(|k| k.status().unwrap().as_str().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn findings_are_reported_and_kept_and_only_the_opt_in_deactivates_unused_keys() {
    let emu = Emulator::start();
    let ci_key = seed(&emu).await;
    let f = baseline_file(REVIEW);

    let plan = emu.run(&["plan", "--detailed-exitcode"], f.path());
    let text = output(&plan);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "findings change no exit code: {text}"
    );
    for expected in [
        "# iam.user[\"alice\"]",
        "console password and 1 active access key(s)",
        "has a password but never signed in",
        "console user without MFA",
        "# iam.user[\"ci\"]",
        &format!("access key {ci_key} never used, made 200 days ago"),
        "# iam.root",
        "the root user has no MFA",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    let strict = emu.run(
        &["plan", "--detailed-exitcode", "--fail-on-findings"],
        f.path(),
    );
    assert_eq!(strict.status.code(), Some(2), "{}", output(&strict));

    // Without the opt-in an apply writes nothing.
    emu.clear_requests();
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));
    let writes: Vec<_> = emu.requests().into_iter().filter(is_write).collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(status(&emu, "ci").await, ["Active"]);

    // With it, the unused key (and only it) is set Inactive, listed by user and id.
    let opt_in = baseline_file(&format!("{REVIEW}deactivate_unused_access_keys = true\n"));
    let plan = emu.run(&["plan"], opt_in.path());
    let text = output(&plan);
    assert!(
        text.contains(&format!("~ iam.access_key[\"ci\"][\"{ci_key}\"]")),
        "{text}"
    );
    assert!(!text.contains("iam.access_key[\"alice\"]"), "{text}");
    let apply = emu.run(&["apply", "--auto-approve"], opt_in.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));
    assert_eq!(status(&emu, "ci").await, ["Inactive"]);
    assert_eq!(status(&emu, "alice").await, ["Active"]);
    emu.assert_converged(opt_in.path());
}
