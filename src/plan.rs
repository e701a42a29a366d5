//! The plan: one serializable model that both the text and the JSON output render.

use crate::error::TargetError;
use serde::Serialize;
use serde_json::Value;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// The JSON format's version; bump it on any incompatible change (see docs/json-output.md).
pub const FORMAT_VERSION: &str = "1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// The account already matches.
    NoOp,
    /// Something the baseline would change is deliberately left as it is (a default VPC
    /// in use, deletion turned off); the reason says why.
    Kept,
    /// The setting cannot apply to this target (a region not enabled, a service not
    /// available there); the reason says why.
    Skipped,
    /// The change cannot be made yet (Detective waits until GuardDuty has run for about
    /// 48 hours); the reason says why, and a later run makes it.
    Deferred,
}

impl Action {
    pub fn is_change(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::NoOp => "=",
            Action::Kept => "#",
            Action::Skipped => "!",
            Action::Deferred => ">",
        }
    }
}

/// What the control must do to carry out a change. Opaque to everything but the control
/// that planned it; never serialized.
#[derive(Clone)]
pub struct Operation(pub Arc<dyn Any + Send + Sync>);

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Operation(..)")
    }
}

/// One planned change to one resource.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// For example `ec2.default_vpc["eu-west-1"]`; in an organization run prefixed by
    /// the account: `account["111122223333"].ec2.default_vpc["eu-west-1"]`.
    pub address: String,
    /// The member account, in an organization run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The baseline table that asked for it, for example `default_vpc`.
    pub control: &'static str,
    /// None for account-wide settings.
    pub region: Option<String>,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip)]
    pub operation: Option<Operation>,
    /// The position among its control's proposals for the target: changes of one target
    /// are applied in this order (a recorder before its delivery channel).
    #[serde(skip)]
    pub order: usize,
}

/// A target (a control in a region) that could not be observed or changed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub control: &'static str,
    pub region: Option<String>,
    pub error: TargetError,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionStatus {
    pub name: String,
    pub targeted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub kept: usize,
    pub skipped: usize,
    pub deferred: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub format_version: &'static str,
    pub tool_version: &'static str,
    pub account: String,
    pub partition: String,
    pub home_region: String,
    pub regions: Vec<RegionStatus>,
    /// The settings the baseline turns on, account-wide ones first: the order renderers
    /// show them in.
    pub controls: Vec<&'static str>,
    pub changes: Vec<Change>,
    pub failures: Vec<Failure>,
    pub summary: Summary,
    /// The accounts of an organization run (empty, and left out, for one account).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountStatus>,
}

/// One account of an organization run: planned, or why it could not be worked on.
#[derive(Debug, Clone, Serialize)]
pub struct AccountStatus {
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The account whose credentials run the tool (the management account).
    pub management: bool,
    /// Why nothing could be observed in it (its role missing or denied, for example).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the run leaves it out (excluded, suspended, not named by `--account`): no
    /// request is sent to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// `address` in account `account`, as organization runs name it.
pub fn in_account(account: &str, address: &str) -> String {
    format!("account[\"{account}\"].{address}")
}

impl Plan {
    pub fn new(account: String, partition: String, home_region: String) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION"),
            account,
            partition,
            home_region,
            regions: Vec::new(),
            controls: Vec::new(),
            changes: Vec::new(),
            failures: Vec::new(),
            summary: Summary::default(),
            accounts: Vec::new(),
        }
    }

    /// Sorts changes and failures by address (so output is stable whatever order the
    /// concurrent observations finished in) and recounts the summary.
    pub fn finish(&mut self) {
        self.changes.sort_by(|a, b| a.address.cmp(&b.address));
        self.failures.sort_by(|a, b| a.address.cmp(&b.address));
        self.summary = summarize(&self.changes, self.failures.len());
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }
}

pub fn summarize(changes: &[Change], failed: usize) -> Summary {
    let mut s = Summary {
        failed,
        ..Summary::default()
    };
    for c in changes {
        match c.action {
            Action::Create => s.add += 1,
            Action::Update => s.change += 1,
            Action::Delete => s.destroy += 1,
            Action::Kept => s.kept += 1,
            Action::Skipped => s.skipped += 1,
            Action::Deferred => s.deferred += 1,
            Action::NoOp => {}
        }
    }
    s
}

/// How one applied change ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Outcome {
    Applied,
    /// Another run (or a person) made the change between our observation and our call.
    AlreadyDone,
    /// AWS refused for a reason that time resolves; a later run makes the change.
    Deferred {
        reason: String,
    },
    Failed {
        error: TargetError,
    },
}

/// What became of a planned change: the one list of statuses and their labels, which
/// the text, JSON, HTML and report renderers all use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Applied,
    /// Another run (or a person) made the change between our observation and our call.
    AlreadyDone,
    Deferred,
    Failed,
    /// A planned change left alone: the run was a plan, or was not confirmed.
    NotApplied,
    /// Not a change (kept, skipped, already compliant).
    None,
}

impl Status {
    /// The status of a planned change with `action`, given its apply outcome if any.
    pub fn of(action: Action, outcome: Option<&Outcome>) -> Status {
        match (action, outcome) {
            (_, Some(Outcome::Applied)) => Status::Applied,
            (_, Some(Outcome::AlreadyDone)) => Status::AlreadyDone,
            (_, Some(Outcome::Deferred { .. })) => Status::Deferred,
            (_, Some(Outcome::Failed { .. })) => Status::Failed,
            (Action::Deferred, None) => Status::Deferred,
            (a, None) if a.is_change() => Status::NotApplied,
            _ => Status::None,
        }
    }

    /// The words a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::AlreadyDone => "already done",
            Status::Deferred => "deferred",
            Status::Failed => "failed",
            Status::NotApplied => "not applied",
            Status::None => "–",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AppliedChange {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub control: &'static str,
    pub region: Option<String>,
    pub action: Action,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub seconds: f64,
}

/// A planned change and what became of it: the one record that the report and the HTML
/// page read (the text output prints outcomes as they arrive, from [`AppliedChange`]).
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub change: &'a Change,
    pub status: Status,
    /// How the apply ended for it; None for a plan or a change that was not tried.
    pub outcome: Option<&'a Outcome>,
    pub seconds: f64,
}

impl Record<'_> {
    pub fn error(&self) -> Option<&TargetError> {
        match self.outcome {
            Some(Outcome::Failed { error }) => Some(error),
            _ => None,
        }
    }

    /// Why it is kept, skipped or deferred: AWS's reason for a deferral, else the plan's.
    pub fn reason(&self) -> Option<&str> {
        match self.outcome {
            Some(Outcome::Deferred { reason }) => Some(reason),
            _ => self.change.reason.as_deref(),
        }
    }
}

/// Every change of `plan` with its outcome among `results` (None for a plan).
pub fn records<'a>(plan: &'a Plan, results: Option<&'a [AppliedChange]>) -> Vec<Record<'a>> {
    let by_address: std::collections::BTreeMap<&str, &AppliedChange> = results
        .unwrap_or_default()
        .iter()
        .map(|r| (r.address.as_str(), r))
        .collect();
    plan.changes
        .iter()
        .map(|change| {
            let result = by_address.get(change.address.as_str());
            let outcome = result.map(|r| &r.outcome);
            Record {
                change,
                status: Status::of(change.action, outcome),
                outcome,
                seconds: result.map_or(0.0, |r| r.seconds),
            }
        })
        .collect()
}

/// What `apply` did: the plan it carried out and each change's outcome. Serialized with
/// `changes` too: each planned change with its status, error and seconds, the same
/// records as the run report's `changes`.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub plan: Plan,
    pub results: Vec<AppliedChange>,
}

impl Serialize for ApplyReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (changes, _) =
            crate::report::changes(&self.plan, &self.results, crate::report::Totals::default());
        let mut out = s.serialize_struct("ApplyReport", 3)?;
        out.serialize_field("plan", &self.plan)?;
        out.serialize_field("results", &self.results)?;
        out.serialize_field("changes", &changes)?;
        out.end()
    }
}

impl ApplyReport {
    pub fn failed(&self) -> usize {
        self.plan.failures.len()
            + self
                .results
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
                .count()
    }
}

/// A change a control proposes, with the typed operation that carries it out.
#[derive(Debug, Clone)]
pub struct Proposal<Op> {
    pub address: String,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<String>,
    pub op: Option<Op>,
}

impl<Op> Proposal<Op> {
    pub fn new(address: String, action: Action) -> Self {
        Proposal {
            address,
            action,
            before: None,
            after: None,
            reason: None,
            op: None,
        }
    }
    pub fn before(mut self, v: Value) -> Self {
        self.before = Some(v);
        self
    }
    pub fn after(mut self, v: Value) -> Self {
        self.after = Some(v);
        self
    }
    pub fn reason(mut self, r: impl Into<String>) -> Self {
        self.reason = Some(r.into());
        self
    }
    pub fn op(mut self, op: Op) -> Self {
        self.op = Some(op);
        self
    }
    /// The same proposal with its operation wrapped (a control that reuses another's).
    pub fn map_op<T>(self, f: impl FnOnce(Op) -> T) -> Proposal<T> {
        Proposal {
            address: self.address,
            action: self.action,
            before: self.before,
            after: self.after,
            reason: self.reason,
            op: self.op.map(f),
        }
    }
}

/// How an applied operation ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// The live state already had it (another run won a race): nothing was changed.
    AlreadyDone,
    /// AWS refused for a reason that passes with time (the plan model's `deferred`).
    Deferred(String),
}
