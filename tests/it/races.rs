//! Two applies at once (say a scheduled run and a person's): both finish, nothing is
//! created twice, and the account ends as the baseline says. The launcher makes GuardDuty
//! refuse a second detector as real GuardDuty does (moto would accept it).

use crate::emulator::Emulator;
use std::path::Path;

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_at_once_leave_one_of_everything() {
    let emu = Emulator::start();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/emulator-demo.toml");
    let runs: Vec<std::process::Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| emu.run(&["apply", "--auto-approve"], &file)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &runs {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let config = |r: &str| {
        let emu = &emu;
        let r = r.to_owned();
        async move { emu.sdk(&r).await }
    };
    for region in ["us-east-1", "eu-west-1"] {
        let sdk = config(region).await;
        let detectors = aws_sdk_guardduty::Client::new(&sdk)
            .list_detectors()
            .send()
            .await
            .unwrap();
        assert_eq!(detectors.detector_ids().len(), 1, "{region}");
        let recorders = aws_sdk_config::Client::new(&sdk)
            .describe_configuration_recorders()
            .send()
            .await
            .unwrap();
        assert_eq!(recorders.configuration_recorders().len(), 1, "{region}");
    }
    let home = config("us-east-1").await;
    let trails = aws_sdk_cloudtrail::Client::new(&home)
        .describe_trails()
        .send()
        .await
        .unwrap();
    assert_eq!(trails.trail_list().len(), 1);
    // A key made by the run that lost the race to its alias is scheduled for deletion.
    let kms = aws_sdk_kms::Client::new(&home);
    let mut enabled = 0;
    for key in kms.list_keys().send().await.unwrap().keys() {
        let meta = kms
            .describe_key()
            .key_id(key.key_id().unwrap())
            .send()
            .await
            .unwrap();
        let state = meta
            .key_metadata()
            .unwrap()
            .key_state()
            .unwrap()
            .as_str()
            .to_owned();
        assert!(state == "Enabled" || state == "PendingDeletion", "{state}");
        enabled += usize::from(state == "Enabled");
    }
    assert_eq!(enabled, 2, "one log key and one notifications key");
    let sns = aws_sdk_sns::Client::new(&home);
    assert_eq!(sns.list_topics().send().await.unwrap().topics().len(), 1);
    assert_eq!(
        sns.list_subscriptions()
            .send()
            .await
            .unwrap()
            .subscriptions()
            .len(),
        1
    );

    emu.assert_converged(&file);
}
