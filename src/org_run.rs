//! Organization runs: the baseline over every targeted account, each through its member
//! role, under the session's one request bound and a bound on accounts in flight. An
//! account that cannot be worked on is that account's failure; the others go on.

use crate::aws::Caller;
use crate::baseline::Baseline;
use crate::controls::{DynControl, Seat};
use crate::engine::{self, Context};
use crate::error::TargetError;
use crate::organization::{Seats, Skipped};
use crate::plan::{AccountStatus, AppliedChange, Failure, Plan, in_account};
use futures::{FutureExt, StreamExt};
use indicatif::ProgressBar;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// An account the run targets.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub name: Option<String>,
    /// The credentials' own account: worked on without assuming a role.
    pub management: bool,
}

/// One account's plan and the context its apply runs in, or why it could not be planned.
#[derive(Debug)]
pub struct AccountRun {
    pub member: Member,
    pub outcome: Result<(Context, Plan), String>,
}

/// Plans every member, `accounts` at a time. `management` is the credentials' own
/// account, already discovered.
#[allow(clippy::too_many_arguments)]
pub async fn plan(
    management: &Context,
    seats: Seats,
    caller: &Caller,
    role: &str,
    baseline: &Arc<Baseline>,
    controls: &[Arc<dyn DynControl>],
    members: Vec<Member>,
    accounts: usize,
    progress: &ProgressBar,
) -> Vec<AccountRun> {
    let mut management = management.clone();
    management.organization = Some(Arc::new(seats));
    let management = &management;
    progress.set_length(members.len() as u64);
    progress.set_message("accounts planned");
    let mut runs: Vec<AccountRun> = futures::stream::iter(members)
        .map(|member| async move {
            let outcome = AssertUnwindSafe(plan_one(
                management, caller, role, baseline, controls, &member,
            ))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(TargetError::panicked(panic).to_string()));
            progress.inc(1);
            AccountRun { member, outcome }
        })
        .buffer_unordered(accounts.max(1))
        .collect()
        .await;
    progress.finish_and_clear();
    runs.sort_by(|a, b| a.member.id.cmp(&b.member.id));
    leave_others_configuration(&mut runs);
    runs
}

/// Where the management account's plan keeps another account as a service's delegated
/// administrator (never moved), the delegated administrator of the baseline cannot
/// configure that service's organization there: its change is kept, with the reason,
/// instead of a change that would fail every week.
fn leave_others_configuration(runs: &mut [AccountRun]) {
    use crate::controls::org_configuration::configuration_of;
    use crate::plan::Action;
    let kept: Vec<(String, String)> = runs
        .iter()
        .filter(|r| r.member.management)
        .filter_map(|r| r.outcome.as_ref().ok())
        .flat_map(|(_, plan)| &plan.changes)
        .filter(|c| c.control == "delegated_admin" && c.action == Action::Kept)
        .filter_map(|c| Some((configuration_of(&c.address)?, c.reason.clone()?)))
        .collect();
    for run in runs.iter_mut() {
        let Ok((ctx, plan)) = &mut run.outcome else {
            continue;
        };
        if run.member.management || !ctx.holds(Seat::DelegatedAdmin) {
            continue;
        }
        for change in &mut plan.changes {
            if let Some((_, why)) = kept.iter().find(|(a, _)| *a == change.address) {
                change.action = Action::Kept;
                change.operation = None;
                change.after = None;
                change.reason = Some(format!(
                    "the management account keeps another administrator here ({why})"
                ));
            }
        }
        plan.finish();
    }
}

async fn plan_one(
    management: &Context,
    caller: &Caller,
    role: &str,
    baseline: &Arc<Baseline>,
    controls: &[Arc<dyn DynControl>],
    member: &Member,
) -> Result<(Context, Plan), String> {
    let ctx = if member.management {
        management.clone()
    } else {
        let session = Arc::new(
            management
                .session
                .assume(&caller.partition, &member.id, role)
                .await,
        );
        let mut ctx = Context::discover(session, baseline)
            .await
            .map_err(|e| format!("cannot work in the account through role {role}: {e}"))?;
        ctx.organization = management.organization.clone();
        if ctx.account != member.id {
            return Err(format!(
                "role {role} gave credentials of account {}, not of this one",
                ctx.account
            ));
        }
        ctx
    };
    let plan = engine::plan(&ctx, baseline, controls, &ProgressBar::hidden()).await;
    Ok((ctx, plan))
}

/// Applies the planned changes of every account that has some, `accounts` at a time;
/// `on_done` sees each result (its address in its account) as it completes. The
/// delegated administrator starts once the management account has ended (it designates
/// that administrator); every other account starts at once.
pub async fn apply(
    runs: &[AccountRun],
    controls: &[Arc<dyn DynControl>],
    accounts: usize,
    on_done: &(dyn Fn(&AppliedChange) + Sync),
) -> Vec<AppliedChange> {
    let mut work: Vec<(&Member, &Context, &Plan)> = runs
        .iter()
        .filter_map(|r| {
            let (ctx, plan) = r.outcome.as_ref().ok()?;
            plan.has_changes().then_some((&r.member, ctx, plan))
        })
        .collect();
    // With central logs, the log archive's buckets and key come before any trail or
    // recorder that delivers to them: every other account waits for its apply. The
    // delegated administrator also waits for the management account (which designates
    // it). The awaited accounts go first, so that a bound of one account never waits.
    let archive = runs
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .find_map(|(ctx, _)| ctx.organization.as_ref()?.central_logs())
        .map(|c| c.archive);
    let is_archive = |m: &Member| archive.as_deref() == Some(m.id.as_str());
    work.sort_by_key(|(m, _, _)| (!is_archive(m), !m.management));
    let management_works = work.iter().any(|(m, _, _)| m.management);
    let archive_works = work.iter().any(|(m, _, _)| is_archive(m));
    let (ended, ended_rx) = tokio::sync::watch::channel(!management_works);
    let (archived, archived_rx) = tokio::sync::watch::channel(!archive_works);
    let (ended, archived) = (&ended, &archived);
    let mut results: Vec<AppliedChange> = futures::stream::iter(work)
        .map(|(member, ctx, plan)| {
            let mut ended_rx = ended_rx.clone();
            let mut archived_rx = archived_rx.clone();
            async move {
                if !is_archive(member) {
                    let _ = archived_rx.wait_for(|done| *done).await;
                }
                // The archive waits for no one (it may be the delegated administrator
                // too: its organization configuration is then deferred to the next run).
                let waits =
                    ctx.holds(Seat::DelegatedAdmin) && !member.management && !is_archive(member);
                if waits {
                    let _ = ended_rx.wait_for(|done| *done).await;
                }
                let id = member.id.as_str();
                let results =
                    engine::apply(ctx, plan, controls, &|r| on_done(&in_member(id, r))).await;
                if member.management {
                    let _ = ended.send(true);
                }
                if is_archive(member) {
                    let _ = archived.send(true);
                }
                results.iter().map(|r| in_member(id, r)).collect::<Vec<_>>()
            }
        })
        .buffer_unordered(accounts.max(1))
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    results.sort_by(|a, b| a.address.cmp(&b.address));
    results
}

fn in_member(id: &str, r: &AppliedChange) -> AppliedChange {
    AppliedChange {
        address: in_account(id, &r.address),
        account: Some(id.to_owned()),
        ..r.clone()
    }
}

/// One account's plan with its addresses in the account: what the text output shows
/// under the account's heading.
pub fn account_plan(id: &str, plan: &Plan) -> Plan {
    let mut out = plan.clone();
    for c in &mut out.changes {
        c.address = in_account(id, &c.address);
        c.account = Some(id.to_owned());
    }
    for f in &mut out.failures {
        f.address = in_account(id, &f.address);
        f.account = Some(id.to_owned());
    }
    out
}

/// Every account's plan as one: each change and failure carries its account, an account
/// that could not be worked on is a failure of its own (address `account["…"]`), and
/// `accounts` lists them all, the skipped ones last with their reason. The regions are the management account's.
pub fn merged(management: &Context, runs: &[AccountRun], skipped: &[Skipped]) -> Plan {
    let mut out = Plan::new(
        management.account.clone(),
        management.partition.clone(),
        management.home_region.clone(),
    );
    out.regions = management.regions.clone();
    for run in runs {
        let id = &run.member.id;
        out.accounts.push(AccountStatus {
            account: id.clone(),
            name: run.member.name.clone(),
            management: run.member.management,
            error: run.outcome.as_ref().err().cloned(),
            skipped: None,
        });
        match &run.outcome {
            Ok((_, plan)) => {
                let plan = account_plan(id, plan);
                for name in &plan.controls {
                    if !out.controls.contains(name) {
                        out.controls.push(name);
                    }
                }
                out.changes.extend(plan.changes);
                out.failures.extend(plan.failures);
            }
            Err(reason) => out.failures.push(Failure {
                address: format!("account[\"{id}\"]"),
                account: Some(id.clone()),
                control: "account",
                region: None,
                error: TargetError::AccountUnreachable(reason.clone()),
            }),
        }
    }
    out.accounts.extend(skipped.iter().map(|s| AccountStatus {
        account: s.id.clone(),
        name: s.name.clone(),
        management: false,
        error: None,
        skipped: Some(s.reason.clone()),
    }));
    out.finish();
    out
}

/// The members a run targets, from the organization's listing.
pub fn members(caller: &Caller, targeted: &[crate::organization::OrgAccount]) -> Vec<Member> {
    targeted
        .iter()
        .map(|a| Member {
            id: a.id.clone(),
            name: Some(a.name.clone()),
            management: a.id == caller.account,
        })
        .collect()
}
