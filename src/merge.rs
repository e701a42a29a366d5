//! `baseline report merge`: the run reports of a fleet's shards (`apply --account-file …
//! --report …`, and the `--org-only` step's) as one report of the same schema
//! (`docs/report.schema.json`), with the shards it was made of and, given the previous
//! merged report, what changed since. Works on the reports' JSON, so a merge never needs
//! the AWS account, and a report of this version's format from any shard merges.

use crate::error::{AwsError, ErrorKind, TargetError};
use crate::plan::{
    AccountStatus, Action, AppliedChange, Change, Failure, Outcome, Plan, RegionStatus,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no report to merge")]
    Empty,
    #[error("{file}: not a baseline run report ({why})")]
    NotAReport { file: String, why: String },
    #[error(
        "{file}: report format {found:?}, this baseline reads format {}",
        crate::report::FORMAT_VERSION
    )]
    Format { file: String, found: String },
    #[error(
        "{file}: {what} is {found:?}, the other reports' is {expected:?}: shards of one run share it"
    )]
    Mismatch {
        file: String,
        what: &'static str,
        found: String,
        expected: String,
    },
}

/// A report read from `source` (a file path or an S3 URI).
#[derive(Clone)]
pub struct Source {
    pub source: String,
    pub report: Value,
}

/// Whether a document is a merged report (it lists its shards): merging it again would
/// count its accounts twice.
pub fn is_merged(report: &Value) -> bool {
    report.get("shards").is_some()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn check(s: &Source) -> Result<(), MergeError> {
    let r = &s.report;
    let not = |why: &str| MergeError::NotAReport {
        file: s.source.clone(),
        why: why.to_owned(),
    };
    if !r.is_object() {
        return Err(not("not a JSON object"));
    }
    let Some(version) = r["format_version"].as_str() else {
        return Err(not("no format_version"));
    };
    if version != crate::report::FORMAT_VERSION {
        return Err(MergeError::Format {
            file: s.source.clone(),
            found: version.to_owned(),
        });
    }
    for key in ["changes", "failures", "regions"] {
        if !r[key].is_array() {
            return Err(not(&format!("no {key} list")));
        }
    }
    Ok(())
}

fn seconds_between(from: &str, to: &str) -> Option<f64> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let a = DateTime::from_str(from, Format::DateTime).ok()?;
    let b = DateTime::from_str(to, Format::DateTime).ok()?;
    Some(b.as_secs_f64() - a.as_secs_f64())
}

/// The worst status first: the one kept when two shards report the same account.
fn account_rank(a: &Value) -> u8 {
    match (a.get("error").is_some(), a.get("skipped").is_some()) {
        (true, _) => 0,
        (false, false) => 1,
        (false, true) => 2,
    }
}

/// Merges shard reports. Each account's entry is the one of the shard that worked on it
/// (a shard lists the organization's other accounts as skipped); a change or failure two
/// reports hold (an account of the organization step listed in a shard too) is the one
/// of the report that finished last. Counts are recomputed from the merged lists.
pub fn merge(sources: Vec<Source>, previous: Option<&Value>) -> Result<Value, MergeError> {
    merge_expecting(sources, previous, &[])
}

/// [`merge`], where `expected` are the accounts the shards were given (`--expect`, from
/// `shards.json`): one that no report mentions at all is a failure of its missing shard,
/// like one that every report leaves out as another shard's.
pub fn merge_expecting(
    mut sources: Vec<Source>,
    previous: Option<&Value>,
    expected: &[(String, Option<String>)],
) -> Result<Value, MergeError> {
    if sources.is_empty() {
        return Err(MergeError::Empty);
    }
    for s in &sources {
        check(s)?;
    }
    // The last to finish wins a duplicate: sort by finished_at, then by source.
    sources.sort_by(|a, b| {
        text(&a.report, "finished_at")
            .cmp(text(&b.report, "finished_at"))
            .then(a.source.cmp(&b.source))
    });
    let first = &sources[0].report;
    for s in &sources[1..] {
        for (what, path) in [
            ("the baseline file's sha256", "/baseline/sha256"),
            ("the account running the tool", "/account"),
            ("the partition", "/partition"),
            ("the command", "/command"),
        ] {
            let found = s
                .report
                .pointer(path)
                .and_then(Value::as_str)
                .unwrap_or_default();
            let expected = first
                .pointer(path)
                .and_then(Value::as_str)
                .unwrap_or_default();
            if found != expected {
                return Err(MergeError::Mismatch {
                    file: s.source.clone(),
                    what,
                    found: found.to_owned(),
                    expected: expected.to_owned(),
                });
            }
        }
    }

    let mut changes: BTreeMap<String, Value> = BTreeMap::new();
    let mut failures: BTreeMap<String, Value> = BTreeMap::new();
    let mut accounts: BTreeMap<String, Value> = BTreeMap::new();
    let mut regions: BTreeMap<String, Value> = BTreeMap::new();
    let mut shards = Vec::new();
    let (mut requests, mut exit_code) = (0u64, 0u64);
    let mut started = text(first, "started_at").to_owned();
    let mut finished = text(first, "finished_at").to_owned();
    for s in &sources {
        let r = &s.report;
        for c in r["changes"].as_array().into_iter().flatten() {
            changes.insert(text(c, "address").to_owned(), c.clone());
        }
        for f in r["failures"].as_array().into_iter().flatten() {
            failures.insert(text(f, "address").to_owned(), f.clone());
        }
        for a in r["accounts"].as_array().into_iter().flatten() {
            let id = text(a, "account").to_owned();
            let keep = accounts
                .get(&id)
                .is_none_or(|held| account_rank(a) <= account_rank(held));
            if keep {
                accounts.insert(id, a.clone());
            }
        }
        for g in r["regions"].as_array().into_iter().flatten() {
            let name = text(g, "name").to_owned();
            let targeted = g["targeted"].as_bool().unwrap_or(false);
            match regions.get(&name) {
                Some(held) if held["targeted"].as_bool().unwrap_or(false) || !targeted => {}
                _ => {
                    regions.insert(name, g.clone());
                }
            }
        }
        requests += r["requests"].as_u64().unwrap_or(0);
        exit_code = exit_code.max(r["exit_code"].as_u64().unwrap_or(0));
        if text(r, "started_at") < started.as_str() {
            started = text(r, "started_at").to_owned();
        }
        if text(r, "finished_at") > finished.as_str() {
            finished = text(r, "finished_at").to_owned();
        }
        let worked: Vec<&Value> = r["accounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a.get("skipped").is_none())
            .collect();
        shards.push(json!({
            "source": s.source,
            "accounts": worked.len(),
            "exit_code": r["exit_code"],
            "requests": r["requests"],
            "seconds": r["seconds"],
            "started_at": r["started_at"],
            "finished_at": r["finished_at"],
        }));
    }

    for (id, name) in expected {
        accounts.entry(id.clone()).or_insert_with(|| {
            let mut entry = json!({"account": id, "management": false,
                                   "skipped": crate::organization::NOT_NAMED});
            if let Some(name) = name {
                entry["name"] = json!(name);
            }
            entry
        });
    }
    // An account every report leaves out as another shard's was in no shard that wrote a
    // report (its task failed before the end, or the shards listed were not all run): it
    // failed, it was not skipped.
    for (id, a) in accounts.iter_mut() {
        if a["skipped"] == crate::organization::NOT_NAMED {
            let message = "no shard's report covers it: its shard failed before writing a report, or was not run";
            a.as_object_mut()
                .expect("an account entry")
                .remove("skipped");
            a["error"] = json!(message);
            let address = format!("account[\"{id}\"]");
            failures.entry(address.clone()).or_insert_with(|| {
                json!({"address": address, "account": id, "control": "account", "region": null,
                       "error": {"operation": "baseline report merge", "code": "NoShardReport",
                                 "message": message, "kind": "permanent", "status": null}})
            });
            exit_code = exit_code.max(1);
        }
    }
    let changes: Vec<Value> = changes.into_values().collect();
    let failures: Vec<Value> = failures.into_values().collect();
    let mut planned = json!({"add": 0, "change": 0, "destroy": 0, "kept": 0, "skipped": 0, "deferred": 0, "failed": failures.len()});
    let mut outcome = json!({"applied": 0, "already_done": 0, "deferred": 0, "failed": failures.len(), "not_applied": 0});
    let bump = |doc: &mut Value, key: &str| {
        if let Some(n) = doc[key].as_u64() {
            doc[key] = json!(n + 1);
        }
    };
    for c in &changes {
        match text(c, "action") {
            "create" => bump(&mut planned, "add"),
            "update" => bump(&mut planned, "change"),
            "delete" => bump(&mut planned, "destroy"),
            "kept" => bump(&mut planned, "kept"),
            "skipped" => bump(&mut planned, "skipped"),
            "deferred" => bump(&mut planned, "deferred"),
            _ => {}
        }
        match text(c, "status") {
            "applied" => bump(&mut outcome, "applied"),
            "already-done" => bump(&mut outcome, "already_done"),
            "deferred" => bump(&mut outcome, "deferred"),
            "failed" => bump(&mut outcome, "failed"),
            "not-applied" => bump(&mut outcome, "not_applied"),
            _ => {}
        }
    }
    let mut accounts: Vec<Value> = accounts.into_values().collect();
    // Failed accounts first, then the worked ones, then the skipped ones.
    accounts.sort_by_key(|a| (account_rank(a), text(a, "account").to_owned()));

    let mut out = Map::new();
    out.insert(
        "format_version".into(),
        json!(crate::report::FORMAT_VERSION),
    );
    out.insert("tool_version".into(), first["tool_version"].clone());
    out.insert("command".into(), first["command"].clone());
    out.insert("baseline".into(), first["baseline"].clone());
    out.insert("account".into(), first["account"].clone());
    out.insert("partition".into(), first["partition"].clone());
    out.insert("home_region".into(), first["home_region"].clone());
    out.insert(
        "regions".into(),
        Value::Array(regions.into_values().collect()),
    );
    out.insert(
        "seconds".into(),
        json!(seconds_between(&started, &finished).unwrap_or(0.0).max(0.0)),
    );
    out.insert("started_at".into(), json!(started));
    out.insert("finished_at".into(), json!(finished));
    out.insert("requests".into(), json!(requests));
    out.insert("planned".into(), planned);
    out.insert("outcome".into(), outcome);
    if let Some(previous) = previous {
        out.insert("drift".into(), drift(&changes, &failures, previous));
    }
    out.insert("changes".into(), Value::Array(changes));
    out.insert("failures".into(), Value::Array(failures));
    out.insert("exit_code".into(), json!(exit_code));
    out.insert("accounts".into(), Value::Array(accounts));
    out.insert("shards".into(), Value::Array(shards));
    Ok(Value::Object(out))
}

/// Since the previous (merged) report: the changes new this time (the drift the weekly
/// run put back, or a new account), those that recur (a change that fails or is deferred
/// every week), and the previous failures that are gone.
fn drift(changes: &[Value], failures: &[Value], previous: &Value) -> Value {
    let addresses = |v: &Value, key: &str| -> std::collections::BTreeSet<String> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| text(c, "address").to_owned())
            .collect()
    };
    let before = addresses(previous, "changes");
    let before_failed: std::collections::BTreeSet<String> = previous["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| text(c, "status") == "failed")
        .map(|c| text(c, "address").to_owned())
        .chain(addresses(previous, "failures"))
        .collect();
    let now: std::collections::BTreeSet<String> = changes
        .iter()
        .map(|c| text(c, "address").to_owned())
        .collect();
    let failing_now: std::collections::BTreeSet<String> = changes
        .iter()
        .filter(|c| text(c, "status") == "failed")
        .map(|c| text(c, "address").to_owned())
        .chain(failures.iter().map(|f| text(f, "address").to_owned()))
        .collect();
    let new: Vec<&String> = now.iter().filter(|a| !before.contains(*a)).collect();
    let recurring: Vec<&String> = now.iter().filter(|a| before.contains(*a)).collect();
    let fixed: Vec<&String> = before_failed
        .iter()
        .filter(|a| !failing_now.contains(*a))
        .collect();
    json!({
        "previous_finished_at": previous["finished_at"],
        "new": new,
        "recurring": recurring,
        "failures_resolved": fixed,
    })
}

/// A few lines for a chat or mail message.
pub fn summary(merged: &Value) -> String {
    let n = |path: &str| merged.pointer(path).and_then(Value::as_u64).unwrap_or(0);
    let accounts = merged["accounts"].as_array().cloned().unwrap_or_default();
    let failed_accounts: Vec<&Value> = accounts
        .iter()
        .filter(|a| a.get("error").is_some())
        .collect();
    let worked = accounts
        .iter()
        .filter(|a| a.get("skipped").is_none() && a.get("error").is_none())
        .count();
    let skipped = accounts
        .iter()
        .filter(|a| a.get("skipped").is_some())
        .count();
    let with_changes: std::collections::BTreeSet<&str> = merged["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| !matches!(text(c, "status"), "none"))
        .filter_map(|c| c["account"].as_str())
        .collect();
    let mut out = format!(
        "baseline {} of {} ({} shards, {:.0} s): {} accounts worked on, {} with changes, {} failed, {} skipped.\n",
        text(merged, "command"),
        merged
            .pointer("/baseline/path")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        merged["shards"].as_array().map_or(0, Vec::len),
        merged["seconds"].as_f64().unwrap_or(0.0),
        worked,
        with_changes.len(),
        failed_accounts.len(),
        skipped,
    );
    out.push_str(&format!(
        "Changes: {} applied, {} already done, {} deferred, {} failed, {} not applied; {} kept as they are.\n",
        n("/outcome/applied"),
        n("/outcome/already_done"),
        n("/outcome/deferred"),
        n("/outcome/failed"),
        n("/outcome/not_applied"),
        n("/planned/kept"),
    ));
    for a in failed_accounts.iter().take(10) {
        out.push_str(&format!(
            "Failed account {}: {}\n",
            text(a, "account"),
            text(a, "error")
        ));
    }
    if failed_accounts.len() > 10 {
        out.push_str(&format!(
            "… and {} more failed accounts.\n",
            failed_accounts.len() - 10
        ));
    }
    if let Some(d) = merged.get("drift") {
        let len = |k: &str| d[k].as_array().map_or(0, Vec::len);
        out.push_str(&format!(
            "Since {}: {} new changes (drift put back), {} recurring, {} failures resolved.\n",
            d["previous_finished_at"]
                .as_str()
                .unwrap_or("the previous report"),
            len("new"),
            len("recurring"),
            len("failures_resolved"),
        ));
    }
    out
}

/// Names of controls as the plan model holds them (`&'static str`): the registry's, or,
/// for a name this build does not know (a report of another version), leaked once.
fn control_name(name: &str, known: &[&'static str]) -> &'static str {
    known
        .iter()
        .copied()
        .find(|k| *k == name)
        .unwrap_or_else(|| Box::leak(name.to_owned().into_boxed_str()))
}

fn action_of(v: &Value) -> Action {
    match v.as_str().unwrap_or_default() {
        "create" => Action::Create,
        "update" => Action::Update,
        "delete" => Action::Delete,
        "kept" => Action::Kept,
        "skipped" => Action::Skipped,
        "deferred" => Action::Deferred,
        _ => Action::NoOp,
    }
}

/// A recorded error, as the plan model holds it (for the HTML page).
fn error_of(v: &Value) -> TargetError {
    let message = text(v, "message").to_owned();
    match v["code"].as_str() {
        Some("DependencyFailed") => TargetError::NotAttempted(
            message
                .strip_prefix("not attempted: ")
                .unwrap_or(&message)
                .to_owned(),
        ),
        Some("Panicked") => TargetError::Panicked(message),
        Some("AccountUnreachable") => TargetError::AccountUnreachable(message),
        code => TargetError::Aws(AwsError {
            operation: Box::leak(text(v, "operation").to_owned().into_boxed_str()),
            code: code.map(str::to_owned),
            message: Some(message),
            kind: match text(v, "kind") {
                "transient" => ErrorKind::Transient,
                "access_denied" => ErrorKind::AccessDenied,
                "unsupported" => ErrorKind::Unsupported,
                "not_found" => ErrorKind::NotFound,
                _ => ErrorKind::Permanent,
            },
            status: v["status"].as_u64().map(|s| s as u16),
        }),
    }
}

/// A report as the plan model and its outcomes, for the HTML page. Settings that were
/// compliant everywhere are not in a report, so the page shows only what needed work.
pub fn plan_of(report: &Value) -> (Plan, Vec<AppliedChange>) {
    let registry = crate::controls::registry();
    let known: Vec<&'static str> = registry.iter().map(|c| c.name()).collect();
    let mut plan = Plan::new(
        text(report, "account").to_owned(),
        text(report, "partition").to_owned(),
        text(report, "home_region").to_owned(),
    );
    plan.regions = report["regions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| RegionStatus {
            name: text(r, "name").to_owned(),
            targeted: r["targeted"].as_bool().unwrap_or(false),
            reason: r["reason"].as_str().map(str::to_owned),
        })
        .collect();
    let mut results = Vec::new();
    for c in report["changes"].as_array().into_iter().flatten() {
        let control = control_name(text(c, "control"), &known);
        let change = Change {
            address: text(c, "address").to_owned(),
            account: c["account"].as_str().map(str::to_owned),
            control,
            region: c["region"].as_str().map(str::to_owned),
            action: action_of(&c["action"]),
            before: c.get("before").cloned(),
            after: c.get("after").cloned(),
            reason: c["reason"].as_str().map(str::to_owned),
            operation: None,
            order: 0,
        };
        let outcome = match text(c, "status") {
            "applied" => Some(Outcome::Applied),
            "already-done" => Some(Outcome::AlreadyDone),
            "deferred" if change.action != Action::Deferred => Some(Outcome::Deferred {
                reason: change.reason.clone().unwrap_or_default(),
            }),
            "failed" => Some(Outcome::Failed {
                error: error_of(&c["error"]),
            }),
            _ => None,
        };
        if let Some(outcome) = outcome {
            results.push(AppliedChange {
                address: change.address.clone(),
                account: change.account.clone(),
                control,
                region: change.region.clone(),
                action: change.action,
                outcome,
                seconds: c["seconds"].as_f64().unwrap_or(0.0),
            });
        }
        plan.changes.push(change);
    }
    for f in report["failures"].as_array().into_iter().flatten() {
        plan.failures.push(Failure {
            address: text(f, "address").to_owned(),
            account: f["account"].as_str().map(str::to_owned),
            control: control_name(text(f, "control"), &known),
            region: f["region"].as_str().map(str::to_owned),
            error: error_of(&f["error"]),
        });
    }
    plan.accounts = report["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| AccountStatus {
            account: text(a, "account").to_owned(),
            name: a["name"].as_str().map(str::to_owned),
            management: a["management"].as_bool().unwrap_or(false),
            error: a["error"].as_str().map(str::to_owned),
            skipped: a["skipped"].as_str().map(str::to_owned),
        })
        .collect();
    // Rows in the registry's order (account-wide settings first, as a run's plan).
    let mut controls: Vec<&'static str> = known
        .iter()
        .copied()
        .filter(|k| {
            plan.changes.iter().any(|c| c.control == *k)
                || plan.failures.iter().any(|f| f.control == *k)
        })
        .collect();
    controls.sort_by_key(|name| {
        registry
            .iter()
            .find(|c| c.name() == *name)
            .map(|c| c.scope() != crate::controls::Scope::Account)
    });
    plan.controls = controls;
    plan.finish();
    (plan, results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(finished: &str, accounts: Value, changes: Value, failures: Value) -> Value {
        json!({
            "format_version": "1", "tool_version": "0.1.0", "command": "apply",
            "baseline": {"path": "org.toml", "sha256": "ab"},
            "account": "123456789012", "partition": "aws", "home_region": "us-east-1",
            "regions": [{"name": "us-east-1", "targeted": true}],
            "started_at": "2026-12-05T03:00:00Z", "finished_at": finished, "seconds": 10.0,
            "requests": 100,
            "planned": {}, "outcome": {},
            "changes": changes, "failures": failures, "exit_code": 0, "accounts": accounts
        })
    }

    fn change(account: &str, what: &str, status: &str) -> Value {
        json!({"address": format!("account[\"{account}\"].{what}"), "account": account,
               "control": "password_policy", "region": null, "action": "create",
               "status": status, "seconds": 0.1})
    }

    #[test]
    fn shards_merge_into_one_report_with_each_account_from_the_shard_that_worked_on_it() {
        let a = Source {
            source: "shard-0.json".into(),
            report: report(
                "2026-12-05T03:01:00Z",
                json!([{"account": "111111111111", "management": false},
                       {"account": "222222222222", "management": false, "skipped": "not named by --account"}]),
                json!([change("111111111111", "iam.password_policy", "applied")]),
                json!([]),
            ),
        };
        let b = Source {
            source: "shard-1.json".into(),
            report: report(
                "2026-12-05T03:02:30Z",
                json!([{"account": "111111111111", "management": false, "skipped": "not named by --account"},
                       {"account": "222222222222", "management": false, "error": "cannot assume"}]),
                json!([]),
                json!([{"address": "account[\"222222222222\"]", "account": "222222222222",
                        "control": "account", "region": null,
                        "error": {"operation": "sts:AssumeRole", "code": "AccountUnreachable",
                                  "message": "cannot assume", "kind": "permanent", "status": null}}]),
            ),
        };
        let merged = merge(vec![b, a], None).unwrap();
        assert_eq!(merged["requests"], 200);
        assert_eq!(merged["seconds"], 150.0);
        assert_eq!(merged["outcome"]["applied"], 1);
        assert_eq!(merged["outcome"]["failed"], 1);
        assert_eq!(merged["planned"]["add"], 1);
        let accounts = merged["accounts"].as_array().unwrap();
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0]["account"], "222222222222", "failed first");
        assert!(accounts[1].get("skipped").is_none(), "{accounts:?}");
        assert_eq!(merged["shards"].as_array().unwrap().len(), 2);

        let text = summary(&merged);
        assert!(text.contains("2 shards"), "{text}");
        assert!(text.contains("1 applied"), "{text}");
        assert!(
            text.contains("Failed account 222222222222: cannot assume"),
            "{text}"
        );

        // The page shows the failed account and the applied change.
        let (plan, results) = plan_of(&merged);
        assert_eq!(results.len(), 1);
        let page = crate::html::page(&plan, Some(&results), "now");
        assert!(page.contains("account-222222222222"), "{page}");
        assert!(page.contains("iam.password_policy"));
    }

    #[test]
    fn an_expected_account_no_report_mentions_is_a_failure_of_its_missing_shard() {
        // Shards list only their own accounts; the shard of 333333333333 wrote nothing.
        let worked = |id: &str| json!({"account": id, "management": false});
        let sources = ["111111111111", "222222222222"]
            .into_iter()
            .enumerate()
            .map(|(n, id)| Source {
                source: format!("shard-{n}.json"),
                report: report(
                    "2026-12-05T03:01:00Z",
                    json!([worked(id)]),
                    json!([]),
                    json!([]),
                ),
            })
            .collect::<Vec<_>>();
        let expected: Vec<(String, Option<String>)> =
            ["111111111111", "222222222222", "333333333333"]
                .into_iter()
                .map(|id| (id.to_owned(), Some(format!("name-{id}"))))
                .collect();
        let complete = merge(sources.clone(), None).unwrap();
        assert_eq!(
            complete["exit_code"], 0,
            "without --expect the gap is invisible"
        );
        let merged = merge_expecting(sources, None, &expected).unwrap();
        assert_eq!(merged["exit_code"], 1);
        let missing = merged["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["account"] == "333333333333")
            .unwrap();
        assert!(
            missing["error"]
                .as_str()
                .unwrap()
                .contains("no shard's report")
        );
        assert_eq!(missing["name"], "name-333333333333");
        assert_eq!(merged["failures"][0]["error"]["code"], "NoShardReport");
    }

    #[test]
    fn an_account_no_report_worked_on_is_a_failure_of_its_missing_shard() {
        // Two shards of three wrote their reports; the third's account is in neither.
        let skipped = |id: &str| json!({"account": id, "management": false, "skipped": "not named by --account"});
        let worked = |id: &str| json!({"account": id, "management": false});
        let sources = vec![
            Source {
                source: "shard-0.json".into(),
                report: report(
                    "2026-12-05T03:01:00Z",
                    json!([worked("111111111111"), skipped("222222222222"), skipped("333333333333"),
                           {"account": "444444444444", "management": false, "skipped": "excluded"}]),
                    json!([]),
                    json!([]),
                ),
            },
            Source {
                source: "shard-1.json".into(),
                report: report(
                    "2026-12-05T03:01:00Z",
                    json!([skipped("111111111111"), worked("222222222222"), skipped("333333333333"),
                           {"account": "444444444444", "management": false, "skipped": "excluded"}]),
                    json!([]),
                    json!([]),
                ),
            },
        ];
        let merged = merge(sources, None).unwrap();
        assert_eq!(merged["exit_code"], 1);
        let accounts = merged["accounts"].as_array().unwrap();
        assert_eq!(accounts[0]["account"], "333333333333", "{accounts:?}");
        assert!(
            accounts[0]["error"]
                .as_str()
                .unwrap()
                .contains("no shard's report")
        );
        assert!(accounts[0].get("skipped").is_none());
        let excluded = accounts
            .iter()
            .find(|a| a["account"] == "444444444444")
            .unwrap();
        assert_eq!(
            excluded["skipped"], "excluded",
            "an excluded account stays skipped"
        );
        assert_eq!(merged["failures"][0]["error"]["code"], "NoShardReport");
        assert_eq!(merged["outcome"]["failed"], 1);
        assert!(summary(&merged).contains("Failed account 333333333333"));
    }

    #[test]
    fn reports_of_different_baselines_or_formats_are_refused() {
        let a = report("t1", json!([]), json!([]), json!([]));
        let mut b = a.clone();
        b["baseline"]["sha256"] = json!("cd");
        let err = merge(
            vec![
                Source {
                    source: "a".into(),
                    report: a.clone(),
                },
                Source {
                    source: "b".into(),
                    report: b,
                },
            ],
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("sha256"), "{err}");
        let mut c = a.clone();
        c["format_version"] = json!("2");
        let err = merge(
            vec![Source {
                source: "c".into(),
                report: c,
            }],
            None,
        )
        .unwrap_err();
        assert!(matches!(err, MergeError::Format { .. }), "{err}");
        let err = merge(
            vec![Source {
                source: "d".into(),
                report: json!([1]),
            }],
            None,
        )
        .unwrap_err();
        assert!(matches!(err, MergeError::NotAReport { .. }), "{err}");
    }

    #[test]
    fn drift_since_the_previous_report_names_new_recurring_and_resolved() {
        let previous = report(
            "2026-11-28T03:02:00Z",
            json!([]),
            json!([change("1", "a", "failed"), change("1", "b", "applied")]),
            json!([]),
        );
        let now = report(
            "2026-12-05T03:02:00Z",
            json!([]),
            json!([change("1", "b", "applied"), change("1", "c", "applied")]),
            json!([]),
        );
        let merged = merge(
            vec![Source {
                source: "s".into(),
                report: now,
            }],
            Some(&previous),
        )
        .unwrap();
        let d = &merged["drift"];
        assert_eq!(d["new"], json!(["account[\"1\"].c"]));
        assert_eq!(d["recurring"], json!(["account[\"1\"].b"]));
        assert_eq!(d["failures_resolved"], json!(["account[\"1\"].a"]));
        assert!(summary(&merged).contains("1 new changes"));
    }
}
