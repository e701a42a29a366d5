//! The test launcher refuses what real AWS refuses (scripts/emulator.py), so that a request
//! only moto would accept fails a test. Each test sends the refused request and its
//! accepted twin straight through the SDK.

use crate::emulator::{Emulator, baseline_file, output};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, Transition, TransitionStorageClass,
};

#[tokio::test(flavor = "multi_thread")]
async fn log_retention_outside_the_documented_values_is_refused() {
    let emu = Emulator::start();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&emu.sdk("us-east-1").await);
    logs.create_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    let put = |days| {
        logs.put_retention_policy()
            .log_group_name("g")
            .retention_in_days(days)
            .send()
    };
    put(400).await.unwrap();
    let err = put(366).await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidParameterException")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lifecycle_rule_expiring_before_its_transition_is_refused() {
    let emu = Emulator::start();
    let s3 = emu.s3().await;
    s3.create_bucket()
        .bucket("strict-lifecycle")
        .send()
        .await
        .unwrap();
    let put = |expire: i32| {
        let rule = LifecycleRule::builder()
            .id("r")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .transitions(
                Transition::builder()
                    .days(365)
                    .storage_class(TransitionStorageClass::GlacierIr)
                    .build(),
            )
            .expiration(LifecycleExpiration::builder().days(expire).build())
            .build()
            .unwrap();
        s3.put_bucket_lifecycle_configuration()
            .bucket("strict-lifecycle")
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    put(366).await.unwrap();
    let err = put(365).await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidArgument")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vpc_with_an_egress_only_gateway_cannot_be_deleted() {
    let emu = Emulator::start();
    let ec2 = emu.ec2("eu-west-1").await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let gw = ec2
        .create_egress_only_internet_gateway()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let err = ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("DependencyViolation")
    );
    let gw = gw.egress_only_internet_gateway().unwrap();
    ec2.delete_egress_only_internet_gateway()
        .egress_only_internet_gateway_id(gw.egress_only_internet_gateway_id().unwrap())
        .send()
        .await
        .unwrap();
    ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
}

#[test]
fn values_aws_refuses_are_refused_at_load_with_their_position() {
    let emu = Emulator::start();
    for (text, expected) in [
        (
            "[log_key]\nenabled = true\n[log_buckets]\nenabled = true\ntransition_to_glacier_ir_days = 90\nexpire_days = 30\n",
            ":6:1: log_buckets.expire_days: 30 must be later than transition_to_glacier_ir_days (90)",
        ),
        (
            "[cloudtrail]\nenabled = false\ncloudwatch_logs_retention_days = 366\n",
            ":3:34: cloudtrail.cloudwatch_logs_retention_days: 366 days is not a retention period CloudWatch Logs accepts",
        ),
    ] {
        let f = baseline_file(text);
        let out = emu.run(&["plan"], f.path());
        let text = output(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(expected), "{text}");
    }
    assert!(emu.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_policy_that_locks_the_account_out_is_refused() {
    let emu = Emulator::start();
    let kms = aws_sdk_kms::Client::new(&emu.sdk("us-east-1").await);
    let policy = |principal: &str| {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{ "Sid": "S", "Effect": "Allow", "Principal": { "AWS": principal },
                            "Action": "kms:*", "Resource": "*" }]
        })
        .to_string()
    };
    let err = kms
        .create_key()
        .policy(policy("arn:aws:iam::999999999999:root"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("MalformedPolicyDocumentException")
    );
    kms.create_key()
        .policy(policy("arn:aws:iam::123456789012:root"))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_cannot_target_a_topic_whose_key_grant_has_a_source_condition() {
    let emu = Emulator::start();
    let sdk = emu.sdk("us-east-1").await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let policy = |condition: Option<serde_json::Value>| {
        let mut grant = serde_json::json!({
            "Sid": "E", "Effect": "Allow", "Principal": { "Service": "events.amazonaws.com" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"
        });
        if let Some(c) = condition {
            grant["Condition"] = c;
        }
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                { "Sid": "A", "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::123456789012:root" },
                  "Action": "kms:*", "Resource": "*" },
                grant
            ]
        })
        .to_string()
    };
    let key = kms
        .create_key()
        .policy(policy(Some(serde_json::json!({
            "StringEquals": { "aws:SourceAccount": "123456789012" }
        }))))
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let topic = sns
        .create_topic()
        .name("strict-alerts")
        .attributes("KmsMasterKeyId", &key_id)
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_owned();
    events
        .put_rule()
        .name("r")
        .event_pattern(r#"{"source":["aws.guardduty"]}"#)
        .send()
        .await
        .unwrap();
    let put = || {
        events
            .put_targets()
            .rule("r")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("t")
                    .arn(&topic_arn)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let err = put().await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("ValidationException")
    );
    kms.put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(policy(None))
        .send()
        .await
        .unwrap();
    put().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn api_destinations_and_their_targets_are_checked_as_eventbridge_does() {
    use aws_sdk_eventbridge::types::{
        ApiDestinationHttpMethod, ConnectionAuthorizationType,
        CreateConnectionApiKeyAuthRequestParameters, CreateConnectionAuthRequestParameters, Target,
    };
    let emu = Emulator::start();
    let events = aws_sdk_eventbridge::Client::new(&emu.sdk("us-east-1").await);
    let code = |e: &dyn std::fmt::Debug| format!("{e:?}");
    let connection = |name: &str| {
        events
            .create_connection()
            .name(name)
            .authorization_type(ConnectionAuthorizationType::ApiKey)
            .auth_parameters(
                CreateConnectionAuthRequestParameters::builder()
                    .api_key_auth_parameters(
                        CreateConnectionApiKeyAuthRequestParameters::builder()
                            .api_key_name("X-Key")
                            .api_key_value("v")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
    };
    let arn = connection("c")
        .await
        .unwrap()
        .connection_arn()
        .unwrap()
        .to_owned();
    let again = connection("c").await.unwrap_err();
    assert!(
        again
            .as_service_error()
            .is_some_and(|e| e.is_resource_already_exists_exception()),
        "{}",
        code(&again)
    );
    let destination = |name: &str, endpoint: &str, rate: i32| {
        events
            .create_api_destination()
            .name(name)
            .connection_arn(&arn)
            .invocation_endpoint(endpoint)
            .http_method(ApiDestinationHttpMethod::Post)
            .invocation_rate_limit_per_second(rate)
            .send()
    };
    assert!(
        destination("plain", "http://hooks.test/x", 1)
            .await
            .is_err()
    );
    assert!(
        destination("fast", "https://hooks.test/x", 301)
            .await
            .is_err()
    );
    let dest = destination("ok", "https://hooks.test/x", 1)
        .await
        .unwrap()
        .api_destination_arn()
        .unwrap()
        .to_owned();
    events
        .put_rule()
        .name("r")
        .event_pattern(r#"{"source":["aws.guardduty"]}"#)
        .send()
        .await
        .unwrap();
    let put = |arn: &str, role: Option<&str>| {
        events
            .put_targets()
            .rule("r")
            .targets(
                Target::builder()
                    .id("t")
                    .arn(arn)
                    .set_role_arn(role.map(str::to_owned))
                    .build()
                    .unwrap(),
            )
            .send()
    };
    assert!(
        put(&dest, None).await.is_err(),
        "a destination needs a role"
    );
    assert!(
        put(
            "(the ARN of x, once made)",
            Some("arn:aws:iam::123456789012:role/r")
        )
        .await
        .is_err()
    );
    put(&dest, Some("arn:aws:iam::123456789012:role/r"))
        .await
        .unwrap();
}
