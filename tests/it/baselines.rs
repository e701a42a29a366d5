//! Every ready baseline in baselines/ loads and validates.

use baseline::baseline::Baseline;
use std::path::Path;

#[test]
fn every_shipped_baseline_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let b = Baseline::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                b.password_policy.is_some(),
                "{} sets no password policy",
                path.display()
            );
            loaded += 1;
        }
    }
    assert!(loaded >= 2, "only {loaded} baselines found");
}

#[test]
fn secure_account_turns_every_setting_on() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/secure-account.toml");
    let b = Baseline::load(&path).unwrap();
    let pp = b.password_policy.unwrap();
    assert!(pp.enabled);
    assert_eq!(pp.minimum_length.map(|m| m.get()), Some(14));
    assert_eq!(pp.reuse_prevention.map(|m| m.get()), Some(24));
    assert_eq!(pp.max_age_days.map(|m| m.get()), Some(90));
    assert!(b.ebs_encryption.unwrap().enabled);
    assert!(b.s3_block_public_access.unwrap().enabled);
    let vpc = b.default_vpc.unwrap();
    assert!(vpc.enabled && vpc.delete);
}
