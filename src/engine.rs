//! The engine: learns the account and its regions, then observes and plans every
//! (control × region) target concurrently, and applies planned changes. A failing target
//! is recorded and never stops the others.

use crate::aws::{AccountRegion, Session};
use crate::baseline::{Baseline, Regions};
use crate::controls::{Applied, DynControl, Scope, Seat, Target};
use crate::error::{Error, ErrorKind, TargetError};
use crate::organization::Seats;
use crate::plan::{Action, AppliedChange, Change, Failure, Outcome, Plan, RegionStatus};
use futures::FutureExt;
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;
use tracing::Instrument;

/// The account being worked on, shared by every target.
#[derive(Debug, Clone)]
pub struct Context {
    pub session: Arc<Session>,
    pub account: String,
    pub partition: String,
    pub home_region: String,
    pub regions: Vec<RegionStatus>,
    /// The organization's accounts, in an organization run.
    pub organization: Option<Arc<Seats>>,
}

impl Context {
    /// Learns the account id, partition and regions (one round trip, two calls at once).
    pub async fn discover(session: Arc<Session>, baseline: &Baseline) -> Result<Context, Error> {
        let home_region = baseline
            .home_region
            .as_ref()
            .map(|r| r.0.clone())
            .or_else(|| session.configured_region())
            .ok_or(Error::NoRegion)?;
        let found = session.discover(&home_region).await?;
        let regions = select_regions(baseline, &found.regions, &found.partition);
        Ok(Context {
            session,
            account: found.account,
            partition: found.partition,
            home_region,
            regions,
            organization: None,
        })
    }

    fn target(&self, region: &str) -> Target {
        Target {
            session: self.session.clone(),
            account: self.account.clone(),
            partition: self.partition.clone(),
            home_region: self.home_region.clone(),
            region: region.to_owned(),
            regions: self.target_regions().map(str::to_owned).collect(),
            organization: self.organization.clone(),
        }
    }

    /// Whether this account holds the targets of a control of `seat`.
    pub fn holds(&self, seat: Seat) -> bool {
        match (seat, &self.organization) {
            (Seat::Every, _) => true,
            (Seat::Management, Some(o)) => o.management == self.account,
            (Seat::DelegatedAdmin, Some(o)) => o.delegated_admin.as_deref() == Some(&self.account),
            (Seat::LogArchive, Some(o)) => {
                o.central_logs().is_none_or(|c| c.archive == self.account)
            }
            (Seat::OrganizationTrail, Some(o)) => o
                .central_logs()
                .is_none_or(|c| c.management == self.account),
            (Seat::LogArchive | Seat::OrganizationTrail, None) => true,
            (_, None) => false,
        }
    }

    pub fn target_regions(&self) -> impl Iterator<Item = &str> {
        self.regions
            .iter()
            .filter(|r| r.targeted)
            .map(|r| r.name.as_str())
    }

    fn target_of(&self, control: &dyn DynControl, region: Option<&str>) -> Target {
        match control.scope() {
            Scope::Account => self.target(&self.home_region),
            Scope::Regional => self.target(region.unwrap_or(&self.home_region)),
        }
    }
}

/// Which of the account's regions the baseline targets, and why the others are skipped.
pub fn select_regions(
    baseline: &Baseline,
    account: &[AccountRegion],
    partition: &str,
) -> Vec<RegionStatus> {
    let excluded = |name: &str| baseline.exclude_regions.iter().any(|r| r.as_str() == name);
    let status = |name: &str, enabled: Option<bool>| {
        let reason = match enabled {
            _ if excluded(name) => Some("excluded by exclude_regions".to_owned()),
            Some(true) => None,
            Some(false) => Some("opt-in region not enabled in this account".to_owned()),
            None => Some(format!(
                "not a region of this account (partition {partition})"
            )),
        };
        RegionStatus {
            name: name.to_owned(),
            targeted: reason.is_none(),
            reason,
        }
    };
    let mut out: Vec<RegionStatus> = match &baseline.regions {
        Regions::All => account
            .iter()
            .map(|r| status(&r.name, Some(r.enabled)))
            .collect(),
        Regions::List(list) => list
            .iter()
            .map(|r| {
                let found = account.iter().find(|a| a.name == r.0).map(|a| a.enabled);
                status(r.as_str(), found)
            })
            .collect(),
    };
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// Observes every target and plans it. Never fails as a whole once the account is known:
/// a target that fails is a [`Failure`] in the plan.
pub async fn plan(
    ctx: &Context,
    baseline: &Arc<Baseline>,
    controls: &[Arc<dyn DynControl>],
    progress: &ProgressBar,
) -> Plan {
    let mut plan = Plan::new(
        ctx.account.clone(),
        ctx.partition.clone(),
        ctx.home_region.clone(),
    );
    plan.regions = ctx.regions.clone();
    let here = |c: &&Arc<dyn DynControl>| c.enabled(baseline) && ctx.holds(c.seat());
    plan.controls = controls.iter().filter(here).map(|c| c.name()).collect();

    let mut targets = Vec::new();
    for control in controls.iter().filter(here) {
        match control.scope() {
            Scope::Account => targets.push((control.clone(), None)),
            Scope::Regional => {
                for region in ctx.target_regions() {
                    targets.push((control.clone(), Some(region.to_owned())));
                }
            }
        }
    }
    progress.set_length(targets.len() as u64);
    progress.set_message("observing");

    let mut tasks = JoinSet::new();
    for (control, region) in targets {
        let target = ctx.target_of(control.as_ref(), region.as_deref());
        let baseline = baseline.clone();
        let span =
            tracing::info_span!("observe", control = control.name(), region = %target.region);
        tasks.spawn(
            async move {
                // A panic is this target's failure, not the end of the run.
                let result = AssertUnwindSafe(control.plan_target(&baseline, &target))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| Err(TargetError::panicked(panic)));
                (control.name(), region, result)
            }
            .instrument(span),
        );
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((name, region, result)) = joined else {
            // Only a cancelled task gets here: panics are caught inside the task.
            continue;
        };
        progress.inc(1);
        match result {
            Ok(changes) => plan.changes.extend(changes),
            // A service that does not exist in a region is not a failure of the run.
            Err(error) if error.kind() == ErrorKind::Unsupported => plan.changes.push(Change {
                address: address_of(name, region.as_deref()),
                account: None,
                control: name,
                region,
                action: Action::Skipped,
                before: None,
                after: None,
                reason: Some(format!("not available here ({error})")),
                operation: None,
                order: 0,
            }),
            Err(error) => {
                tracing::warn!(control = name, region = region.as_deref(), %error, "observation failed");
                plan.failures.push(Failure {
                    address: address_of(name, region.as_deref()),
                    account: None,
                    control: name,
                    region,
                    error,
                })
            }
        }
    }
    progress.finish_and_clear();
    plan.finish();
    plan
}

fn address_of(control: &str, region: Option<&str>) -> String {
    match region {
        Some(r) => format!("{control}[\"{r}\"]"),
        None => control.to_owned(),
    }
}

/// A node of the apply graph: one control in one region (None for account-wide ones).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Node {
    control: &'static str,
    region: Option<String>,
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&address_of(self.control, self.region.as_deref()))
    }
}

/// The nodes `node` comes after: a regional dependency in the same region, an
/// account-wide one as itself, and a regional one of an account-wide control in every
/// region.
fn dependencies(node: &Node, controls: &[Arc<dyn DynControl>], regions: &[String]) -> Vec<Node> {
    let Some(control) = controls.iter().find(|c| c.name() == node.control) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in control.after() {
        let Some(dep) = controls.iter().find(|c| c.name() == *name) else {
            continue;
        };
        match (dep.scope(), &node.region) {
            (Scope::Account, _) => out.push(Node {
                control: dep.name(),
                region: None,
            }),
            (Scope::Regional, Some(region)) => out.push(Node {
                control: dep.name(),
                region: Some(region.clone()),
            }),
            (Scope::Regional, None) => out.extend(regions.iter().map(|r| Node {
                control: dep.name(),
                region: Some(r.clone()),
            })),
        }
    }
    out
}

/// Carries out every change of `plan` that has an operation. Changes of one target run in
/// their control's order; targets run as soon as the targets their control comes after
/// (`Control::AFTER`) have ended, everything else at once. A target that failed to be
/// observed or applied stops exactly the targets that come after it. `on_done` sees
/// each result as it completes.
pub async fn apply(
    ctx: &Context,
    plan: &Plan,
    controls: &[Arc<dyn DynControl>],
    on_done: &(dyn Fn(&AppliedChange) + Sync),
) -> Vec<AppliedChange> {
    let mut groups: BTreeMap<Node, Vec<Change>> = BTreeMap::new();
    for change in plan
        .changes
        .iter()
        .filter(|c| c.action.is_change() && c.operation.is_some())
    {
        groups
            .entry(Node {
                control: change.control,
                region: change.region.clone(),
            })
            .or_default()
            .push(change.clone());
    }
    let regions: Vec<String> = ctx.target_regions().map(str::to_owned).collect();
    let known_failed: BTreeMap<Node, String> = plan
        .failures
        .iter()
        .map(|f| {
            let node = Node {
                control: f.control,
                region: f.region.clone(),
            };
            (node, format!("could not be observed ({})", f.error))
        })
        .collect();
    let mut work: BTreeMap<Node, Group> = BTreeMap::new();
    let mut nodes = Vec::new();
    for (node, mut changes) in groups {
        let Some(control) = controls.iter().find(|c| c.name() == node.control).cloned() else {
            continue;
        };
        changes.sort_by_key(|c| c.order);
        let target = ctx.target_of(control.as_ref(), node.region.as_deref());
        nodes.push((node.clone(), dependencies(&node, controls, &regions)));
        work.insert(
            node,
            Group {
                control,
                target,
                changes,
            },
        );
    }
    let work = Arc::new(work);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let run = crate::graph::run(nodes, &known_failed, move |node: Node, blocked| {
        let work = work.clone();
        let tx = tx.clone();
        async move {
            let group = &work[&node];
            match blocked {
                Some(reason) => {
                    for change in &group.changes {
                        let _ = tx.send(not_attempted(change, &reason));
                    }
                    Ok(())
                }
                None => group.run(tx).await,
            }
        }
    });
    let mut results = Vec::new();
    let collect = async {
        while let Some(result) = rx.recv().await {
            on_done(&result);
            results.push(result);
        }
    };
    // The channel closes when the graph has ended and dropped every sender.
    let (_ends, ()) = tokio::join!(run, collect);
    results.sort_by(|a, b| a.address.cmp(&b.address));
    results
}

/// The changes of one control in one region.
struct Group {
    control: Arc<dyn DynControl>,
    target: Target,
    changes: Vec<Change>,
}

impl Group {
    /// Applies the changes in order, stopping at the first that does not complete. Fails
    /// (so that what comes after it is not tried) when a change failed.
    async fn run(
        &self,
        tx: tokio::sync::mpsc::UnboundedSender<AppliedChange>,
    ) -> Result<(), String> {
        let span = tracing::info_span!("apply", control = self.control.name(), region = %self.target.region);
        async move {
            for change in &self.changes {
                let started = Instant::now();
                let applied = AssertUnwindSafe(self.control.apply_change(&self.target, change))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| Err(TargetError::panicked(panic)));
                let outcome = match applied {
                    Ok(Applied::Done) => Outcome::Applied,
                    Ok(Applied::AlreadyDone) => Outcome::AlreadyDone,
                    Ok(Applied::Deferred(reason)) => Outcome::Deferred { reason },
                    Err(error) => Outcome::Failed { error },
                };
                let stop = match &outcome {
                    Outcome::Failed { .. } => Some(Err(change.address.clone())),
                    // Deferred: what depends on it may go on, but not the rest of this target.
                    Outcome::Deferred { .. } => Some(Ok(())),
                    _ => None,
                };
                let _ = tx.send(AppliedChange {
                    address: change.address.clone(),
                    account: change.account.clone(),
                    control: change.control,
                    region: change.region.clone(),
                    action: change.action,
                    outcome,
                    seconds: started.elapsed().as_secs_f64(),
                });
                // Later changes of a target may build on this one.
                if let Some(end) = stop {
                    return end;
                }
            }
            Ok(())
        }
        .instrument(span)
        .await
    }
}

fn not_attempted(change: &Change, reason: &str) -> AppliedChange {
    AppliedChange {
        address: change.address.clone(),
        account: change.account.clone(),
        control: change.control,
        region: change.region.clone(),
        action: change.action,
        outcome: Outcome::Failed {
            error: TargetError::NotAttempted(reason.to_owned()),
        },
        seconds: 0.0,
    }
}
