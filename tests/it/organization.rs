//! `[organization]` and `baseline accounts`: the member accounts a run targets, from an
//! organization the emulator holds (management, tooling, archive, two workloads, one
//! closed account, one under an OU).

use crate::emulator::{Emulator, baseline_file, is_write, output};
use serde_json::Value;

async fn organization(emu: &Emulator) -> (Vec<String>, String) {
    let org = aws_sdk_organizations::Client::new(&emu.sdk("us-east-1").await);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["tooling", "archive", "workload-a", "workload-b", "closed"] {
        let made = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@acme-security.io"))
            .send()
            .await
            .unwrap();
        ids.push(
            made.create_account_status()
                .unwrap()
                .account_id()
                .unwrap()
                .to_owned(),
        );
    }
    org.close_account()
        .account_id(&ids[4])
        .send()
        .await
        .unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let ou = org
        .create_organizational_unit()
        .parent_id(&root)
        .name("workloads")
        .send()
        .await
        .unwrap()
        .organizational_unit()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    org.move_account()
        .account_id(&ids[2])
        .source_parent_id(&root)
        .destination_parent_id(&ou)
        .send()
        .await
        .unwrap();
    (ids, ou)
}

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_lists_the_targeted_members_and_says_why_the_others_are_left_out() {
    let emu = Emulator::start();
    let (ids, ou) = organization(&emu).await;
    let f = baseline_file(&format!(
        "[organization]\nenabled = true\ndelegated_admin = \"{}\"\nlog_archive = \"{}\"\nexclude_accounts = [\"{}\"]\n",
        ids[0], ids[1], ids[3]
    ));
    let out = emu.run(&["accounts", "--shards", "2"], f.path());
    let text = output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let listed = lines(&out);
    let got: Vec<&str> = listed
        .iter()
        .map(|l| l["account"].as_str().unwrap())
        .collect();
    let mut want = vec!["123456789012", &ids[0], &ids[1], &ids[2]];
    want.sort();
    assert_eq!(got, want, "{text}");
    assert!(listed.iter().all(|l| l["shard"].as_u64().unwrap() < 2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "skipped {} (workload-b): in exclude_accounts",
            ids[3]
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "skipped {} (closed): the account is suspended",
            ids[4]
        )),
        "{stderr}"
    );

    // Only under the OU, and --account narrows it again.
    let f = baseline_file(&format!(
        "[organization]\nenabled = true\norganizational_units = [\"{ou}\"]\n"
    ));
    let out = emu.run(&["accounts"], f.path());
    let listed = lines(&out);
    assert_eq!(listed.len(), 1, "{}", output(&out));
    assert_eq!(listed[0]["account"], ids[2].as_str());
    assert!(listed[0].get("shard").is_none());
    let out = emu.run(&["accounts", "--account", &ids[0]], f.path());
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    assert!(lines(&out).is_empty(), "{}", output(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "skipped {} (tooling): not under organizational_units",
            ids[0]
        )),
        "{}",
        output(&out)
    );

    // --check-roles: the members' OrganizationAccountAccessRole (AWS makes it in an account
    // created in the organization) works; a role no member has fails for each, alone.
    let all = baseline_file("[organization]\nenabled = true\n");
    let out = emu.run(&["accounts", "--check-roles"], all.path());
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let checked = lines(&out);
    assert_eq!(checked.len(), 5, "{}", output(&out));
    assert!(
        checked.iter().all(|l| l["role"] == "ok"),
        "{}",
        output(&out)
    );
    let tower = baseline_file(
        "[organization]\nenabled = true\nmember_role = \"AWSControlTowerExecution\"\n",
    );
    let out = emu.run(&["accounts", "--check-roles"], tower.path());
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    for l in lines(&out) {
        let role = l["role"].as_str().unwrap();
        if l["account"] == "123456789012" {
            assert_eq!(role, "ok", "the caller's own account needs no role");
        } else {
            assert!(
                role.starts_with("cannot use AWSControlTowerExecution")
                    && role.contains("AccessDenied"),
                "{role}"
            );
        }
    }
}

#[test]
fn a_contradictory_organization_table_is_refused_at_its_line() {
    let f = baseline_file(
        "[organization]\nenabled = true\ndelegated_admin = \"222222222222\"\nexclude_accounts = [\"222222222222\"]\n",
    );
    let out = assert_cmd::Command::cargo_bin("baseline")
        .unwrap()
        .env_clear()
        .args(["accounts", "--baseline"])
        .arg(f.path())
        .output()
        .unwrap();
    let text = output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(":3:") && text.contains("organization.delegated_admin"),
        "{text}"
    );
}

/// The account-wide settings and the default VPCs, in two regions: what every member gets.
const MEMBER_TABLES: &str = r#"
regions = ["us-east-1", "eu-west-1"]

[password_policy]
enabled = true
minimum_length = 14
require_uppercase = true
require_lowercase = true
require_numbers = true
require_symbols = true
reuse_prevention = 24
max_age_days = 90
allow_users_to_change = true
hard_expiry = false

[ebs_encryption]
enabled = true

[s3_block_public_access]
enabled = true

[default_vpc]
enabled = true
delete = true
"#;

/// The accounts the emulator's requests acted as (assumed-role keys name their member).
fn accounts_requested(emu: &Emulator) -> std::collections::BTreeMap<String, (usize, usize)> {
    let mut out = std::collections::BTreeMap::new();
    for r in emu.requests() {
        let account = r["account"].as_str().unwrap_or("none").to_owned();
        let entry: &mut (usize, usize) = out.entry(account).or_default();
        entry.0 += 1;
        if is_write(&r) {
            entry.1 += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_goes_from_fresh_to_compliant_and_excluded_accounts_get_no_request() {
    let emu = Emulator::start();
    let (ids, _) = organization(&emu).await;
    let f = baseline_file(&format!(
        "{MEMBER_TABLES}\n[organization]\nenabled = true\nexclude_accounts = [\"{}\"]\n",
        ids[3]
    ));
    let targeted = ["123456789012", &ids[0], &ids[1], &ids[2]];

    // The plan: every targeted account under its heading, the skipped ones said.
    emu.clear_requests();
    let plan = emu.run(&["plan", "--detailed-exitcode"], f.path());
    let text = output(&plan);
    assert_eq!(plan.status.code(), Some(2), "{text}");
    for id in targeted {
        assert!(text.contains(&format!("== account {id}")), "{id}: {text}");
        assert!(
            text.contains(&format!("+ account[\"{id}\"].iam.password_policy")),
            "{id}: {text}"
        );
    }
    assert!(
        text.contains(&format!(
            "Skipped account {} (workload-b): in exclude_accounts.",
            ids[3]
        )),
        "{text}"
    );
    assert!(
        text.contains("Organization: 4 accounts, 4 with changes"),
        "{text}"
    );
    let seen = accounts_requested(&emu);
    for id in targeted {
        assert!(seen.contains_key(id), "no request in {id}: {seen:?}");
    }
    for left_out in [&ids[3], &ids[4]] {
        assert!(
            !seen.contains_key(left_out.as_str()),
            "{left_out}: {seen:?}"
        );
    }
    assert!(
        seen.values().all(|(_, writes)| *writes == 0),
        "a plan wrote: {seen:?}"
    );

    // JSON carries the account on every change and lists the accounts.
    let json = emu.run(&["plan", "--output", "json"], f.path());
    let doc: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let changes = doc["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    for c in changes {
        let account = c["account"].as_str().expect("an account on every change");
        assert!(targeted.contains(&account), "{c}");
        assert!(
            c["address"]
                .as_str()
                .unwrap()
                .starts_with(&format!("account[\"{account}\"].")),
            "{c}"
        );
    }
    let accounts = doc["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 6, "4 targeted, 2 skipped: {accounts:?}");
    assert!(
        accounts
            .iter()
            .any(|a| a["account"] == ids[3].as_str() && a["skipped"] == "in exclude_accounts"),
        "{accounts:?}"
    );
    assert!(
        accounts
            .iter()
            .any(|a| a["account"] == "123456789012" && a["management"] == true)
    );

    // Apply: every targeted account is written to, the excluded and closed ones never.
    emu.clear_requests();
    let report = tempfile::NamedTempFile::new().unwrap();
    let apply = emu.run(
        &[
            "apply",
            "--auto-approve",
            "--report",
            report.path().to_str().unwrap(),
        ],
        f.path(),
    );
    let text = output(&apply);
    assert_eq!(apply.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "account[\"{}\"].iam.password_policy: created",
            ids[2]
        )),
        "{text}"
    );
    let seen = accounts_requested(&emu);
    for id in targeted {
        assert!(
            seen.get(id).is_some_and(|(_, w)| *w > 0),
            "no write in {id}: {seen:?}"
        );
    }
    for left_out in [&ids[3], &ids[4]] {
        assert!(
            !seen.contains_key(left_out.as_str()),
            "{left_out}: {seen:?}"
        );
    }
    let doc: Value = serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "the organization report follows the schema: {errors:#?}"
    );
    let applied: Vec<&Value> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "applied")
        .collect();
    for id in targeted {
        assert!(
            applied.iter().any(|c| c["account"] == id
                && c["address"] == format!("account[\"{id}\"].iam.password_policy")),
            "{id}: {applied:?}"
        );
    }
    assert_eq!(doc["accounts"].as_array().unwrap().len(), 6);

    // Each member's own state was changed: its password policy, read as the member.
    let member = crate::emulator::in_member(&emu, &ids[2]).await;
    let policy = aws_sdk_iam::Client::new(&member)
        .get_account_password_policy()
        .send()
        .await
        .expect("the member has a password policy");
    assert_eq!(
        policy.password_policy().unwrap().minimum_password_length(),
        Some(14)
    );

    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_whose_role_is_missing_fails_alone() {
    let emu = Emulator::start();
    let (ids, _) = organization(&emu).await;
    // The role exists in tooling and archive, not in workload-a.
    for id in [&ids[0], &ids[1]] {
        let member = crate::emulator::in_member(&emu, id).await;
        aws_sdk_iam::Client::new(&member)
            .create_role()
            .role_name("BaselineMember")
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .unwrap();
    }
    let f = baseline_file(&format!(
        "{MEMBER_TABLES}\n[organization]\nenabled = true\nmember_role = \"BaselineMember\"\naccounts = [\"123456789012\", \"{}\", \"{}\", \"{}\"]\n",
        ids[0], ids[1], ids[2]
    ));
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert_eq!(plan.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "account[\"{}\"]: cannot work in the account through role BaselineMember",
            ids[2]
        )),
        "{text}"
    );
    assert!(text.contains("1 that could not be worked on"), "{text}");
    for id in ["123456789012", &ids[0], &ids[1]] {
        assert!(
            text.contains(&format!("+ account[\"{id}\"].iam.password_policy")),
            "{id}: {text}"
        );
    }

    let apply = emu.run(&["apply", "--auto-approve", "--output", "json"], f.path());
    assert_eq!(apply.status.code(), Some(1), "{}", output(&apply));
    let doc: Value = serde_json::from_slice(&apply.stdout).expect("JSON");
    let failures = doc["plan"]["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["account"], ids[2].as_str());
    assert_eq!(failures[0]["error"]["code"], "AccountUnreachable");
    let applied = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "applied")
        .count();
    assert!(applied > 0, "the reachable accounts were applied: {doc}");
    // The reachable accounts converged: the next plan's only failure is the missing role.
    let again = emu.run(&["plan", "--output", "json"], f.path());
    let doc: Value = serde_json::from_slice(&again.stdout).expect("JSON");
    let changing: Vec<&Value> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !matches!(c["action"].as_str(), Some("no-op" | "kept" | "skipped")))
        .collect();
    assert!(changing.is_empty(), "{changing:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn block_public_access_an_organization_s3_policy_manages_is_kept_not_fought() {
    let emu = Emulator::start();
    let (ids, _) = organization(&emu).await;
    let (managed, free) = (&ids[2], &ids[1]);
    // The organization turns Block Public Access off for one account (a public website).
    emu.s3_policy(managed, "none");
    let f = baseline_file(&format!(
        "{MEMBER_TABLES}\n[organization]\nenabled = true\naccounts = [\"{managed}\", \"{free}\"]\n"
    ));
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert_eq!(plan.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "# account[\"{managed}\"].s3.account_public_access_block"
        )) && text.contains("managed by the organization"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "+ account[\"{free}\"].s3.account_public_access_block"
        )),
        "{text}"
    );

    emu.clear_requests();
    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    let text = output(&apply);
    assert_eq!(apply.status.code(), Some(0), "not a failure: {text}");
    let puts: Vec<Option<String>> = emu
        .requests()
        .iter()
        .filter(|r| {
            r["method"] == "PUT" && r["path"] == "/v20180820/configuration/publicAccessBlock"
        })
        .map(|r| r["account"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        puts,
        vec![Some(free.clone())],
        "no Put where S3 would refuse it"
    );
    emu.assert_converged(f.path());
}

#[test]
fn account_without_an_organization_table_is_refused_before_any_request() {
    let f = baseline_file(MEMBER_TABLES);
    let out = assert_cmd::Command::cargo_bin("baseline")
        .unwrap()
        .env_clear()
        .args(["plan", "--account", "111122223333", "--baseline"])
        .arg(f.path())
        .output()
        .unwrap();
    let text = output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("--account needs an enabled [organization]"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_management_account_designates_the_delegated_admin_adopts_one_and_never_moves_another()
{
    let emu = Emulator::start();
    let (ids, _) = organization(&emu).await;
    let (tooling, archive) = (&ids[0], &ids[1]);
    let management = emu.sdk("us-east-1").await;
    // GuardDuty's administrator in us-east-1 is already the tooling account (adopted);
    // Inspector's in eu-west-1 is the archive account (reported, never moved).
    aws_sdk_guardduty::Client::new(&management)
        .enable_organization_admin_account()
        .admin_account_id(tooling)
        .send()
        .await
        .unwrap();
    let eu = emu.sdk("eu-west-1").await;
    aws_sdk_inspector2::Client::new(&eu)
        .enable_delegated_admin_account()
        .delegated_admin_account_id(archive)
        .send()
        .await
        .unwrap();
    let f = baseline_file(&format!(
        "{MEMBER_TABLES}\n[guardduty]\nenabled = true\n\n[inspector]\nenabled = true\nec2 = true\necr = true\nlambda = false\n\n[organization]\nenabled = true\ndelegated_admin = \"{tooling}\"\naccounts = [\"123456789012\", \"{tooling}\", \"{}\"]\n",
        ids[2]
    ));
    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    assert_eq!(plan.status.code(), Some(0), "{text}");
    let m = "account[\"123456789012\"].organization.delegated_admin";
    assert!(
        text.contains(&format!("+ {m}.guardduty[\"eu-west-1\"]")),
        "{text}"
    );
    assert!(
        !text.contains(&format!("+ {m}.guardduty[\"us-east-1\"]")),
        "adopted: {text}"
    );
    assert!(
        text.contains(&format!("+ {m}.inspector[\"us-east-1\"]")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{m}.inspector[\"eu-west-1\"] kept: account {archive} is the delegated administrator, not {tooling}")),
        "{text}"
    );
    // The tooling account configures the organization, once designated (in this run).
    let t = format!("account[\"{tooling}\"].organization.configuration");
    for region in ["us-east-1", "eu-west-1"] {
        assert!(
            text.contains(&format!("+ {t}.guardduty[\"{region}\"]")),
            "{text}"
        );
    }
    assert!(
        text.contains(&format!("+ {t}.inspector[\"us-east-1\"]")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{t}.inspector[\"eu-west-1\"] kept: the management account keeps another administrator here")),
        "{text}"
    );
    assert!(
        !text.contains(&format!(
            "account[\"{}\"].organization.configuration",
            ids[2]
        )),
        "{text}"
    );
    // Only the management account designates.
    for id in [tooling, &ids[2]] {
        assert!(
            !text.contains(&format!("account[\"{id}\"].organization.delegated_admin")),
            "{text}"
        );
    }

    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    assert_eq!(apply.status.code(), Some(0), "{}", output(&apply));
    for (region, service_admin) in [("us-east-1", tooling), ("eu-west-1", tooling)] {
        let sdk = emu.sdk(region).await;
        let admins = aws_sdk_guardduty::Client::new(&sdk)
            .list_organization_admin_accounts()
            .send()
            .await
            .unwrap();
        let got: Vec<&str> = admins
            .admin_accounts()
            .iter()
            .filter_map(|a| a.admin_account_id())
            .collect();
        assert_eq!(got, vec![service_admin.as_str()], "GuardDuty in {region}");
    }
    let inspector = |region: &'static str| {
        let emu = &emu;
        async move {
            let sdk = emu.sdk(region).await;
            let listed = aws_sdk_inspector2::Client::new(&sdk)
                .list_delegated_admin_accounts()
                .send()
                .await
                .unwrap();
            listed
                .delegated_admin_accounts()
                .iter()
                .filter_map(|a| a.account_id().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(inspector("us-east-1").await, vec![tooling.clone()]);
    assert_eq!(
        inspector("eu-west-1").await,
        vec![archive.clone()],
        "never moved"
    );
    // GuardDuty enables every member, in both regions, from the tooling account.
    let as_tooling = crate::emulator::in_member(&emu, tooling).await;
    for region in ["us-east-1", "eu-west-1"] {
        let sdk = as_tooling
            .to_builder()
            .region(aws_config::Region::new(region))
            .build();
        let gd = aws_sdk_guardduty::Client::new(&sdk);
        let detector = gd.list_detectors().send().await.unwrap().detector_ids()[0].clone();
        let org = gd
            .describe_organization_configuration()
            .detector_id(detector)
            .send()
            .await
            .unwrap();
        assert_eq!(
            org.auto_enable_organization_members().map(|m| m.as_str()),
            Some("ALL"),
            "{region}"
        );
    }
    let sdk = as_tooling
        .to_builder()
        .region(aws_config::Region::new("us-east-1"))
        .build();
    let org = aws_sdk_inspector2::Client::new(&sdk)
        .describe_organization_configuration()
        .send()
        .await
        .unwrap();
    let auto = org.auto_enable().unwrap();
    assert!(auto.ec2() && auto.ecr(), "{auto:?}");
    emu.assert_converged(f.path());
}

const CENTRAL_LOGS: &str = r#"
regions = ["us-east-1", "eu-west-1"]
home_region = "us-east-1"

[log_key]
enabled = true

[log_buckets]
enabled = true

[cloudtrail]
enabled = true

[config]
enabled = true
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_organization_trail_and_every_recorder_deliver_to_the_log_archive() {
    let emu = Emulator::start();
    let (ids, _) = organization(&emu).await;
    let (archive, workload) = (&ids[1], &ids[2]);
    let f = baseline_file(&format!(
        "{CENTRAL_LOGS}\n[organization]\nenabled = true\nlog_archive = \"{archive}\"\nexclude_accounts = [\"{}\"]\n",
        ids[3]
    ));
    let base = emu.sdk("us-east-1").await;
    let org_id = aws_sdk_organizations::Client::new(&base)
        .describe_organization()
        .send()
        .await
        .unwrap()
        .organization()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();

    let plan = emu.run(&["plan"], f.path());
    let text = output(&plan);
    if std::env::var_os("SHOW_PLAN").is_some() {
        eprintln!("{text}");
    }
    let trail_bucket = format!("baseline-cloudtrail-{archive}-us-east-1");
    let config_bucket = format!("baseline-config-{archive}-us-east-1");
    // The buckets and key only in the archive, the trail only in the management account.
    assert!(
        text.contains(&format!(
            "+ account[\"{archive}\"].s3.log_bucket[\"{trail_bucket}\"]"
        )) || text.contains(&trail_bucket),
        "{text}"
    );
    for member in ["123456789012", &ids[0], workload] {
        assert!(
            !text.contains(&format!("account[\"{member}\"].kms.log_key")),
            "{member} has no log key of its own: {text}"
        );
    }
    assert!(
        text.contains("account[\"123456789012\"].cloudtrail.trail[\"baseline-trail\"]"),
        "{text}"
    );
    assert!(
        !text.contains(&format!("account[\"{workload}\"].cloudtrail.trail")),
        "{text}"
    );

    let apply = emu.run(&["apply", "--auto-approve"], f.path());
    let text = output(&apply);
    assert_eq!(apply.status.code(), Some(0), "{text}");

    // The organization trail: management's, into the archive, with the archive's key.
    let trails = aws_sdk_cloudtrail::Client::new(&base)
        .describe_trails()
        .send()
        .await
        .unwrap();
    let trail = trails
        .trail_list()
        .iter()
        .find(|t| t.name() == Some("baseline-trail"))
        .expect("the organization trail");
    assert_eq!(trail.is_organization_trail(), Some(true));
    assert_eq!(trail.s3_bucket_name(), Some(trail_bucket.as_str()));
    let in_archive = crate::emulator::in_member(&emu, archive).await;
    let key = aws_sdk_kms::Client::new(&in_archive)
        .describe_key()
        .key_id("alias/baseline-logs")
        .send()
        .await
        .expect("the log key is the archive's")
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    assert_eq!(trail.kms_key_id(), Some(key.as_str()));

    // The archive's bucket policy lets the organization write, by its id.
    let s3 = aws_sdk_s3::Client::new(&in_archive);
    let policy = s3
        .get_bucket_policy()
        .bucket(&config_bucket)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert!(
        policy["Statement"].as_array().unwrap().iter().any(
            |s| s["Condition"]["StringEquals"]["aws:SourceOrgID"] == org_id.as_str()
                && s["Action"] == "s3:PutObject"
        ),
        "{policy}"
    );

    // A workload records to the archive's Config bucket and has no buckets of its own.
    let in_workload = crate::emulator::in_member(&emu, workload).await;
    let channels = aws_sdk_config::Client::new(&in_workload)
        .describe_delivery_channels()
        .send()
        .await
        .unwrap();
    assert_eq!(
        channels.delivery_channels()[0].s3_bucket_name(),
        Some(config_bucket.as_str())
    );
    let own = aws_sdk_s3::Client::new(&in_workload)
        .list_buckets()
        .send()
        .await
        .unwrap();
    assert!(
        own.buckets()
            .iter()
            .all(|b| !b.name().unwrap_or_default().contains(workload.as_str())),
        "{own:?}"
    );

    emu.assert_converged(f.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_organization_step_runs_once_and_shards_work_only_on_their_accounts() {
    let emu = Emulator::start();
    let (ids, _) = organization(&emu).await;
    let (tooling, archive, a, b) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let f = baseline_file(&format!(
        "{CENTRAL_LOGS}\n[password_policy]\nenabled = true\nminimum_length = 14\n\n[guardduty]\nenabled = true\n\n[organization]\nenabled = true\ndelegated_admin = \"{tooling}\"\nlog_archive = \"{archive}\"\n"
    ));
    // Bad shard files are refused before any request.
    emu.clear_requests();
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "{\"name\": \"no id\"}\n").unwrap();
    let out = emu.run(
        &["plan", "--account-file", bad.path().to_str().unwrap()],
        f.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        output(&out).contains(":1: expected a JSON line with an \"account\""),
        "{}",
        output(&out)
    );
    assert!(emu.requests().is_empty());

    // The organization's step: only the management, tooling and archive accounts (each
    // whole), never a workload.
    emu.clear_requests();
    let org = emu.run(&["apply", "--auto-approve", "--org-only"], f.path());
    let text = output(&org);
    assert_eq!(org.status.code(), Some(0), "{text}");
    assert!(
        text.contains("organization.delegated_admin.guardduty"),
        "{text}"
    );
    assert!(
        text.contains("cloudtrail.trail[\"baseline-trail\"]: created"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "account[\"{tooling}\"].iam.password_policy: created"
        )),
        "{text}"
    );
    let seen = accounts_requested(&emu);
    for member in [a, b] {
        assert!(!seen.contains_key(member.as_str()), "{member}: {seen:?}");
    }
    // The tooling account holds the organization's Config aggregator, over all regions.
    let in_tooling = crate::emulator::in_member(&emu, tooling).await;
    let aggregators = aws_sdk_config::Client::new(&in_tooling)
        .describe_configuration_aggregators()
        .send()
        .await
        .unwrap();
    let aggregator = aggregators
        .configuration_aggregators()
        .iter()
        .find(|a| a.configuration_aggregator_name() == Some("baseline-organization"))
        .expect("the organization aggregator");
    let source = aggregator.organization_aggregation_source().unwrap();
    assert!(source.all_aws_regions(), "{source:?}");
    assert_eq!(
        source.role_arn(),
        format!("arn:aws:iam::{tooling}:role/baseline-config-aggregator")
    );

    // A shard of two workloads: their own settings, none of the organization's.
    let shard = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        shard.path(),
        format!("{{\"account\": \"{a}\", \"name\": \"workload-a\"}}\n{b}\n"),
    )
    .unwrap();
    emu.clear_requests();
    let run = emu.run(
        &[
            "apply",
            "--auto-approve",
            "--account-file",
            shard.path().to_str().unwrap(),
        ],
        f.path(),
    );
    let text = output(&run);
    assert_eq!(run.status.code(), Some(0), "{text}");
    for member in [a, b] {
        assert!(
            text.contains(&format!(
                "account[\"{member}\"].iam.password_policy: created"
            )),
            "{text}"
        );
    }
    assert!(!text.contains("organization."), "{text}");
    assert!(!text.contains("cloudtrail.trail"), "{text}");
    let seen = accounts_requested(&emu);
    for other in ["123456789012", tooling.as_str(), archive.as_str()] {
        assert!(
            seen.get(other).is_none_or(|(_, writes)| *writes == 0),
            "{other} written by a shard: {seen:?}"
        );
    }
    // The workloads record to the archive's bucket, made by the organization step.
    let in_a = crate::emulator::in_member(&emu, a).await;
    let channels = aws_sdk_config::Client::new(&in_a)
        .describe_delivery_channels()
        .send()
        .await
        .unwrap();
    assert_eq!(
        channels.delivery_channels()[0].s3_bucket_name(),
        Some(format!("baseline-config-{archive}-us-east-1").as_str())
    );
}
