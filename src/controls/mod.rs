//! The controls: one module per baseline setting, each with a thin `observe` (SDK output
//! to a plain struct), a pure `plan(desired, observed)` and an `apply` per operation.
//!
//! Adding a control: a new module implementing [`Control`], one line in `registry.rs`,
//! and a page in `docs/` (see docs/architecture.md).

use crate::aws::Session;
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::permissions::{Arns, Grant};
pub use crate::plan::{Applied, Proposal};
use crate::plan::{Change, Operation};
use crate::toolkit::account::Account;
use futures::future::BoxFuture;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

mod registry;
pub use registry::registry;

pub mod access_analyzer;
pub mod chatbot;
pub mod cloudtrail;
pub mod cloudtrail_logs;
pub mod config;
pub mod config_aggregator;
pub mod config_retention;
pub mod default_vpc;
pub mod delegated_admin;
pub mod detective;
pub mod ebs_encryption;
pub mod guardduty;
pub mod iam_credentials;
pub mod inspector;
pub mod log_buckets;
pub mod log_key;
pub mod notifications;
pub mod org_configuration;
pub mod password_policy;
pub mod s3_block_public_access;
pub mod security_contact;
pub mod security_hub;
pub mod webhooks;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One setting for the whole account, observed and changed in the home region.
    Account,
    /// One setting per target region.
    Regional,
}

/// In an organization run, the accounts that hold a control's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// Every targeted account (and the credentials' account outside organization runs).
    Every,
    /// Only the organization's management account, in organization runs.
    Management,
    /// Only the delegated administrator (`organization.delegated_admin`), in organization
    /// runs.
    DelegatedAdmin,
    /// The log archive (`organization.log_archive`) in organization runs that name one;
    /// every account otherwise.
    LogArchive,
    /// The management account (its organization trail) in organization runs that name a
    /// log archive; every account otherwise.
    OrganizationTrail,
}

impl Seat {
    /// Whether a control of this seat is one of the organization's own steps (run once,
    /// by `--org-only`), not a setting of each account (run by every shard). The log
    /// archive's and the organization trail's are, when the organization has central logs.
    pub fn organization_step(self, central_logs: bool) -> bool {
        match self {
            Seat::Every => false,
            Seat::Management | Seat::DelegatedAdmin => true,
            Seat::LogArchive | Seat::OrganizationTrail => central_logs,
        }
    }

    /// Whether a control of this seat runs with the management account's own identity
    /// only, never through `member_role`: the management account's steps, and the
    /// organization trail when the organization has central logs.
    pub fn management_only(self, central_logs: bool) -> bool {
        match self {
            Seat::Management => true,
            Seat::OrganizationTrail => central_logs,
            Seat::Every | Seat::DelegatedAdmin | Seat::LogArchive => false,
        }
    }
}

/// What a control works on: the account, and the region of this target.
#[derive(Debug, Clone)]
pub struct Target {
    pub session: Arc<Session>,
    pub account: String,
    pub partition: String,
    pub home_region: String,
    pub region: String,
    /// Every region of this run.
    pub regions: Arc<[String]>,
    /// The organization's accounts, in an organization run.
    pub organization: Option<Arc<crate::organization::Seats>>,
}

/// One baseline setting.
pub trait Control: Send + Sync + 'static {
    /// The baseline table's name, for example `password_policy`.
    const NAME: &'static str;
    const SCOPE: Scope;
    /// The controls (by [`Control::NAME`]) whose changes must be made before this one's:
    /// the log buckets before the trail that writes to them. A dependency that fails, or
    /// cannot be observed, stops this control's changes (in the same region when both
    /// are regional, everywhere when the dependency is account-wide); unrelated
    /// controls never wait for each other. Checked for cycles when the crate is built.
    const AFTER: &'static [&'static str] = &[];
    /// The accounts of an organization run that hold this control's targets.
    const SEAT: Seat = Seat::Every;
    type Desired: Send + Sync + 'static;
    type Observed: Send + 'static;
    type Op: Send + Sync + 'static;

    /// The desired state, or None when the baseline leaves the control out or disables it.
    fn desired(baseline: &Baseline) -> Option<Self::Desired>;

    /// The IAM actions `observe` (read) and `apply` (write) call, and on what: declared
    /// beside the calls, so that `baseline permissions` cannot fall behind them.
    fn permissions(desired: &Self::Desired, arns: &Arns) -> Vec<Grant>;

    fn observe(
        target: &Target,
        desired: &Self::Desired,
    ) -> impl Future<Output = Result<Self::Observed, TargetError>> + Send;

    /// Pure: the same inputs always give the same proposals.
    fn plan(
        desired: &Self::Desired,
        observed: &Self::Observed,
        region: &str,
    ) -> Vec<Proposal<Self::Op>>;

    fn apply(
        target: &Target,
        op: &Self::Op,
    ) -> impl Future<Output = Result<Applied, TargetError>> + Send;
}

/// A control with its types erased, as the engine sees it.
pub trait DynControl: Send + Sync {
    fn name(&self) -> &'static str;
    fn scope(&self) -> Scope;
    fn after(&self) -> &'static [&'static str];
    fn seat(&self) -> Seat;
    fn enabled(&self, baseline: &Baseline) -> bool;
    fn permissions(&self, baseline: &Baseline, arns: &Arns) -> Vec<Grant>;
    fn plan_target<'a>(
        &'a self,
        baseline: &'a Baseline,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<Vec<Change>, TargetError>>;
    fn apply_change<'a>(
        &'a self,
        target: &'a Target,
        change: &'a Change,
    ) -> BoxFuture<'a, Result<Applied, TargetError>>;
}

struct Registered<C>(PhantomData<fn() -> C>);

pub(crate) fn register<C: Control>() -> Arc<dyn DynControl> {
    Arc::new(Registered::<C>(PhantomData))
}

impl<C: Control> DynControl for Registered<C> {
    fn name(&self) -> &'static str {
        C::NAME
    }

    fn scope(&self) -> Scope {
        C::SCOPE
    }

    fn after(&self) -> &'static [&'static str] {
        C::AFTER
    }

    fn seat(&self) -> Seat {
        C::SEAT
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        C::desired(baseline).is_some()
    }

    fn permissions(&self, baseline: &Baseline, arns: &Arns) -> Vec<Grant> {
        C::desired(baseline)
            .map(|d| C::permissions(&d, arns))
            .unwrap_or_default()
    }

    fn plan_target<'a>(
        &'a self,
        baseline: &'a Baseline,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<Vec<Change>, TargetError>> {
        Box::pin(async move {
            let Some(desired) = C::desired(baseline) else {
                return Ok(Vec::new());
            };
            let observed = C::observe(target, &desired).await?;
            let region = (C::SCOPE == Scope::Regional).then(|| target.region.clone());
            Ok(C::plan(&desired, &observed, &target.region)
                .into_iter()
                .enumerate()
                .map(|(order, p)| Change {
                    address: p.address,
                    account: None,
                    control: C::NAME,
                    region: region.clone(),
                    action: p.action,
                    before: p.before,
                    after: p.after,
                    reason: p.reason,
                    operation: p.op.map(|op| Operation(Arc::new(op))),
                    order,
                })
                .collect())
        })
    }

    fn apply_change<'a>(
        &'a self,
        target: &'a Target,
        change: &'a Change,
    ) -> BoxFuture<'a, Result<Applied, TargetError>> {
        Box::pin(async move {
            let op = change
                .operation
                .as_ref()
                .and_then(|o| o.0.downcast_ref::<C::Op>())
                .ok_or_else(|| {
                    TargetError::Panicked(format!(
                        "a change of {} carries no operation of this control",
                        C::NAME
                    ))
                })?;
            C::apply(target, op).await
        })
    }
}

impl Account {
    /// The account of a target.
    pub fn of(target: &Target) -> Account {
        Account {
            id: target.account.clone(),
            partition: target.partition.clone(),
            home_region: target.home_region.clone(),
            central: target
                .organization
                .as_deref()
                .and_then(crate::organization::Seats::central_logs),
        }
    }
}

impl Target {
    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        self.session.ec2(&self.region)
    }
    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.session.iam(&self.region)
    }
    pub fn s3control(&self) -> aws_sdk_s3control::Client {
        self.session.s3control(&self.region)
    }
    pub fn kms(&self) -> aws_sdk_kms::Client {
        self.session.kms(&self.region)
    }
    pub fn access_analyzer(&self) -> aws_sdk_accessanalyzer::Client {
        self.session.access_analyzer(&self.region)
    }
    pub fn guardduty(&self) -> aws_sdk_guardduty::Client {
        self.session.guardduty(&self.region)
    }
    /// The Account Management API (global; served from the home region's partition).
    pub fn account_api(&self) -> aws_sdk_account::Client {
        self.session.account(&self.home_region)
    }
    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.session.s3(&self.region)
    }
    /// AWS Chatbot (global; its API is served from a few regions: see `chatbot_region`).
    pub fn chatbot(&self) -> aws_sdk_chatbot::Client {
        self.session
            .chatbot(crate::toolkit::names::chatbot_region(&self.partition))
    }
    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        self.session.eventbridge(&self.region)
    }
    pub fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        self.session.cloudtrail(&self.region)
    }
    pub fn config(&self) -> aws_sdk_config::Client {
        self.session.config(&self.region)
    }
    pub fn security_hub(&self) -> aws_sdk_securityhub::Client {
        self.session.security_hub(&self.region)
    }
    pub fn detective(&self) -> aws_sdk_detective::Client {
        self.session.detective(&self.region)
    }
    pub fn inspector(&self) -> aws_sdk_inspector2::Client {
        self.session.inspector(&self.region)
    }
}
