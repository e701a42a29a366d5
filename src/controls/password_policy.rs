//! The IAM account password policy: tighten, never loosen.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::{Baseline, Bounded};
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use serde::{Deserialize, Serialize};

pub struct PasswordPolicy;

const ADDRESS: &str = "iam.password_policy";

/// A password policy as IAM holds it. `None` means "not set" (no expiry, no reuse check).
/// The IAM account password policy. A field left out keeps its live value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicyConfig {
    pub enabled: bool,
    pub minimum_length: Option<Bounded<6, 128>>,
    pub require_uppercase: Option<bool>,
    pub require_lowercase: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_symbols: Option<bool>,
    pub reuse_prevention: Option<Bounded<1, 24>>,
    pub max_age_days: Option<Bounded<1, 1095>>,
    pub allow_users_to_change: Option<bool>,
    pub hard_expiry: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub minimum_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub reuse_prevention: Option<u32>,
    pub max_age_days: Option<u32>,
    pub allow_users_to_change: bool,
    pub hard_expiry: bool,
}

impl Policy {
    /// What IAM applies for every field an `UpdateAccountPasswordPolicy` call leaves out.
    pub fn aws_defaults() -> Policy {
        Policy {
            minimum_length: 6,
            require_uppercase: false,
            require_lowercase: false,
            require_numbers: false,
            require_symbols: false,
            reuse_prevention: None,
            max_age_days: None,
            allow_users_to_change: false,
            hard_expiry: false,
        }
    }
}

/// The stricter of `live` and `desired` for every field the baseline sets, and a note for
/// every field where the live value is stricter than the baseline's and is kept.
pub fn tighten(live: &Policy, desired: &PasswordPolicyConfig) -> (Policy, Vec<String>) {
    let mut merged = live.clone();
    let mut kept = Vec::new();

    if let Some(want) = desired.minimum_length.map(|b| b.get()) {
        if live.minimum_length > want {
            kept.push(stricter("minimum_length", live.minimum_length, want));
        }
        merged.minimum_length = live.minimum_length.max(want);
    }
    if let Some(want) = desired.reuse_prevention.map(|b| b.get()) {
        let have = live.reuse_prevention.unwrap_or(0);
        if have > want {
            kept.push(stricter("reuse_prevention", have, want));
        }
        merged.reuse_prevention = Some(have.max(want));
    }
    if let Some(want) = desired.max_age_days.map(|b| b.get()) {
        // A shorter non-zero maximum age is stricter; no maximum is the loosest.
        merged.max_age_days = match live.max_age_days.filter(|d| *d > 0) {
            Some(have) if have < want => {
                kept.push(stricter("max_age_days", have, want));
                Some(have)
            }
            _ => Some(want),
        };
    }
    // For each flag, `true` is the stricter value: a required class stays required.
    let mut flag = |field: &str, want: Option<bool>, have: bool| match want {
        None => have,
        Some(want) => {
            if have && !want {
                kept.push(stricter(field, have, want));
            }
            have || want
        }
    };
    merged.require_uppercase = flag(
        "require_uppercase",
        desired.require_uppercase,
        live.require_uppercase,
    );
    merged.require_lowercase = flag(
        "require_lowercase",
        desired.require_lowercase,
        live.require_lowercase,
    );
    merged.require_numbers = flag(
        "require_numbers",
        desired.require_numbers,
        live.require_numbers,
    );
    merged.require_symbols = flag(
        "require_symbols",
        desired.require_symbols,
        live.require_symbols,
    );
    merged.allow_users_to_change = flag(
        "allow_users_to_change",
        desired.allow_users_to_change,
        live.allow_users_to_change,
    );
    merged.hard_expiry = flag("hard_expiry", desired.hard_expiry, live.hard_expiry);
    (merged, kept)
}

fn stricter(field: &str, live: impl std::fmt::Display, wanted: impl std::fmt::Display) -> String {
    format!("{field}: live {live} is stricter than the baseline's {wanted}")
}

impl Control for PasswordPolicy {
    const NAME: &'static str = "password_policy";
    const SCOPE: Scope = Scope::Account;
    type Desired = PasswordPolicyConfig;
    type Observed = Option<Policy>;
    type Op = Policy;

    fn permissions(_desired: &Self::Desired, _arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write("AccountSettings", &["iam:UpdateAccountPasswordPolicy"])
                .and_read(&["iam:GetAccountPasswordPolicy"]),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<PasswordPolicyConfig> {
        baseline.password_policy.clone().filter(|p| p.enabled)
    }

    async fn observe(
        target: &Target,
        _: &PasswordPolicyConfig,
    ) -> Result<Option<Policy>, TargetError> {
        read_policy(&target.iam()).await.map_err(TargetError::from)
    }

    fn plan(
        desired: &PasswordPolicyConfig,
        observed: &Option<Policy>,
        _: &str,
    ) -> Vec<Proposal<Policy>> {
        let base = observed.clone().unwrap_or_else(Policy::aws_defaults);
        let (merged, kept) = tighten(&base, desired);
        let reason = (!kept.is_empty()).then(|| kept.join("; "));
        let proposal = match observed {
            None => Proposal::new(ADDRESS.into(), Action::Create)
                .after(json(&merged))
                .op(merged),
            Some(live) if *live == merged => {
                Proposal::new(ADDRESS.into(), Action::NoOp).before(json(live))
            }
            Some(live) => Proposal::new(ADDRESS.into(), Action::Update)
                .before(json(live))
                .after(json(&merged))
                .op(merged),
        };
        vec![match reason {
            Some(r) => proposal.reason(r),
            None => proposal,
        }]
    }

    async fn apply(target: &Target, want: &Policy) -> Result<Applied, TargetError> {
        let iam = target.iam();
        // UpdateAccountPasswordPolicy replaces the whole policy: merge what is live right
        // now, so a policy tightened since we observed it is not loosened by this call.
        let live = read_policy(&iam).await?;
        let base = live.clone().unwrap_or_else(Policy::aws_defaults);
        let (policy, _) = tighten(&base, &as_config(want));
        if live.as_ref() == Some(&policy) {
            return Ok(Applied::AlreadyDone);
        }
        iam.update_account_password_policy()
            .minimum_password_length(policy.minimum_length as i32)
            .require_uppercase_characters(policy.require_uppercase)
            .require_lowercase_characters(policy.require_lowercase)
            .require_numbers(policy.require_numbers)
            .require_symbols(policy.require_symbols)
            .set_password_reuse_prevention(policy.reuse_prevention.map(|n| n as i32))
            .set_max_password_age(policy.max_age_days.map(|n| n as i32))
            .allow_users_to_change_password(policy.allow_users_to_change)
            .hard_expiry(policy.hard_expiry)
            .send()
            .await
            .map_err(aws_err("iam:UpdateAccountPasswordPolicy"))?;
        Ok(Applied::Done)
    }
}

fn json(p: &Policy) -> serde_json::Value {
    serde_json::to_value(p).expect("a policy always serializes")
}

fn as_config(p: &Policy) -> PasswordPolicyConfig {
    use crate::baseline::Bounded;
    PasswordPolicyConfig {
        enabled: true,
        minimum_length: Some(Bounded(p.minimum_length)),
        require_uppercase: Some(p.require_uppercase),
        require_lowercase: Some(p.require_lowercase),
        require_numbers: Some(p.require_numbers),
        require_symbols: Some(p.require_symbols),
        reuse_prevention: p.reuse_prevention.map(Bounded),
        max_age_days: p.max_age_days.map(Bounded),
        allow_users_to_change: Some(p.allow_users_to_change),
        hard_expiry: Some(p.hard_expiry),
    }
}

async fn read_policy(iam: &aws_sdk_iam::Client) -> Result<Option<Policy>, AwsError> {
    match iam.get_account_password_policy().send().await {
        Ok(out) => Ok(out.password_policy().map(|p| Policy {
            minimum_length: p.minimum_password_length().unwrap_or(6).max(0) as u32,
            require_uppercase: p.require_uppercase_characters(),
            require_lowercase: p.require_lowercase_characters(),
            require_numbers: p.require_numbers(),
            require_symbols: p.require_symbols(),
            reuse_prevention: p
                .password_reuse_prevention()
                .filter(|n| *n > 0)
                .map(|n| n as u32),
            max_age_days: p.max_password_age().filter(|n| *n > 0).map(|n| n as u32),
            allow_users_to_change: p.allow_users_to_change_password(),
            hard_expiry: p.hard_expiry().unwrap_or(false),
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err("iam:GetAccountPasswordPolicy")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Bounded;

    fn secure() -> PasswordPolicyConfig {
        PasswordPolicyConfig {
            enabled: true,
            minimum_length: Some(Bounded(14)),
            require_uppercase: Some(true),
            require_lowercase: Some(true),
            require_numbers: Some(true),
            require_symbols: Some(true),
            reuse_prevention: Some(Bounded(24)),
            max_age_days: Some(Bounded(90)),
            allow_users_to_change: Some(true),
            hard_expiry: Some(false),
        }
    }

    fn compliant() -> Policy {
        Policy {
            minimum_length: 14,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            reuse_prevention: Some(24),
            max_age_days: Some(90),
            allow_users_to_change: true,
            hard_expiry: false,
        }
    }

    #[test]
    fn no_policy_is_created_with_the_baseline_values() {
        let p = PasswordPolicy::plan(&secure(), &None, "us-east-1");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].action, Action::Create);
        assert_eq!(p[0].op.as_ref(), Some(&compliant()));
        assert!(p[0].reason.is_none());
    }

    #[test]
    fn a_matching_policy_is_a_no_op() {
        let p = PasswordPolicy::plan(&secure(), &Some(compliant()), "us-east-1");
        assert_eq!(p[0].action, Action::NoOp);
        assert!(p[0].op.is_none());
    }

    #[test]
    fn a_weaker_policy_is_tightened_field_by_field() {
        let live = Policy {
            minimum_length: 8,
            require_symbols: false,
            reuse_prevention: None,
            max_age_days: None,
            ..compliant()
        };
        let p = PasswordPolicy::plan(&secure(), &Some(live), "us-east-1");
        assert_eq!(p[0].action, Action::Update);
        assert_eq!(p[0].op.as_ref(), Some(&compliant()));
    }

    #[test]
    fn stricter_live_values_are_kept_and_said() {
        let live = Policy {
            minimum_length: 20,
            reuse_prevention: Some(24),
            max_age_days: Some(30),
            hard_expiry: true,
            ..compliant()
        };
        let p = PasswordPolicy::plan(&secure(), &Some(live.clone()), "us-east-1");
        assert_eq!(p[0].action, Action::NoOp);
        let reason = p[0].reason.as_deref().unwrap();
        assert!(
            reason.contains("minimum_length: live 20 is stricter than the baseline's 14"),
            "{reason}"
        );
        assert!(reason.contains("max_age_days: live 30"), "{reason}");
        assert!(reason.contains("hard_expiry: live true"), "{reason}");
    }

    #[test]
    fn a_mix_tightens_some_fields_and_keeps_others() {
        let live = Policy {
            minimum_length: 20,
            require_numbers: false,
            ..compliant()
        };
        let (merged, kept) = tighten(&live, &secure());
        assert_eq!(merged.minimum_length, 20);
        assert!(merged.require_numbers);
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn fields_the_baseline_leaves_out_keep_their_live_values() {
        let only_length = PasswordPolicyConfig {
            enabled: true,
            minimum_length: Some(Bounded(12)),
            ..Default::default()
        };
        let live = Policy {
            minimum_length: 8,
            max_age_days: Some(400),
            reuse_prevention: Some(3),
            require_symbols: false,
            ..compliant()
        };
        let (merged, kept) = tighten(&live, &only_length);
        assert_eq!(
            merged,
            Policy {
                minimum_length: 12,
                ..live
            }
        );
        assert!(kept.is_empty());
    }

    #[test]
    fn no_maximum_age_is_the_loosest() {
        let live = Policy {
            max_age_days: None,
            ..compliant()
        };
        let (merged, _) = tighten(&live, &secure());
        assert_eq!(merged.max_age_days, Some(90));
        let live = Policy {
            max_age_days: Some(365),
            ..compliant()
        };
        assert_eq!(tighten(&live, &secure()).0.max_age_days, Some(90));
    }
}
