//! `[organization]` and `baseline accounts`: the member accounts a run targets, from an
//! organization the emulator holds (management, tooling, archive, two workloads, one
//! closed account, one under an OU).

use crate::emulator::{Emulator, baseline_file, output};

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

    // plan and apply refuse the table until organization runs exist: nothing is sent.
    emu.clear_requests();
    let plan = emu.run(&["plan"], f.path());
    assert_eq!(plan.status.code(), Some(1), "{}", output(&plan));
    assert!(
        output(&plan).contains("organization.enabled"),
        "{}",
        output(&plan)
    );
    assert!(emu.requests().is_empty());
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
