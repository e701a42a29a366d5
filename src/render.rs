//! Text and JSON renderings of the plan and of apply results, both from the plan model.

use crate::plan::{Action, AppliedChange, ApplyReport, Change, Outcome, Plan};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use std::fmt::Write;

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn action(&self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Delete => "31",
            Action::Kept | Action::Deferred => "36",
            Action::Skipped | Action::NoOp => "2",
        };
        self.paint(code, text)
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

pub fn plan_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("the plan always serializes")
}

pub fn apply_json(report: &ApplyReport) -> String {
    serde_json::to_string_pretty(report).expect("the report always serializes")
}

/// The plan as people read it, terraform-like.
pub fn plan_text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let targeted = plan.regions.iter().filter(|r| r.targeted).count();
    let _ = writeln!(
        out,
        "Account {} (partition {}, home region {}): {} regions targeted.",
        plan.account, plan.partition, plan.home_region, targeted
    );
    let mut skipped: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in plan.regions.iter().filter(|r| !r.targeted) {
        let reason = r.reason.as_deref().unwrap_or("skipped");
        match skipped.iter_mut().find(|(why, _)| *why == reason) {
            Some((_, names)) => names.push(&r.name),
            None => skipped.push((reason, vec![&r.name])),
        }
    }
    for (reason, names) in skipped {
        let _ = writeln!(
            out,
            "Skipped {} regions ({reason}): {}.",
            names.len(),
            names.join(", ")
        );
    }
    out.push('\n');

    for change in plan.changes.iter().filter(|c| c.action.is_change()) {
        render_change(&mut out, change, style);
    }
    for change in plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Kept | Action::Skipped | Action::Deferred))
    {
        let verb = match change.action {
            Action::Kept => "kept",
            Action::Deferred => "deferred",
            _ => "skipped",
        };
        let _ = writeln!(
            out,
            "  {} {} {verb}: {}",
            style.action(change.action, change.action.symbol()),
            style.bold(&change.address),
            change.reason.as_deref().unwrap_or("")
        );
    }
    for change in plan
        .changes
        .iter()
        .filter(|c| c.action == Action::NoOp && c.reason.is_some())
    {
        let _ = writeln!(
            out,
            "  {} {} no change: {}",
            style.action(Action::NoOp, "="),
            style.bold(&change.address),
            change.reason.as_deref().unwrap_or("")
        );
    }
    for f in &plan.failures {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            style.paint("31", "!"),
            style.bold(&f.address),
            f.error
        );
    }
    if plan
        .changes
        .iter()
        .any(|c| c.action != Action::NoOp || c.reason.is_some())
        || !plan.failures.is_empty()
    {
        out.push('\n');
    }
    let s = &plan.summary;
    if plan.has_changes() {
        let _ = writeln!(
            out,
            "{} {} to add, {} to change, {} to destroy.",
            style.bold("Plan:"),
            s.add,
            s.change,
            s.destroy
        );
    } else if plan.failures.is_empty() && s.deferred > 0 {
        let _ = writeln!(out, "No changes that can be made now.");
    } else if plan.failures.is_empty() {
        let _ = writeln!(out, "No changes. The account matches the baseline.");
    } else {
        let _ = writeln!(out, "No changes in the targets that could be observed.");
    }
    if s.deferred > 0 {
        let _ = writeln!(
            out,
            "{} change(s) deferred until AWS allows them; a later run makes them.",
            s.deferred
        );
    }
    if !plan.failures.is_empty() {
        let _ = writeln!(
            out,
            "{} {} target(s) could not be observed; see above.",
            style.paint("31", "Error:"),
            plan.failures.len()
        );
    }
    out
}

/// An organization's plan: each planned account under its heading (as one account's
/// plan), each account that could not be worked on with its reason, then the
/// organization's summary from `merged`.
pub fn organization_text(
    accounts: &[Result<Plan, (String, String)>],
    merged: &Plan,
    style: Style,
) -> String {
    let name = |id: &str| {
        merged
            .accounts
            .iter()
            .find(|a| a.account == id)
            .and_then(|a| a.name.clone())
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    };
    let mut out = String::new();
    for account in accounts {
        match account {
            Ok(plan) => {
                let _ = writeln!(
                    out,
                    "{}",
                    style.bold(&format!(
                        "== account {}{} ==",
                        plan.account,
                        name(&plan.account)
                    ))
                );
                out.push_str(&plan_text(plan, style));
            }
            Err((id, reason)) => {
                let _ = writeln!(
                    out,
                    "{}",
                    style.bold(&format!("== account {id}{} ==", name(id)))
                );
                let _ = writeln!(
                    out,
                    "  {} {}: {reason}",
                    style.paint("31", "!"),
                    style.bold(&format!("account[\"{id}\"]"))
                );
            }
        }
        out.push('\n');
    }
    let skipped: Vec<_> = merged
        .accounts
        .iter()
        .filter(|a| a.skipped.is_some())
        .collect();
    for a in &skipped {
        let _ = writeln!(
            out,
            "Skipped account {}{}: {}.",
            a.account,
            a.name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            a.skipped.as_deref().unwrap_or_default()
        );
    }
    if !skipped.is_empty() {
        out.push('\n');
    }
    let worked = merged
        .accounts
        .iter()
        .filter(|a| a.skipped.is_none())
        .count();
    let unreachable = merged.accounts.iter().filter(|a| a.error.is_some()).count();
    let with_changes = accounts
        .iter()
        .filter(|a| a.as_ref().is_ok_and(Plan::has_changes))
        .count();
    let with_failures = accounts
        .iter()
        .filter(|a| a.as_ref().is_ok_and(|p| !p.failures.is_empty()))
        .count();
    let s = &merged.summary;
    let _ = write!(
        out,
        "{} {worked} accounts, {with_changes} with changes",
        style.bold("Organization:")
    );
    if with_failures > 0 {
        let _ = write!(
            out,
            ", {with_failures} with targets that could not be observed"
        );
    }
    if unreachable > 0 {
        let _ = write!(
            out,
            ", {}",
            style.paint("31", &format!("{unreachable} that could not be worked on"))
        );
    }
    let _ = writeln!(
        out,
        ". Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    );
    out
}

fn render_change(out: &mut String, change: &Change, style: Style) {
    let sym = change.action.symbol();
    let _ = writeln!(
        out,
        "  {} {}",
        style.action(change.action, sym),
        style.bold(&change.address)
    );
    let empty = Value::Object(Default::default());
    let before = change.before.as_ref().unwrap_or(&empty);
    let after = change.after.as_ref().unwrap_or(&empty);
    match change.action {
        Action::Create => render_fields(out, after, "+", Action::Create, style),
        Action::Delete => render_fields(out, before, "-", Action::Delete, style),
        _ => render_update(out, before, after, style),
    }
    if let Some(reason) = &change.reason {
        let _ = writeln!(out, "      # {reason}");
    }
}

fn render_fields(out: &mut String, value: &Value, sym: &str, action: Action, style: Style) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if is_document(v) {
                    // Policies and other documents: pretty JSON, one line each.
                    let _ = writeln!(out, "      {} {k} =", style.action(action, sym));
                    for line in document_text(v).lines() {
                        let _ = writeln!(out, "          {line}");
                    }
                    continue;
                }
                let _ = writeln!(
                    out,
                    "      {} {k} = {}",
                    style.action(action, sym),
                    inline(v)
                );
            }
        }
        other => {
            let _ = writeln!(out, "      {} {}", style.action(action, sym), inline(other));
        }
    }
}

fn render_update(out: &mut String, before: &Value, after: &Value, style: Style) {
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        let _ = writeln!(out, "      ~ {} → {}", inline(before), inline(after));
        return;
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (old, new) = (
            b.get(k).unwrap_or(&Value::Null),
            a.get(k).unwrap_or(&Value::Null),
        );
        if old == new {
            continue;
        }
        if is_document(old) || is_document(new) {
            let _ = writeln!(out, "      {} {k}:", style.action(Action::Update, "~"));
            out.push_str(&document_diff(old, new, style));
        } else {
            let _ = writeln!(
                out,
                "      {} {k}: {} → {}",
                style.action(Action::Update, "~"),
                inline(old),
                inline(new)
            );
        }
    }
}

fn is_document(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\n'),
        Value::Object(m) => !m.is_empty(),
        _ => false,
    }
}

fn document_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ Value::Object(_)) => {
                serde_json::to_string_pretty(&parsed).unwrap_or_default()
            }
            _ => s.clone(),
        },
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// A line diff of two documents (policies are shown pretty-printed).
pub fn document_diff(old: &Value, new: &Value, style: Style) -> String {
    let (old, new) = (document_text(old), document_text(new));
    let mut out = String::new();
    for change in TextDiff::from_lines(&old, &new).iter_all_changes() {
        let (sign, action) = match change.tag() {
            ChangeTag::Delete => ("-", Action::Delete),
            ChangeTag::Insert => ("+", Action::Create),
            ChangeTag::Equal => (" ", Action::NoOp),
        };
        let line = format!("          {sign} {}", change.value().trim_end_matches('\n'));
        out.push_str(&if change.tag() == ChangeTag::Equal {
            line
        } else {
            style.action(action, &line)
        });
        out.push('\n');
    }
    out
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// One line per applied change, as it completes.
pub fn applied_line(result: &AppliedChange, style: Style) -> String {
    let done = match result.action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "destroyed",
        _ => "done",
    };
    match &result.outcome {
        Outcome::Applied => format!(
            "{}: {} {}",
            style.bold(&result.address),
            style.action(result.action, done),
            style.action(Action::NoOp, &format!("({:.2}s)", result.seconds))
        ),
        Outcome::AlreadyDone => format!(
            "{}: already done by someone else; nothing changed",
            style.bold(&result.address)
        ),
        Outcome::Deferred { reason } => format!(
            "{}: {} {reason}",
            style.bold(&result.address),
            style.action(Action::Deferred, "deferred:")
        ),
        Outcome::Failed { error } => format!(
            "{}: {} {error}",
            style.bold(&result.address),
            style.paint("31", "failed:")
        ),
    }
}

/// The closing lines of an apply.
pub fn apply_summary(report: &ApplyReport, style: Style) -> String {
    let count = |action: Action| {
        report
            .results
            .iter()
            .filter(|r| r.action == action && matches!(r.outcome, Outcome::Applied))
            .count()
    };
    let mut out = format!(
        "\n{} Resources: {} added, {} changed, {} destroyed.\n",
        style.bold("Apply complete!"),
        count(Action::Create),
        count(Action::Update),
        count(Action::Delete)
    );
    let deferred = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Deferred { .. }))
        .count()
        + report.plan.summary.deferred;
    if deferred > 0 {
        let _ = writeln!(
            out,
            "{deferred} change(s) deferred until AWS allows them; a later run makes them."
        );
    }
    let failed = report.failed();
    if failed > 0 {
        let _ = writeln!(
            out,
            "{} {failed} change(s) or target(s) failed; see above.",
            style.paint("31", "Error:")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_are_diffed_line_by_line() {
        let old = json!({"Version": "2012-10-17", "Statement": [{"Sid": "A"}]});
        let new = json!({"Version": "2012-10-17", "Statement": [{"Sid": "A"}, {"Sid": "B"}]});
        let diff = document_diff(&old, &new, Style { color: false });
        assert!(diff.contains("+       \"Sid\": \"B\""), "{diff}");
        assert!(diff.contains("  \"Version\": \"2012-10-17\""), "{diff}");
        assert!(!diff.contains("- "), "{diff}");
    }

    #[test]
    fn a_deferred_change_is_listed_with_its_reason_and_counted() {
        let mut plan = Plan::new("123456789012".into(), "aws".into(), "eu-west-1".into());
        plan.changes.push(Change {
            address: "detective.graph[\"eu-west-1\"]".into(),
            account: None,
            control: "detective",
            region: Some("eu-west-1".into()),
            action: Action::Deferred,
            before: None,
            after: Some(json!({"graph": "enabled"})),
            reason: Some("GuardDuty has been on for 3 hours here".into()),
            operation: None,
            order: 0,
        });
        plan.finish();
        assert_eq!(plan.summary.deferred, 1);
        assert!(!plan.has_changes());
        let text = plan_text(&plan, Style { color: false });
        assert!(
            text.contains(
                "> detective.graph[\"eu-west-1\"] deferred: GuardDuty has been on for 3 hours here"
            ),
            "{text}"
        );
        assert!(text.contains("No changes that can be made now."), "{text}");
        assert!(
            text.contains("1 change(s) deferred until AWS allows them"),
            "{text}"
        );
    }

    #[test]
    fn colour_is_off_when_asked() {
        let s = Style { color: false };
        assert_eq!(s.action(Action::Create, "+"), "+");
        let s = Style { color: true };
        assert_eq!(s.action(Action::Create, "+"), "\x1b[32m+\x1b[0m");
    }
}
