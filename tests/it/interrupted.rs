//! An apply killed with SIGKILL at any instant, then run again, converges and duplicates
//! nothing: one trail, one topic, two log buckets, one detector and one recorder per
//! region, and no enabled key without an alias.
//!
//! "Any instant" is made exact with the launcher's hold: the run is killed right after the
//! emulator has carried out its N-th write (AWS did it, the tool never heard back), for
//! every N of a full apply. `BASELINE_KILL_STRIDE=k` tries every k-th instant only.

use crate::emulator::{Emulator, output};
use std::path::Path;
use std::time::{Duration, Instant};

fn demo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/emulator-demo.toml")
}

/// What must be true of the account whatever instant the first run died at.
async fn assert_nothing_duplicated(emu: &Emulator, at: usize) {
    for region in ["us-east-1", "eu-west-1"] {
        let sdk = emu.sdk(region).await;
        let detectors = aws_sdk_guardduty::Client::new(&sdk)
            .list_detectors()
            .send()
            .await
            .unwrap();
        assert_eq!(
            detectors.detector_ids().len(),
            1,
            "killed at {at}: {region}"
        );
        let recorders = aws_sdk_config::Client::new(&sdk)
            .describe_configuration_recorders()
            .send()
            .await
            .unwrap();
        assert_eq!(
            recorders.configuration_recorders().len(),
            1,
            "killed at {at}: {region}"
        );
    }
    let home = emu.sdk("us-east-1").await;
    let trails = aws_sdk_cloudtrail::Client::new(&home)
        .describe_trails()
        .send()
        .await
        .unwrap();
    assert_eq!(trails.trail_list().len(), 1, "killed at {at}: trails");
    let sns = aws_sdk_sns::Client::new(&home);
    assert_eq!(
        sns.list_topics().send().await.unwrap().topics().len(),
        1,
        "killed at {at}: topics"
    );
    let buckets = emu.s3().await.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().len(), 2, "killed at {at}: buckets");

    let kms = aws_sdk_kms::Client::new(&home);
    let aliased: Vec<String> = kms
        .list_aliases()
        .send()
        .await
        .unwrap()
        .aliases()
        .iter()
        .filter_map(|a| a.target_key_id().map(str::to_owned))
        .collect();
    for key in kms.list_keys().send().await.unwrap().keys() {
        let id = key.key_id().unwrap();
        let meta = kms.describe_key().key_id(id).send().await.unwrap();
        let meta = meta.key_metadata().unwrap();
        let enabled = meta.key_state().is_some_and(|s| s.as_str() == "Enabled");
        let customer = meta.key_manager().is_some_and(|m| m.as_str() == "CUSTOMER");
        assert!(
            !(enabled && customer) || aliased.iter().any(|a| a == id),
            "killed at {at}: enabled key {id} has no alias"
        );
    }
}

#[test]
fn an_apply_killed_at_any_instant_converges_on_the_next_run() {
    let file = demo();
    let writes = {
        let emu = Emulator::start();
        let out = emu.run(&["apply", "--auto-approve"], &file);
        assert_eq!(out.status.code(), Some(0), "{}", output(&out));
        emu.requests()
            .iter()
            .filter(|r| crate::emulator::is_write(r))
            .count()
    };
    assert!(writes > 20, "a full apply writes {writes} times");
    let stride: usize = std::env::var("BASELINE_KILL_STRIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let instants: Vec<usize> = (1..=writes).step_by(stride.max(1)).collect();

    // Three emulators at a time: the runs are short and mostly wait on moto.
    let chunks: Vec<Vec<usize>> = (0..3)
        .map(|w| instants.iter().copied().skip(w).step_by(3).collect())
        .collect();
    let file = &file;
    std::thread::scope(|s| {
        for chunk in &chunks {
            s.spawn(move || {
                let rt = tokio::runtime::Runtime::new().unwrap();
                for &at in chunk {
                    let emu = Emulator::start();
                    emu.hold_write(Some(at));
                    let mut child = emu.spawn(&["apply", "--auto-approve"], file);
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while !emu.holding() && child.try_wait().unwrap().is_none() {
                        assert!(Instant::now() < deadline, "killed at {at}: never held");
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    // SIGKILL: no destructor, no flush, no chance to clean up.
                    let _ = child.kill();
                    let _ = child.wait();
                    emu.hold_write(None);

                    let out = emu.run(&["apply", "--auto-approve"], file);
                    assert_eq!(
                        out.status.code(),
                        Some(0),
                        "killed at {at}: {}",
                        output(&out)
                    );
                    rt.block_on(assert_nothing_duplicated(&emu, at));
                    let plan = emu.run(&["plan", "--detailed-exitcode"], file);
                    assert_eq!(
                        plan.status.code(),
                        Some(0),
                        "killed at {at}: {}",
                        output(&plan)
                    );
                }
            });
        }
    });
}
