//! The fleet flow, locally: the organization step, `baseline accounts --shards`, the
//! shards as concurrent processes, `baseline report merge`; its merged report must hold
//! the same changes and outcomes as one process's run of the same organization.

use crate::emulator::{Emulator, output};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const MEMBERS: usize = 11;
const SHARDS: usize = 3;

/// The fleet's baseline, also the benchmark's (`bench/run.py --fleet`).
const FLEET: &str = include_str!("../../bench/fleet.toml");

/// An organization of `MEMBERS` accounts named member-00…; id → name (the management
/// account as "management"). The ids differ between emulators, the names do not.
async fn organization(emu: &Emulator) -> BTreeMap<String, String> {
    let org = aws_sdk_organizations::Client::new(&emu.sdk("us-east-1").await);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut names = BTreeMap::from([("123456789012".to_owned(), "management".to_owned())]);
    for i in 0..MEMBERS {
        let name = format!("member-{i:02}");
        let made = org
            .create_account()
            .account_name(&name)
            .email(format!("{name}@acme-security.io"))
            .send()
            .await
            .unwrap();
        let id = made.create_account_status().unwrap().account_id().unwrap();
        names.insert(id.to_owned(), name);
    }
    names
}

fn baseline(names: &BTreeMap<String, String>) -> tempfile::NamedTempFile {
    let tooling = names.iter().find(|(_, n)| *n == "member-00").unwrap().0;
    crate::emulator::baseline_file(&format!(
        "{FLEET}\n[organization]\nenabled = true\ndelegated_admin = \"{tooling}\"\n"
    ))
}

/// A report's changes as (address, action, status), account ids replaced by names.
fn outcomes(
    report: &Value,
    names: &BTreeMap<String, String>,
) -> BTreeSet<(String, String, String)> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut address = c["address"].as_str().unwrap().to_owned();
            for (id, name) in names {
                address = address.replace(id.as_str(), name);
            }
            (
                address,
                c["action"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn worked_on(report: &Value, names: &BTreeMap<String, String>) -> BTreeSet<String> {
    report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("skipped").is_none() && a.get("error").is_none())
        .map(|a| names[a["account"].as_str().unwrap()].clone())
        .collect()
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_run_as_processes_merge_into_the_report_of_one_run() {
    // One process, on its own emulator.
    let single = Emulator::start();
    let single_names = organization(&single).await;
    let f = baseline(&single_names);
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.json");
    let run = single.run(
        &["apply", "--auto-approve", "--report", one.to_str().unwrap()],
        f.path(),
    );
    assert_eq!(run.status.code(), Some(0), "{}", output(&run));
    let one = read(&one);

    // The fleet, on another: the organization step, then the shards at once.
    let fleet = Emulator::start();
    let names = organization(&fleet).await;
    let f = baseline(&names);
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let org = fleet.run(
        &[
            "apply",
            "--auto-approve",
            "--org-only",
            "--report",
            reports.join("org.json").to_str().unwrap(),
        ],
        f.path(),
    );
    assert_eq!(org.status.code(), Some(0), "{}", output(&org));
    let written = dir.path().join("shards");
    let listed = fleet.run(
        &[
            "accounts",
            "--shards",
            &SHARDS.to_string(),
            "--write-shards",
            written.to_str().unwrap(),
        ],
        f.path(),
    );
    assert_eq!(listed.status.code(), Some(0), "{}", output(&listed));
    let mut shards: BTreeMap<u64, String> = BTreeMap::new();
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        shards
            .entry(v["shard"].as_u64().unwrap())
            .or_default()
            .push_str(&format!("{line}\n"));
    }
    assert_eq!(shards.len(), SHARDS, "every shard holds accounts");
    // The manifest a Distributed Map reads: one item per shard, naming its file, whose lines
    // are the shard's lines of the listing.
    let manifest: Value = read(&written.join("shards.json"));
    let items = manifest.as_array().expect("an array of items");
    assert_eq!(items.len(), SHARDS);
    let files: BTreeMap<u64, String> = items
        .iter()
        .map(|i| {
            let n = i["shard"].as_u64().unwrap();
            let file = i["account_file"].as_str().unwrap().to_owned();
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                shards[&n],
                "shard {n}"
            );
            assert_eq!(
                i["accounts"].as_u64().unwrap() as usize,
                shards[&n].lines().count()
            );
            (n, file)
        })
        .collect();
    // The shards at once, as a scheduler runs them.
    fleet.clear_requests();
    let spawned: Vec<std::process::Child> = files
        .iter()
        .map(|(n, file)| {
            let report = reports.join(format!("shard-{n}.json"));
            std::process::Command::new(env!("CARGO_BIN_EXE_baseline"))
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env_clear()
                .envs(fleet.env())
                .args(["apply", "--auto-approve", "--quiet", "--account-file"])
                .arg(file)
                .arg("--report")
                .arg(&report)
                .arg("--baseline")
                .arg(f.path())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in spawned {
        assert!(child.wait().unwrap().success(), "a shard failed");
    }
    // A shard takes its accounts from its file: thousands of shards do not each page
    // through the organization's listing.
    let listings: Vec<Value> = fleet
        .requests()
        .into_iter()
        .filter(|r| r["action"] == "ListAccounts")
        .collect();
    assert!(
        listings.is_empty(),
        "shards listed the organization: {listings:?}"
    );

    let merged_path = dir.path().join("merged.json");
    let html = dir.path().join("merged.html");
    // The first week: no previous report yet is a warning, not an error.
    let merge = fleet
        .baseline()
        .args(["report", "merge"])
        .arg(&reports)
        .arg("--previous")
        .arg(dir.path().join("latest/merged.json"))
        .arg("--expect")
        .arg(written.join("shards.json"))
        .arg("--report")
        .arg(dir.path().join("latest/merged.json"))
        .arg("--report")
        .arg(&merged_path)
        .arg("--report-html")
        .arg(&html)
        .output()
        .unwrap();
    let summary = output(&merge);
    assert_eq!(merge.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!("({} shards", SHARDS + 1))
            && summary.contains(&format!("{} accounts worked on", MEMBERS + 1)),
        "{summary}"
    );
    let merged = read(&merged_path);
    assert_eq!(read(&dir.path().join("latest/merged.json")), merged);
    assert!(
        merged.get("drift").is_none(),
        "no previous report, no drift"
    );

    // The same changes with the same outcomes, in the same accounts.
    assert_eq!(worked_on(&merged, &names), worked_on(&one, &single_names));
    assert_eq!(worked_on(&merged, &names).len(), MEMBERS + 1);
    let (a, b) = (outcomes(&one, &single_names), outcomes(&merged, &names));
    assert!(!a.is_empty());
    assert_eq!(
        a.symmetric_difference(&b).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "one run and the merged shards differ"
    );
    assert_eq!(merged["outcome"], one["outcome"]);
    assert_eq!(merged["planned"], one["planned"]);

    // The merged report is a report of the documented schema, and the page renders it.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&merged)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let page = std::fs::read_to_string(&html).unwrap();
    for id in names.keys() {
        assert!(page.contains(&format!("id=\"account-{id}\"")), "{id}");
    }

    // A week later: nothing drifted, so the next merge says so against this one.
    let again = fleet
        .baseline()
        .args(["report", "merge"])
        .arg(&reports)
        .arg("--previous")
        .arg(&merged_path)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(doc["drift"]["new"], serde_json::json!([]));

    // A shard lost without a report, and no organization step's report to name its
    // accounts: --expect (the manifest) still makes each of them a failure.
    let partial = dir.path().join("partial");
    std::fs::create_dir(&partial).unwrap();
    for n in files.keys().skip(1) {
        let name = format!("shard-{n}.json");
        std::fs::copy(reports.join(&name), partial.join(&name)).unwrap();
    }
    let lost: BTreeSet<String> = std::fs::read_to_string(&files[files.keys().next().unwrap()])
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["account"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let blind = fleet
        .baseline()
        .args(["report", "merge"])
        .arg(&partial)
        .output()
        .unwrap();
    assert_eq!(
        blind.status.code(),
        Some(0),
        "without --expect the gap is invisible"
    );
    let expecting = fleet
        .baseline()
        .args(["report", "merge"])
        .arg(&partial)
        .arg("--expect")
        .arg(written.join("shards.json"))
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(expecting.status.code(), Some(1), "{}", output(&expecting));
    let doc: Value = serde_json::from_slice(&expecting.stdout).expect("JSON");
    let failed: BTreeSet<String> = doc["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["error"]["code"] == "NoShardReport")
        .map(|f| f["account"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        failed, lost,
        "each account of the lost shard fails, and only those"
    );

    // The same hand-off through S3, as the Step Functions deployment runs it.
    fleet
        .s3()
        .await
        .create_bucket()
        .bucket("fleet-runs")
        .send()
        .await
        .unwrap();
    let listed = fleet.run(
        &[
            "accounts",
            "--shards",
            "3",
            "--write-shards",
            "s3://fleet-runs/runs/1/shards/",
        ],
        f.path(),
    );
    assert_eq!(listed.status.code(), Some(0), "{}", output(&listed));
    let object = fleet
        .s3()
        .await
        .get_object()
        .bucket("fleet-runs")
        .key("runs/1/shards/shards.json")
        .send()
        .await
        .expect("the manifest in S3");
    let manifest: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().to_vec()).unwrap();
    let item = &manifest[0];
    let file = item["account_file"].as_str().unwrap();
    assert!(
        file.starts_with("s3://fleet-runs/runs/1/shards/shard-"),
        "{file}"
    );
    let plan = fleet.run(
        &["plan", "--account-file", file, "--output", "json"],
        f.path(),
    );
    assert_eq!(plan.status.code(), Some(0), "{}", output(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let planned: std::collections::BTreeSet<String> = plan["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("skipped").is_none())
        .map(|a| a["account"].as_str().unwrap().to_owned())
        .collect();
    let key = file.strip_prefix("s3://fleet-runs/").unwrap();
    let lines = fleet
        .s3()
        .await
        .get_object()
        .bucket("fleet-runs")
        .key(key)
        .send()
        .await
        .expect("the shard's file in S3");
    let in_file: std::collections::BTreeSet<String> =
        String::from_utf8(lines.body.collect().await.unwrap().to_vec())
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["account"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
    assert_eq!(in_file.len() as u64, item["accounts"].as_u64().unwrap());
    assert_eq!(
        planned, in_file,
        "the shard read from S3 plans its accounts only"
    );
}
