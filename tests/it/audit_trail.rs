//! The audit trail (log key, log buckets, CloudTrail, AWS Config) end to end against the
//! emulator. The launcher corrects two moto differences (see scripts/emulator.py):
//! `GetBucketVersioning`'s XML root and the Config service-linked role's name.

use crate::emulator::{Emulator, baseline_file, output};
use aws_sdk_cloudtrail::types::ReadWriteType;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
pub(crate) const TRAIL_BUCKET: &str = "baseline-cloudtrail-123456789012-us-east-1";
const CONFIG_BUCKET: &str = "baseline-config-123456789012-us-east-1";

pub(crate) const BASELINE: &str = r#"
regions = ["us-east-1", "eu-west-1"]
home_region = "us-east-1"

[log_key]
enabled = true
alias = "alias/baseline-logs"

[log_buckets]
enabled = true
cloudtrail = "baseline-cloudtrail-{account}-{region}"
config = "baseline-config-{account}-{region}"
transition_to_glacier_ir_days = 365
expire_days = 0

[cloudtrail]
enabled = true
name = "baseline-trail"

[config]
enabled = true
delivery_frequency = "TwentyFour_Hours"
"#;

async fn kms(emu: &Emulator) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&emu.sdk("us-east-1").await)
}

async fn cloudtrail(emu: &Emulator, region: &str) -> aws_sdk_cloudtrail::Client {
    aws_sdk_cloudtrail::Client::new(&emu.sdk(region).await)
}

async fn config(emu: &Emulator, region: &str) -> aws_sdk_config::Client {
    aws_sdk_config::Client::new(&emu.sdk(region).await)
}

fn sids(policy: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(policy).unwrap();
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn log_key_arn(emu: &Emulator) -> String {
    kms(emu)
        .await
        .describe_key()
        .key_id("alias/baseline-logs")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

/// Reads back one log bucket and checks every hardening setting.
async fn assert_hardened(emu: &Emulator, bucket: &str, key_arn: &str, grants: &[&str]) {
    let s3 = emu.s3().await;
    let enc = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms", "{bucket}");
    assert_eq!(default.kms_master_key_id(), Some(key_arn), "{bucket}");
    assert_eq!(rule.bucket_key_enabled(), Some(true), "{bucket}");

    let pab = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let c = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true)),
        "{bucket}"
    );
    let own = s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        own.ownership_controls().unwrap().rules()[0]
            .object_ownership()
            .as_str(),
        "BucketOwnerEnforced"
    );
    let ver = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ver.status().map(|s| s.as_str()),
        Some("Enabled"),
        "{bucket}"
    );

    let policy = s3.get_bucket_policy().bucket(bucket).send().await.unwrap();
    let policy = policy.policy().unwrap();
    let found = sids(policy);
    assert!(
        found.iter().any(|s| s == "BaselineDenyInsecureTransport"),
        "{found:?}"
    );
    for g in grants {
        assert!(
            found.iter().any(|s| s == g),
            "{bucket}: {g} missing from {found:?}"
        );
    }
    let doc: Value = serde_json::from_str(policy).unwrap();
    for s in doc["Statement"].as_array().unwrap() {
        if s["Effect"] == "Allow" {
            assert_eq!(
                s["Condition"]["StringEquals"]["aws:SourceAccount"], ACCOUNT,
                "confused-deputy condition missing: {s}"
            );
        }
    }

    let life = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let ours = life
        .rules()
        .iter()
        .find(|r| r.id() == Some("baseline-log-retention"))
        .unwrap();
    assert_eq!(ours.transitions()[0].days(), Some(365));
    assert_eq!(
        ours.transitions()[0].storage_class().map(|s| s.as_str()),
        Some("GLACIER_IR")
    );
    assert!(ours.expiration().is_none());
    assert_eq!(
        ours.abort_incomplete_multipart_upload()
            .unwrap()
            .days_after_initiation(),
        Some(7)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_account_gets_a_hardened_audit_trail_then_converges() {
    let emu = Emulator::start();
    let f = baseline_file(BASELINE);
    let plan = emu.run(&["plan", "--detailed-exitcode"], f.path());
    let text = output(&plan);
    assert_eq!(plan.status.code(), Some(2), "{text}");
    // Policies are shown in full, pretty-printed.
    assert!(
        text.contains("\"Sid\": \"BaselineCloudTrailWrite\""),
        "{text}"
    );
    assert!(
        text.contains("+ kms.log_key[\"alias/baseline-logs\"]"),
        "{text}"
    );

    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));

    // The key: rotation on, our statements in its policy.
    let kms = kms(&emu).await;
    let key_arn = log_key_arn(&emu).await;
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_arn)
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());
    let policy = kms
        .get_key_policy()
        .key_id(&key_arn)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let found = sids(policy.policy().unwrap());
    for sid in [
        "BaselineAccountAdministers",
        "BaselineCloudTrailEncrypts",
        "BaselineConfigUsesKey",
    ] {
        assert!(found.iter().any(|s| s == sid), "{found:?}");
    }

    assert_hardened(
        &emu,
        TRAIL_BUCKET,
        &key_arn,
        &["BaselineCloudTrailAclCheck", "BaselineCloudTrailWrite"],
    )
    .await;
    assert_hardened(
        &emu,
        CONFIG_BUCKET,
        &key_arn,
        &[
            "BaselineConfigAclCheck",
            "BaselineConfigListBucket",
            "BaselineConfigWrite",
        ],
    )
    .await;

    // The trail.
    let ct = cloudtrail(&emu, "us-east-1").await;
    let trails = ct
        .describe_trails()
        .include_shadow_trails(false)
        .send()
        .await
        .unwrap();
    assert_eq!(trails.trail_list().len(), 1);
    let t = &trails.trail_list()[0];
    assert_eq!(t.name(), Some("baseline-trail"));
    assert_eq!(t.s3_bucket_name(), Some(TRAIL_BUCKET));
    assert_eq!(t.is_multi_region_trail(), Some(true));
    assert_eq!(t.include_global_service_events(), Some(true));
    assert_eq!(t.log_file_validation_enabled(), Some(true));
    assert_eq!(t.kms_key_id(), Some(key_arn.as_str()));
    let status = ct
        .get_trail_status()
        .name("baseline-trail")
        .send()
        .await
        .unwrap();
    assert_eq!(status.is_logging(), Some(true));
    let selectors = ct
        .get_event_selectors()
        .trail_name("baseline-trail")
        .send()
        .await
        .unwrap();
    let s = &selectors.event_selectors()[0];
    assert_eq!(s.read_write_type(), Some(&ReadWriteType::All));
    assert_eq!(s.include_management_events(), Some(true));

    // Config in every region; global types only in the home region.
    for (region, global) in [("us-east-1", true), ("eu-west-1", false)] {
        let cfg = config(&emu, region).await;
        let recorders = cfg.describe_configuration_recorders().send().await.unwrap();
        assert_eq!(recorders.configuration_recorders().len(), 1, "{region}");
        let r = &recorders.configuration_recorders()[0];
        let g = r.recording_group().unwrap();
        assert!(g.all_supported(), "{region}");
        assert_eq!(g.include_global_resource_types(), global, "{region}");
        assert!(r.role_arn().unwrap().ends_with("/AWSServiceRoleForConfig"));
        let channels = cfg.describe_delivery_channels().send().await.unwrap();
        let c = &channels.delivery_channels()[0];
        assert_eq!(c.s3_bucket_name(), Some(CONFIG_BUCKET), "{region}");
        assert_eq!(
            c.config_snapshot_delivery_properties()
                .and_then(|p| p.delivery_frequency())
                .map(|f| f.as_str()),
            Some("TwentyFour_Hours")
        );
        let status = cfg
            .describe_configuration_recorder_status()
            .send()
            .await
            .unwrap();
        assert!(
            status.configuration_recorders_status()[0].recording(),
            "{region}"
        );
    }
    let role = emu
        .iam()
        .await
        .get_role()
        .role_name("AWSServiceRoleForConfig")
        .send()
        .await;
    assert!(role.is_ok(), "{role:?}");

    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_trail_recorder_and_bucket_statements_are_adopted() {
    let emu = Emulator::start();
    let s3c = emu.s3().await;
    // A compliant organisation-made trail with its own bucket and key.
    s3c.create_bucket()
        .bucket("org-trail-logs")
        .send()
        .await
        .unwrap();
    let key = kms(&emu).await.create_key().send().await.unwrap();
    let org_key = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let ct = cloudtrail(&emu, "us-east-1").await;
    ct.create_trail()
        .name("org-trail")
        .s3_bucket_name("org-trail-logs")
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .enable_log_file_validation(true)
        .kms_key_id(&org_key)
        .send()
        .await
        .unwrap();
    ct.start_logging().name("org-trail").send().await.unwrap();
    // A recorder named "default" that records only EC2 instances.
    let cfg = config(&emu, "eu-west-1").await;
    cfg.put_configuration_recorder()
        .configuration_recorder(
            aws_sdk_config::types::ConfigurationRecorder::builder()
                .name("default")
                .role_arn("arn:aws:iam::123456789012:role/my-config-role")
                .recording_group(
                    aws_sdk_config::types::RecordingGroup::builder()
                        .all_supported(false)
                        .include_global_resource_types(false)
                        .resource_types(aws_sdk_config::types::ResourceType::Instance)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Our Config bucket already exists, with someone else's statement in its policy.
    s3c.create_bucket()
        .bucket(CONFIG_BUCKET)
        .send()
        .await
        .unwrap();
    let auditors = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "Auditors", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{CONFIG_BUCKET}/*")
    }]});
    s3c.put_bucket_policy()
        .bucket(CONFIG_BUCKET)
        .policy(auditors.to_string())
        .send()
        .await
        .unwrap();

    let f = baseline_file(BASELINE);
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert!(
        text.contains("adopted the existing compliant trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"),
        "{text}"
    );
    assert!(text.contains("~ config.recorder[\"eu-west-1\"]"), "{text}");
    assert!(
        text.contains("~ s3.log_bucket[\"baseline-config-123456789012-us-east-1\"]"),
        "{text}"
    );

    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));

    let trails = ct
        .describe_trails()
        .include_shadow_trails(false)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = trails
        .trail_list()
        .iter()
        .filter_map(|t| t.name())
        .collect();
    assert_eq!(names, ["org-trail"], "a second trail was created");

    let recorders = cfg.describe_configuration_recorders().send().await.unwrap();
    assert_eq!(recorders.configuration_recorders().len(), 1);
    let r = &recorders.configuration_recorders()[0];
    assert_eq!(r.name(), Some("default"));
    assert_eq!(
        r.role_arn(),
        Some("arn:aws:iam::123456789012:role/my-config-role")
    );
    assert!(r.recording_group().unwrap().all_supported());

    let policy = s3c
        .get_bucket_policy()
        .bucket(CONFIG_BUCKET)
        .send()
        .await
        .unwrap();
    let found = sids(policy.policy().unwrap());
    assert_eq!(found[0], "Auditors", "{found:?}");
    assert!(
        found.iter().any(|s| s == "BaselineConfigWrite"),
        "{found:?}"
    );

    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn correcting_our_trail_keeps_the_key_it_has() {
    let emu = Emulator::start();
    let s3c = emu.s3().await;
    s3c.create_bucket()
        .bucket("team-trail-logs")
        .send()
        .await
        .unwrap();
    let key = kms(&emu).await.create_key().send().await.unwrap();
    let team_key = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let ct = cloudtrail(&emu, "us-east-1").await;
    // Our trail's name, the team's key, but single-region: the plan corrects the scope only.
    ct.create_trail()
        .name("baseline-trail")
        .s3_bucket_name("team-trail-logs")
        .is_multi_region_trail(false)
        .include_global_service_events(true)
        .enable_log_file_validation(true)
        .kms_key_id(&team_key)
        .send()
        .await
        .unwrap();
    let f = baseline_file(BASELINE);
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert!(
        text.contains("~ cloudtrail.trail[\"baseline-trail\"]"),
        "{text}"
    );
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));
    let trail = ct
        .get_trail()
        .name("baseline-trail")
        .send()
        .await
        .unwrap()
        .trail
        .unwrap();
    assert_eq!(trail.is_multi_region_trail(), Some(true));
    assert_eq!(
        trail.kms_key_id(),
        Some(team_key.as_str()),
        "apply re-keyed the trail although the plan kept its key"
    );
    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_interrupted_at_the_trail_completes_without_duplicates() {
    let emu = Emulator::start();
    emu.inject_faults(json!([{
        "service": "cloudtrail", "action": "CreateTrail",
        "code": "InternalFailure", "status": 400, "message": "simulated interruption"
    }]));
    let f = baseline_file(BASELINE);
    let first = emu.run(
        &["apply", "--auto-approve", "--max-attempts", "1"],
        f.path(),
    );
    let text = output(&first);
    assert_eq!(first.status.code(), Some(1), "{text}");
    assert!(
        text.contains("cloudtrail.trail[\"baseline-trail\"]: failed"),
        "{text}"
    );
    let s3c = emu.s3().await;
    let buckets = s3c.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().len(), 2);
    let ct = cloudtrail(&emu, "us-east-1").await;
    assert!(
        ct.describe_trails()
            .send()
            .await
            .unwrap()
            .trail_list()
            .is_empty()
    );

    emu.inject_faults(json!([]));
    let second = emu.run(&["apply", "--auto-approve"], f.path());
    let text = output(&second);
    assert_eq!(second.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Resources: 1 added, 0 changed, 0 destroyed."),
        "{text}"
    );
    let buckets = s3c.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().len(), 2, "a bucket was created twice");
    let keys = kms(&emu).await.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 1, "a second log key was created");
    assert_eq!(
        ct.describe_trails()
            .send()
            .await
            .unwrap()
            .trail_list()
            .len(),
        1
    );

    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn access_logging_goes_to_an_sse_s3_bucket_that_grants_the_logging_service() {
    let emu = Emulator::start();
    let text = BASELINE.replace(
        "expire_days = 0\n",
        "expire_days = 0\naccess_logging = true\naccess_log_bucket = \"baseline-access-logs-{account}-{region}\"\n",
    );
    let f = baseline_file(&text);
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));
    let s3c = emu.s3().await;
    let target = "baseline-access-logs-123456789012-us-east-1";
    let enc = s3c
        .get_bucket_encryption()
        .bucket(target)
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let policy = s3c.get_bucket_policy().bucket(target).send().await.unwrap();
    let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let grant = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "BaselineS3ServerAccessLogs")
        .unwrap();
    assert_eq!(grant["Principal"]["Service"], "logging.s3.amazonaws.com");
    assert_eq!(
        grant["Condition"]["ArnLike"]["aws:SourceArn"],
        json!([
            format!("arn:aws:s3:::{TRAIL_BUCKET}"),
            format!("arn:aws:s3:::{CONFIG_BUCKET}")
        ])
    );
    for bucket in [TRAIL_BUCKET, CONFIG_BUCKET] {
        let logging = s3c
            .get_bucket_logging()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let l = logging.logging_enabled().unwrap();
        assert_eq!(l.target_bucket(), target);
        assert_eq!(l.target_prefix(), format!("{bucket}/"));
    }
    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_logs_delivery_gets_a_group_a_role_and_the_trail_settings() {
    let emu = Emulator::start();
    let text = BASELINE.replace(
        "name = \"baseline-trail\"\n",
        "name = \"baseline-trail\"\ncloudwatch_logs = true\ncloudwatch_logs_retention_days = 400\n",
    );
    let f = baseline_file(&text);
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));

    let logs = aws_sdk_cloudwatchlogs::Client::new(&emu.sdk("us-east-1").await);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/baseline/cloudtrail/")
        .send()
        .await
        .unwrap();
    let g = &groups.log_groups()[0];
    assert_eq!(
        g.log_group_name(),
        Some("/baseline/cloudtrail/baseline-trail")
    );
    assert_eq!(g.retention_in_days(), Some(400));

    let iam = emu.iam().await;
    let role = iam
        .get_role()
        .role_name("baseline-cloudtrail-logs")
        .send()
        .await
        .unwrap();
    let trust = role.role().unwrap().assume_role_policy_document().unwrap();
    assert!(trust.contains("cloudtrail.amazonaws.com"), "{trust}");
    let inline = iam
        .get_role_policy()
        .role_name("baseline-cloudtrail-logs")
        .policy_name("write-the-trail-log-group")
        .send()
        .await
        .unwrap();
    // IAM returns policy documents URL-encoded.
    let doc = inline.policy_document().replace("%3A", ":");
    assert!(doc.contains("logs:PutLogEvents"), "{doc}");

    let ct = cloudtrail(&emu, "us-east-1").await;
    let trails = ct.describe_trails().send().await.unwrap();
    let t = &trails.trail_list()[0];
    assert_eq!(
        t.cloud_watch_logs_log_group_arn(),
        Some("arn:aws:logs:us-east-1:123456789012:log-group:/baseline/cloudtrail/baseline-trail:*")
    );
    assert_eq!(
        t.cloud_watch_logs_role_arn(),
        Some("arn:aws:iam::123456789012:role/baseline-cloudtrail-logs")
    );
    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_on_head_bucket_says_whether_the_bucket_is_ours_or_another_accounts() {
    let emu = Emulator::start();
    let s3c = emu.s3().await;
    // Ours, but this identity may not HeadBucket it (a read-only role without s3:ListBucket).
    s3c.create_bucket()
        .bucket(TRAIL_BUCKET)
        .send()
        .await
        .unwrap();
    let f = baseline_file(BASELINE);
    let forbid = |bucket: &str| {
        json!({"service": "s3", "method": "HEAD", "path": format!("/{bucket}/"),
               "code": "Forbidden", "status": 403})
    };
    emu.inject_faults(json!([forbid(TRAIL_BUCKET)]));
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert_ne!(plan.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "the bucket {TRAIL_BUCKET} is this account's, but this identity may not read it"
        )),
        "{text}"
    );
    assert!(!text.contains("belongs to another account"), "{text}");

    // Not in our bucket list: another account's.
    emu.inject_faults(json!([forbid(CONFIG_BUCKET)]));
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert!(
        text.contains(&format!(
            "the bucket {CONFIG_BUCKET} belongs to another account"
        )),
        "{text}"
    );

    // The bucket list denied as well: the message says it cannot tell.
    emu.inject_faults(json!([
        forbid(CONFIG_BUCKET),
        {"service": "s3", "method": "GET", "path": "/", "code": "AccessDenied", "status": 403}
    ]));
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert!(
        text.contains("cannot be told apart") && text.contains("s3:ListAllMyBuckets"),
        "{text}"
    );
}

async fn retention(emu: &Emulator, region: &str) -> Vec<i32> {
    config(emu, region)
        .await
        .describe_retention_configurations()
        .send()
        .await
        .unwrap()
        .retention_configurations()
        .iter()
        .map(|c| c.retention_period_in_days())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn config_retention_is_raised_where_shorter_and_a_longer_one_is_kept() {
    let emu = Emulator::start();
    for (region, days) in [("eu-west-1", 30), ("us-east-1", 2000)] {
        config(&emu, region)
            .await
            .put_retention_configuration()
            .retention_period_in_days(days)
            .send()
            .await
            .unwrap();
    }
    let f = baseline_file(&format!("{BASELINE}retention_days = 365\n"));
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert!(text.contains("~ config.retention[\"eu-west-1\"]"), "{text}");
    assert!(
        !text.contains("~ config.retention[\"us-east-1\"]"),
        "{text}"
    );

    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));
    assert_eq!(retention(&emu, "eu-west-1").await, [365]);
    assert_eq!(retention(&emu, "us-east-1").await, [2000]);
    emu.assert_converged(f.path());
}
