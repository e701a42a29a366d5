//! A self-contained HTML page of a plan or an apply (no external assets): the account and
//! time at the top, a matrix of settings × regions with a legend, then every change.

use crate::plan::{Action, AppliedChange, Outcome, Plan, Status};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A cell's state, from best to worst; a cell shows the worst of its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Compliant,
    Skipped,
    Kept,
    Deferred,
    Changed,
    WillChange,
    Failed,
}

impl Cell {
    pub const ALL: [Cell; 7] = [
        Cell::Compliant,
        Cell::Changed,
        Cell::WillChange,
        Cell::Kept,
        Cell::Deferred,
        Cell::Skipped,
        Cell::Failed,
    ];

    pub fn class(self) -> &'static str {
        match self {
            Cell::Compliant => "compliant",
            Cell::Skipped => "skipped",
            Cell::Kept => "kept",
            Cell::Deferred => "deferred",
            Cell::Changed => "changed",
            Cell::WillChange => "will-change",
            Cell::Failed => "failed",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Cell::Compliant => "compliant",
            Cell::Skipped => "skipped",
            Cell::Kept => "kept",
            Cell::Deferred => "deferred",
            Cell::Changed => "changed",
            Cell::WillChange => "will change",
            Cell::Failed => "failed",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Cell::Compliant => "matches the baseline",
            Cell::Changed => "changed by this run",
            Cell::WillChange => "apply would change it",
            Cell::Kept => "left as it is on purpose (see the details)",
            Cell::Deferred => "AWS does not allow it yet; a later run makes it",
            Cell::Skipped => "does not apply here",
            Cell::Failed => "could not be observed or changed",
        }
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#555;margin:0 0 16px}
table{border-collapse:collapse}
.matrix th,.matrix td{border:1px solid #d0d4dc;padding:4px 8px;text-align:center;white-space:nowrap}
.matrix th.setting{text-align:left}
.matrix thead th{background:#f2f4f8;font-weight:600}
.compliant{background:#d9f2dd;color:#185c25}
.changed{background:#cfe3ff;color:#0b3d91}
.will-change{background:#ffe7b3;color:#7a4b00}
.kept{background:#e3ddf7;color:#3f2d8a}
.deferred{background:#e8eef2;color:#345}
.skipped{background:#f4f4f4;color:#888}
.failed{background:#ffd6d6;color:#8a1010;font-weight:600}
.none{color:#bbb}
.legend{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0 24px;padding:0;list-style:none}
.legend li{padding:2px 8px;border-radius:4px}
.details{width:100%;table-layout:fixed}
.details td,.details th{border-bottom:1px solid #e2e5ea;padding:6px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.details th:nth-child(1){width:24%}.details th:nth-child(2){width:7%}.details th:nth-child(3){width:12%}.details th:nth-child(6){width:17%}
pre{margin:0;font:12px/1.35 ui-monospace,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
";

/// The page. `results` are the apply's outcomes (None for a plan).
pub fn page(plan: &Plan, results: Option<&[AppliedChange]>, generated_at: &str) -> String {
    let regions: Vec<&str> = plan
        .regions
        .iter()
        .filter(|r| r.targeted)
        .map(|r| r.name.as_str())
        .collect();
    // Columns: "account" for account-wide settings, then each targeted region.
    let mut columns = vec!["account"];
    columns.extend(regions.iter().copied());

    let records = crate::plan::records(plan, results);
    let mut cells: BTreeMap<(&str, String), Cell> = BTreeMap::new();
    let mut rows: Vec<&str> = Vec::new();
    let mut mark = |control: &'static str, region: Option<&str>, cell: Cell| {
        if !rows.contains(&control) {
            rows.push(control);
        }
        let key = (control, region.unwrap_or("account").to_owned());
        let slot = cells.entry(key).or_insert(cell);
        *slot = (*slot).max(cell);
    };
    // Organization runs: the worst cell of each account × setting.
    let mut by_account: BTreeMap<(&str, &str), Cell> = BTreeMap::new();
    for r in &records {
        let c = r.change;
        let cell = match (r.status, c.action) {
            (Status::Applied, _) => Cell::Changed,
            (Status::AlreadyDone, _) => Cell::Compliant,
            (Status::Deferred, _) => Cell::Deferred,
            (Status::Failed, _) => Cell::Failed,
            (Status::NotApplied, _) => Cell::WillChange,
            (Status::None, Action::Kept) => Cell::Kept,
            (Status::None, Action::Skipped) => Cell::Skipped,
            (Status::None, _) => Cell::Compliant,
        };
        mark(c.control, c.region.as_deref(), cell);
        if let Some(account) = &c.account {
            let slot = by_account.entry((account, c.control)).or_insert(cell);
            *slot = (*slot).max(cell);
        }
    }
    for f in &plan.failures {
        if let Some(account) = &f.account {
            by_account.insert((account, f.control), Cell::Failed);
        }
        if f.control == "account" {
            continue;
        }
        mark(f.control, f.region.as_deref(), Cell::Failed);
    }
    // Rows in the plan's order of settings (account settings first).
    rows.sort_by_key(|r| {
        plan.controls
            .iter()
            .position(|o| o == r)
            .unwrap_or(usize::MAX)
    });
    // Keep only the account column when some setting is account-wide.
    let account_used = cells.keys().any(|(_, col)| col == "account");
    if !account_used {
        columns.remove(0);
    }

    let title = if results.is_some() { "apply" } else { "plan" };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>baseline {title}: account {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&plan.account)
    );
    let _ = writeln!(
        out,
        "<h1>baseline {title}: account <span id=\"account\">{}</span></h1>",
        escape(&plan.account)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Generated <time id=\"generated\">{}</time> by baseline {} · partition {} · home region {} · {} regions targeted</p>",
        escape(generated_at),
        escape(plan.tool_version),
        escape(&plan.partition),
        escape(&plan.home_region),
        regions.len()
    );

    if !plan.accounts.is_empty() {
        out.push_str(&accounts_matrix(plan, &rows, &by_account));
        out.push_str("<h2>Settings × regions, all accounts (worst of each)</h2>\n");
    }
    out.push_str("<table class=\"matrix\">\n<thead><tr><th class=\"setting\">setting</th>");
    for col in &columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(col));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &rows {
        let _ = write!(
            out,
            "<tr data-control=\"{0}\"><th scope=\"row\" class=\"setting\">{0}</th>",
            escape(row)
        );
        for col in &columns {
            match cells.get(&(*row, (*col).to_owned())) {
                Some(cell) => {
                    let _ = write!(
                        out,
                        "<td class=\"{0}\" data-status=\"{0}\" title=\"{1} {2}: {3}\">{3}</td>",
                        cell.class(),
                        escape(row),
                        escape(col),
                        cell.label()
                    );
                }
                None => out.push_str("<td class=\"none\" data-status=\"none\">–</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n<ul class=\"legend\">\n");
    for cell in Cell::ALL {
        let _ = writeln!(
            out,
            "<li class=\"{0}\" data-status=\"{0}\"><b>{1}</b>: {2}</li>",
            cell.class(),
            cell.label(),
            cell.meaning()
        );
    }
    out.push_str("</ul>\n");

    let details: Vec<_> = records
        .iter()
        .filter(|r| r.change.action != Action::NoOp || r.change.reason.is_some())
        .collect();
    let _ = writeln!(out, "<h2>Details ({} items)</h2>", details.len());
    out.push_str("<table class=\"details\">\n<thead><tr><th>resource</th><th>action</th><th>outcome</th><th>before</th><th>after</th><th>note</th></tr></thead>\n<tbody>\n");
    let change_row = |out: &mut String, r: &crate::plan::Record<'_>| {
        let c = r.change;
        let label = match r.outcome {
            Some(_) => r.status.label(),
            None => Status::None.label(),
        };
        let status = match r.outcome {
            Some(Outcome::Deferred { reason }) => format!("{label}: {reason}"),
            Some(Outcome::Failed { error }) => format!("{label}: {error}"),
            _ => label.to_owned(),
        };
        let pretty = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                .unwrap_or_default()
        };
        let _ = writeln!(
            out,
            "<tr class=\"change\" data-action=\"{1}\"><td><code>{0}</code></td><td>{1}</td><td>{2}</td><td><pre>{3}</pre></td><td><pre>{4}</pre></td><td>{5}</td></tr>",
            escape(&c.address),
            serde_json::to_value(c.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            escape(&status),
            escape(&pretty(&c.before)),
            escape(&pretty(&c.after)),
            escape(c.reason.as_deref().unwrap_or(""))
        );
    };
    let failure_row = |out: &mut String, f: &crate::plan::Failure| {
        let _ = writeln!(
            out,
            "<tr class=\"failure\"><td><code>{}</code></td><td>observe</td><td>failed: {}</td><td></td><td></td><td></td></tr>",
            escape(&f.address),
            escape(&f.error.to_string())
        );
    };
    if plan.accounts.is_empty() {
        for r in &details {
            change_row(&mut out, r);
        }
        for f in &plan.failures {
            failure_row(&mut out, f);
        }
    } else {
        // Organization runs: a drill-down per account, each with its anchor, in the
        // plan's order of accounts.
        for a in &plan.accounts {
            let mine = |account: &Option<String>| account.as_deref() == Some(a.account.as_str());
            let name = a
                .name
                .as_ref()
                .map(|n| format!(" ({})", escape(n)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr class=\"account-head\" id=\"account-{0}\"><th colspan=\"6\">account {0}{name}</th></tr>",
                escape(&a.account)
            );
            let changes: Vec<_> = details.iter().filter(|r| mine(&r.change.account)).collect();
            let failures: Vec<_> = plan.failures.iter().filter(|f| mine(&f.account)).collect();
            if let Some(why) = &a.skipped {
                let _ = writeln!(
                    out,
                    "<tr class=\"skipped\"><td colspan=\"6\">skipped: {}</td></tr>",
                    escape(why)
                );
            } else if changes.is_empty() && failures.is_empty() {
                out.push_str("<tr class=\"compliant\"><td colspan=\"6\">no changes</td></tr>\n");
            }
            for r in changes {
                change_row(&mut out, r);
            }
            for f in failures {
                failure_row(&mut out, f);
            }
        }
    }
    out.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    out
}

/// Organization runs: one row per account (its name, and why it is skipped or failed),
/// one column per setting, each cell the worst of the account's changes of that setting,
/// the account linking to its details.
fn accounts_matrix(plan: &Plan, settings: &[&str], cells: &BTreeMap<(&str, &str), Cell>) -> String {
    let mut out = String::new();
    let worked = plan.accounts.iter().filter(|a| a.skipped.is_none()).count();
    let _ = writeln!(
        out,
        "<h2>Accounts × settings ({worked} accounts, {} skipped)</h2>",
        plan.accounts.len() - worked
    );
    out.push_str(
        "<table class=\"matrix accounts\">\n<thead><tr><th class=\"setting\">account</th>",
    );
    for s in settings {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(s));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    // Accounts with a failure first, then by id.
    let mut accounts: Vec<_> = plan.accounts.iter().collect();
    let failed = |id: &str| {
        cells
            .iter()
            .any(|((a, _), c)| *a == id && *c == Cell::Failed)
    };
    accounts.sort_by_key(|a| (!failed(&a.account), a.skipped.is_some(), a.account.clone()));
    for a in accounts {
        let name = a
            .name
            .as_ref()
            .map(|n| format!(" ({})", escape(n)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr data-account=\"{0}\"><th scope=\"row\" class=\"setting\"><a href=\"#account-{0}\">{0}</a>{name}</th>",
            escape(&a.account)
        );
        if let Some(why) = a.skipped.as_deref().or(a.error.as_deref()) {
            let class = if a.error.is_some() {
                "failed"
            } else {
                "skipped"
            };
            let _ = write!(
                out,
                "<td class=\"{class}\" data-status=\"{class}\" colspan=\"{}\">{}</td>",
                settings.len().max(1),
                escape(why)
            );
        } else {
            for s in settings {
                match cells.get(&(a.account.as_str(), *s)) {
                    Some(cell) => {
                        let _ = write!(
                            out,
                            "<td class=\"{0}\" data-status=\"{0}\">{1}</td>",
                            cell.class(),
                            cell.label()
                        );
                    }
                    None => out.push_str("<td class=\"none\" data-status=\"none\">–</td>"),
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TargetError;
    use crate::plan::{Change, Failure, RegionStatus};

    fn plan() -> Plan {
        let mut plan = Plan::new("123456789012".into(), "aws".into(), "eu-west-1".into());
        plan.regions = ["eu-west-1", "us-east-1"]
            .iter()
            .map(|r| RegionStatus {
                name: (*r).into(),
                targeted: true,
                reason: None,
            })
            .collect();
        let change = |address: &str, control: &'static str, region: Option<&str>, action| Change {
            account: None,
            address: address.into(),
            control,
            region: region.map(String::from),
            action,
            before: None,
            after: Some(serde_json::json!({"x": "<script>"})),
            reason: None,
            operation: None,
            order: 0,
        };
        plan.changes = vec![
            change(
                "iam.password_policy",
                "password_policy",
                None,
                Action::Update,
            ),
            change(
                "g[\"eu-west-1\"]",
                "guardduty",
                Some("eu-west-1"),
                Action::NoOp,
            ),
            change(
                "g[\"us-east-1\"]",
                "guardduty",
                Some("us-east-1"),
                Action::Create,
            ),
            change(
                "d[\"eu-west-1\"]",
                "detective",
                Some("eu-west-1"),
                Action::Deferred,
            ),
        ];
        plan.failures = vec![Failure {
            address: "detective[\"us-east-1\"]".into(),
            account: None,
            control: "detective",
            region: Some("us-east-1".into()),
            error: TargetError::refused("detective:ListGraphs", "denied"),
        }];
        plan.finish();
        plan
    }

    #[test]
    fn the_matrix_has_a_row_per_setting_a_column_per_region_and_the_worst_state() {
        let html = page(&plan(), None, "2026-11-23T00:00:00Z");
        assert!(html.contains("<th scope=\"col\">account</th><th scope=\"col\">eu-west-1</th><th scope=\"col\">us-east-1</th>"), "{html}");
        let row = |control: &str| {
            let start = html
                .find(&format!("<tr data-control=\"{control}\">"))
                .unwrap();
            html[start..].split("</tr>").next().unwrap().to_owned()
        };
        let statuses = |control: &str| -> Vec<String> {
            row(control)
                .split("data-status=\"")
                .skip(1)
                .map(|s| s.split('"').next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(statuses("password_policy"), ["will-change", "none", "none"]);
        assert_eq!(statuses("guardduty"), ["none", "compliant", "will-change"]);
        assert_eq!(statuses("detective"), ["none", "deferred", "failed"]);
        // Every state is in the legend; nothing is loaded from elsewhere; text is escaped.
        for cell in Cell::ALL {
            assert!(html.contains(&format!("<li class=\"{}\"", cell.class())));
        }
        assert!(!html.contains("src=") && !html.contains("href=") && !html.contains("@import"));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(html.contains("<time id=\"generated\">2026-11-23T00:00:00Z</time>"));
    }

    #[test]
    fn apply_results_colour_the_cells() {
        let p = plan();
        let results = vec![AppliedChange {
            address: "g[\"us-east-1\"]".into(),
            account: None,
            control: "guardduty",
            region: Some("us-east-1".into()),
            action: Action::Create,
            outcome: Outcome::Applied,
            seconds: 0.1,
        }];
        let html = page(&p, Some(&results), "t");
        assert!(
            html.contains("data-status=\"changed\" title=\"guardduty us-east-1: changed\""),
            "{html}"
        );
        assert!(html.contains("<h1>baseline apply: account"));
    }

    #[test]
    fn an_organization_page_has_an_accounts_by_settings_matrix_failed_accounts_first() {
        use crate::plan::AccountStatus;
        let mut p = plan();
        for c in &mut p.changes {
            c.account = Some("111111111111".into());
        }
        let mut second = p
            .changes
            .iter()
            .find(|c| c.control == "password_policy")
            .unwrap()
            .clone();
        second.account = Some("222222222222".into());
        second.action = Action::NoOp;
        second.address = "account[\"222222222222\"].iam.password_policy".into();
        p.changes.push(second);
        p.failures[0].account = Some("111111111111".into());
        p.failures.push(Failure {
            address: "account[\"333333333333\"]".into(),
            account: Some("333333333333".into()),
            control: "account",
            region: None,
            error: TargetError::refused("sts:AssumeRole", "role <missing>"),
        });
        let status = |account: &str, error: Option<&str>, skipped: Option<&str>| AccountStatus {
            account: account.into(),
            name: Some(format!("name-{account}")),
            management: account == "111111111111",
            error: error.map(String::from),
            skipped: skipped.map(String::from),
        };
        p.accounts = vec![
            status("111111111111", None, None),
            status("222222222222", None, None),
            status("333333333333", Some("role <missing>"), None),
            status("444444444444", None, Some("excluded by exclude_accounts")),
        ];
        let html = page(&p, None, "t");
        assert!(
            html.contains("<h2>Accounts × settings (3 accounts, 1 skipped)</h2>"),
            "{html}"
        );
        let start = html.find("<table class=\"matrix accounts\">").unwrap();
        let table = html[start..].split("</table>").next().unwrap();
        let rows: Vec<&str> = table.split("<tr data-account=\"").skip(1).collect();
        let ids: Vec<&str> = rows.iter().map(|r| &r[..12]).collect();
        // Accounts with a failure first (the unreachable one and the failed Detective), then
        // the others, the skipped last.
        assert_eq!(
            ids,
            [
                "111111111111",
                "333333333333",
                "222222222222",
                "444444444444"
            ]
        );
        let statuses = |row: &str| -> Vec<String> {
            row.split("data-status=\"")
                .skip(1)
                .map(|s| s.split('"').next().unwrap().to_owned())
                .collect()
        };
        // Columns: the settings, in the plan's order (the same as the other matrix's rows).
        let columns: Vec<&str> = table
            .split("<th scope=\"col\">")
            .skip(1)
            .map(|s| s.split('<').next().unwrap())
            .collect();
        let mut sorted = columns.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["detective", "guardduty", "password_policy"]);
        let cell = |row: &str, control: &str| {
            statuses(row)[columns.iter().position(|c| *c == control).unwrap()].clone()
        };
        assert_eq!(cell(rows[0], "password_policy"), "will-change");
        assert_eq!(cell(rows[0], "guardduty"), "will-change");
        assert_eq!(cell(rows[0], "detective"), "failed");
        assert_eq!(cell(rows[2], "password_policy"), "compliant");
        assert_eq!(cell(rows[2], "guardduty"), "none");
        assert_eq!(statuses(rows[1]), ["failed"]);
        assert!(rows[1].contains("role &lt;missing&gt;") && rows[1].contains("colspan=\"3\""));
        assert!(rows[3].contains("data-status=\"skipped\"") && rows[3].contains("excluded"));
        // Each account links to its drill-down in the details.
        assert!(
            rows[0]
                .contains("<a href=\"#account-111111111111\">111111111111</a> (name-111111111111)")
        );
        assert!(html.contains("<tr class=\"account-head\" id=\"account-111111111111\">"));
        for id in [
            "111111111111",
            "222222222222",
            "333333333333",
            "444444444444",
        ] {
            assert!(html.contains(&format!(
                "<tr class=\"account-head\" id=\"account-{id}\"><th colspan=\"6\">account {id} (name-{id})</th></tr>"
            )));
        }
        let drill = |id: &str| {
            let start = html.find(&format!("id=\"account-{id}\"><th")).unwrap();
            html[start..]
                .split("account-head")
                .next()
                .unwrap()
                .to_owned()
        };
        assert!(drill("222222222222").contains("no changes"));
        assert!(
            drill("333333333333").contains("failed: ")
                && drill("333333333333").contains("sts:AssumeRole")
        );
        assert!(drill("444444444444").contains("skipped: excluded"));
    }
}
