//! The run report (`apply --report FILE`): one JSON document per run, for schedulers and
//! auditors. Its schema is `docs/report.schema.json`; `format_version` changes on any
//! incompatible change.

use crate::error::TargetError;
use crate::plan::{
    AccountStatus, Action, AppliedChange, Change, Failure, Plan, RegionStatus, Status, Summary,
};
use serde::Serialize;

pub const FORMAT_VERSION: &str = "1";

/// The baseline file the run used.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineFile {
    pub path: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format_version: &'static str,
    pub tool_version: &'static str,
    pub command: &'static str,
    pub baseline: BaselineFile,
    pub account: String,
    pub partition: String,
    pub home_region: String,
    pub regions: Vec<RegionStatus>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
    /// AWS requests sent (every attempt counts).
    pub requests: u64,
    pub planned: Summary,
    pub outcome: Totals,
    /// Every planned change that is not already compliant, with what became of it.
    pub changes: Vec<ReportChange>,
    /// Targets that could not be observed.
    pub failures: Vec<Failure>,
    pub exit_code: u8,
    /// The accounts of an organization run (left out for one account).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountStatus>,
}

/// What the run did, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub applied: usize,
    pub already_done: usize,
    pub deferred: usize,
    pub failed: usize,
    /// Planned changes left alone because the run was a plan or was not confirmed.
    pub not_applied: usize,
}

/// A planned change and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportChange {
    /// The change as planned; for a change AWS deferred, `reason` is AWS's reason.
    #[serde(flatten)]
    pub change: Change,
    /// `applied`, `already-done`, `deferred`, `failed`, `not-applied`, or `none` for a
    /// change that is not one (kept, skipped).
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TargetError>,
    pub seconds: f64,
}

/// Facts about the run that the plan does not hold.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub command: &'static str,
    pub baseline: BaselineFile,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
    pub requests: u64,
    pub exit_code: u8,
}

/// Every planned change that is not already compliant, with what became of it, and the
/// counts: the change record of the report and of `apply --output json`.
pub fn changes(
    plan: &Plan,
    results: &[AppliedChange],
    mut totals: Totals,
) -> (Vec<ReportChange>, Totals) {
    let changes: Vec<ReportChange> = crate::plan::records(plan, Some(results))
        .into_iter()
        .filter(|r| r.change.action != Action::NoOp)
        .map(|r| {
            match r.status {
                Status::Applied => totals.applied += 1,
                Status::AlreadyDone => totals.already_done += 1,
                Status::Deferred => totals.deferred += 1,
                Status::Failed => totals.failed += 1,
                Status::NotApplied => totals.not_applied += 1,
                Status::None => {}
            }
            let mut change = r.change.clone();
            change.reason = r.reason().map(str::to_owned);
            ReportChange {
                change,
                status: r.status,
                error: r.error().cloned(),
                seconds: r.seconds,
            }
        })
        .collect();
    (changes, totals)
}

pub fn build(plan: &Plan, results: &[AppliedChange], facts: RunFacts) -> Report {
    let totals = Totals {
        failed: plan.failures.len(),
        ..Totals::default()
    };
    let (changes, totals) = changes(plan, results, totals);
    Report {
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        command: facts.command,
        baseline: facts.baseline,
        account: plan.account.clone(),
        partition: plan.partition.clone(),
        home_region: plan.home_region.clone(),
        regions: plan.regions.clone(),
        started_at: facts.started_at,
        finished_at: facts.finished_at,
        seconds: facts.seconds,
        requests: facts.requests,
        planned: plan.summary.clone(),
        outcome: totals,
        changes,
        failures: plan.failures.clone(),
        exit_code: facts.exit_code,
        accounts: plan.accounts.clone(),
    }
}

/// Now, as RFC 3339 in UTC.
pub fn now() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Outcome;

    #[test]
    fn each_change_carries_its_outcome_and_the_totals_add_up() {
        let mut plan = Plan::new("123456789012".into(), "aws".into(), "eu-west-1".into());
        let change = |address: &str, action: Action| Change {
            account: None,
            address: address.into(),
            control: "x",
            region: Some("eu-west-1".into()),
            action,
            before: None,
            after: None,
            reason: None,
            operation: None,
            order: 0,
        };
        plan.changes = vec![
            change("a", Action::Create),
            change("b", Action::Update),
            change("c", Action::NoOp),
            change("d", Action::Deferred),
            change("e", Action::Kept),
        ];
        plan.finish();
        let results = vec![
            AppliedChange {
                address: "a".into(),
                account: None,
                control: "x",
                region: None,
                action: Action::Create,
                outcome: Outcome::Applied,
                seconds: 0.5,
            },
            AppliedChange {
                address: "b".into(),
                account: None,
                control: "x",
                region: None,
                action: Action::Update,
                outcome: Outcome::Failed {
                    error: TargetError::refused("x:Y", "no"),
                },
                seconds: 0.1,
            },
        ];
        let facts = RunFacts {
            command: "apply",
            baseline: BaselineFile {
                path: "b.toml".into(),
                sha256: sha256_hex(b"abc"),
            },
            started_at: now(),
            finished_at: now(),
            seconds: 1.0,
            requests: 10,
            exit_code: 1,
        };
        let r = build(&plan, &results, facts);
        let statuses: Vec<(&str, String)> = r
            .changes
            .iter()
            .map(|c| {
                let status = serde_json::to_value(c.status).unwrap();
                (
                    c.change.address.as_str(),
                    status.as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            [
                ("a", "applied".to_owned()),
                ("b", "failed".to_owned()),
                ("d", "deferred".to_owned()),
                ("e", "none".to_owned())
            ]
        );
        assert_eq!(
            r.outcome,
            Totals {
                applied: 1,
                already_done: 0,
                deferred: 1,
                failed: 1,
                not_applied: 0
            }
        );
        assert_eq!(
            r.baseline.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
