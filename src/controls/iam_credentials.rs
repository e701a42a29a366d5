//! A review of IAM credentials (`[iam_credentials]`), account-wide, from the IAM
//! credential report and the account summary. It reports, as findings kept with a reason
//! (they change nothing and no exit code unless `--fail-on-findings`): console users that
//! also have active access keys; users with a password who never signed in; access keys
//! unused for more than `unused_days`; console users without MFA; the root user without
//! MFA or with access keys. The one change it may make is opt-in:
//! `deactivate_unused_access_keys = true` sets each unused key to Inactive (never
//! deletes it), listed by user and key id so that a person can reactivate it. Nothing
//! else about users is ever changed.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::{Baseline, Bounded};
use crate::error::{AwsError, TargetError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_iam::types::{ReportStateType, StatusType, SummaryKeyType};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct IamCredentials;

/// The IAM credential review.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IamCredentialsConfig {
    pub enabled: bool,
    /// An access key not used for more days than this is reported (default 90).
    #[serde(default = "default_unused_days")]
    pub unused_days: Bounded<1, 3650>,
    /// Opt-in: set unused access keys to Inactive (never deleted).
    #[serde(default)]
    pub deactivate_unused_access_keys: bool,
}

fn default_unused_days() -> Bounded<1, 3650> {
    Bounded(90)
}

const DAY: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub unused_days: u32,
    pub deactivate: bool,
}

/// One access key, from ListAccessKeys and GetAccessKeyLastUsed (seconds since 1970).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub id: String,
    pub active: bool,
    pub created: i64,
    pub last_used: Option<i64>,
}

/// One IAM user, from the credential report (and its keys when it has an active one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: bool,
    /// None: never signed in (the report's `no_information`).
    pub password_last_used: Option<i64>,
    pub mfa: bool,
    pub keys: Vec<Key>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// When the report was read (seconds since 1970): ages are counted from it.
    pub now: i64,
    pub users: Vec<User>,
    pub root_mfa: bool,
    pub root_access_keys: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deactivate {
    pub user: String,
    pub key_id: String,
}

impl Control for IamCredentials {
    const NAME: &'static str = "iam_credentials";
    const SCOPE: Scope = Scope::Account;
    type Desired = Desired;
    type Observed = Observed;
    type Op = Deactivate;

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let c = baseline.iam_credentials.as_ref().filter(|c| c.enabled)?;
        Some(Desired {
            unused_days: c.unused_days.get(),
            deactivate: c.deactivate_unused_access_keys,
        })
    }

    fn permissions(desired: &Desired, arns: &Arns) -> Vec<Grant> {
        let mut grants = vec![Grant::read(
            "CredentialReview",
            &[
                "iam:GenerateCredentialReport",
                "iam:GetCredentialReport",
                "iam:GetAccountSummary",
                "iam:ListAccessKeys",
                "iam:GetAccessKeyLastUsed",
            ],
        )];
        if desired.deactivate {
            grants.push(
                Grant::write("DeactivateUnusedAccessKeys", &["iam:UpdateAccessKey"])
                    .on([arns.iam("user/*")]),
            );
        }
        grants
    }

    async fn observe(target: &Target, _: &Desired) -> Result<Observed, TargetError> {
        Ok(observe_with(&target.iam()).await?)
    }

    fn plan(desired: &Desired, observed: &Observed, _: &str) -> Vec<Proposal<Deactivate>> {
        plan(desired, observed)
    }

    async fn apply(target: &Target, op: &Deactivate) -> Result<Applied, TargetError> {
        target
            .iam()
            .update_access_key()
            .user_name(&op.user)
            .access_key_id(&op.key_id)
            .status(StatusType::Inactive)
            .send()
            .await
            .map_err(aws_err("iam:UpdateAccessKey"))?;
        Ok(Applied::Done)
    }
}

/// Days since `then`, whole.
fn days(now: i64, then: i64) -> i64 {
    (now - then).max(0) / DAY
}

/// An active key with no use for more than `unused_days` (counted from its creation when
/// it was never used): how many days.
fn unused_for(key: &Key, now: i64, unused_days: u32) -> Option<i64> {
    let idle = days(now, key.last_used.unwrap_or(key.created));
    (key.active && idle > i64::from(unused_days)).then_some(idle)
}

pub fn plan(desired: &Desired, observed: &Observed) -> Vec<Proposal<Deactivate>> {
    let now = observed.now;
    let mut out = Vec::new();
    for user in &observed.users {
        let mut findings = Vec::new();
        let active: Vec<&Key> = user.keys.iter().filter(|k| k.active).collect();
        if user.password && !active.is_empty() {
            findings.push(format!(
                "console password and {} active access key(s): give a person console access and a program keys, not both",
                active.len()
            ));
        }
        if user.password && user.password_last_used.is_none() {
            findings.push("has a password but never signed in".to_owned());
        }
        if user.password && !user.mfa {
            findings.push("console user without MFA".to_owned());
        }
        for key in &user.keys {
            let Some(idle) = unused_for(key, now, desired.unused_days) else {
                continue;
            };
            let never = key.last_used.is_none();
            let what = if never {
                format!("access key {} never used, made {idle} days ago", key.id)
            } else {
                format!("access key {} unused for {idle} days", key.id)
            };
            if desired.deactivate {
                out.push(
                    Proposal::new(
                        format!("iam.access_key[{:?}][{:?}]", user.name, key.id),
                        Action::Update,
                    )
                    .before(json!({ "status": "Active" }))
                    .after(json!({ "status": "Inactive" }))
                    .reason(format!(
                        "{what} (more than {}): set Inactive, not deleted; to undo: aws iam update-access-key --user-name {} --access-key-id {} --status Active",
                        desired.unused_days, user.name, key.id
                    ))
                    .op(Deactivate {
                        user: user.name.clone(),
                        key_id: key.id.clone(),
                    }),
                );
            } else {
                findings.push(format!(
                    "{what} (more than {}; deactivate_unused_access_keys = true would set it Inactive)",
                    desired.unused_days
                ));
            }
        }
        if !findings.is_empty() {
            out.push(
                Proposal::new(format!("iam.user[{:?}]", user.name), Action::Kept)
                    .reason(findings.join("; ")),
            );
        }
    }
    let mut root = Vec::new();
    if !observed.root_mfa {
        root.push("the root user has no MFA");
    }
    if observed.root_access_keys {
        root.push("the root user has access keys: delete them");
    }
    out.push(if root.is_empty() {
        Proposal::new("iam.root".into(), Action::NoOp)
            .before(json!({ "mfa": true, "access_keys": false }))
    } else {
        Proposal::new("iam.root".into(), Action::Kept)
            .before(json!({ "mfa": observed.root_mfa, "access_keys": observed.root_access_keys }))
            .reason(root.join("; "))
    });
    out
}

/// The users of the credential report, read by column name, each with whether the
/// report shows an active access key (whose ids and last use are read separately).
fn parse_report(csv_text: &[u8]) -> Result<Vec<(User, bool)>, String> {
    let mut reader = csv::Reader::from_reader(csv_text);
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(user), Some(pw), Some(pw_used), Some(mfa)) = (
        col("user"),
        col("password_enabled"),
        col("password_last_used"),
        col("mfa_active"),
    ) else {
        return Err("the credential report lacks its usual columns".to_owned());
    };
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        let name = row.get(user).unwrap_or_default();
        // The root user is read from the account summary.
        if name == "<root_account>" {
            continue;
        }
        let key_active = |n: u8| {
            col(&format!("access_key_{n}_active"))
                .and_then(|i| row.get(i))
                .is_some_and(|v| v == "true")
        };
        let user = User {
            name: name.to_owned(),
            password: row.get(pw) == Some("true"),
            password_last_used: row.get(pw_used).and_then(timestamp),
            mfa: row.get(mfa) == Some("true"),
            keys: Vec::new(),
        };
        out.push((user, key_active(1) || key_active(2)));
    }
    Ok(out)
}

/// An ISO 8601 time of the report (`2024-05-01T10:00:00+00:00`); None for `N/A`,
/// `no_information` and the like.
fn timestamp(text: &str) -> Option<i64> {
    let dt =
        aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
            .ok()?;
    Some(dt.secs())
}

pub async fn observe_with(iam: &aws_sdk_iam::Client) -> Result<Observed, AwsError> {
    // The report is made asynchronously; AWS makes a new one at most every four hours
    // and answers COMPLETE at once when a recent one exists.
    let mut state = None;
    for _ in 0..30 {
        let out = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(aws_err("iam:GenerateCredentialReport"))?;
        state = out.state().cloned();
        if state == Some(ReportStateType::Complete) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    if state != Some(ReportStateType::Complete) {
        return Err(AwsError::invalid_response(
            "iam:GenerateCredentialReport",
            "the credential report was not ready after a minute: run again",
        ));
    }
    let report = iam
        .get_credential_report()
        .send()
        .await
        .map_err(aws_err("iam:GetCredentialReport"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let content = report.content().map(|b| b.as_ref()).unwrap_or_default();
    let rows = parse_report(content)
        .map_err(|e| AwsError::invalid_response("iam:GetCredentialReport", e))?;
    let users =
        futures::future::try_join_all(rows.into_iter().map(|(mut user, keyed)| async move {
            if keyed {
                user.keys = access_keys(iam, &user.name).await?;
            }
            Ok::<_, AwsError>(user)
        }))
        .await?;
    let summary = iam
        .get_account_summary()
        .send()
        .await
        .map_err(aws_err("iam:GetAccountSummary"))?;
    let count = |k: SummaryKeyType| summary.summary_map().and_then(|m| m.get(&k)).copied();
    Ok(Observed {
        now,
        users,
        root_mfa: count(SummaryKeyType::AccountMfaEnabled) == Some(1),
        root_access_keys: count(SummaryKeyType::AccountAccessKeysPresent).unwrap_or(0) > 0,
    })
}

/// A user's access keys with their last use.
async fn access_keys(iam: &aws_sdk_iam::Client, user: &str) -> Result<Vec<Key>, AwsError> {
    let listed = iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(aws_err("iam:ListAccessKeys"))?;
    let mut out = Vec::new();
    for k in listed.access_key_metadata() {
        let Some(id) = k.access_key_id() else {
            continue;
        };
        let used = iam
            .get_access_key_last_used()
            .access_key_id(id)
            .send()
            .await
            .map_err(aws_err("iam:GetAccessKeyLastUsed"))?;
        out.push(Key {
            id: id.to_owned(),
            active: k.status() == Some(&StatusType::Active),
            created: k.create_date().map_or(0, |d| d.secs()),
            last_used: used
                .access_key_last_used()
                .and_then(|u| u.last_used_date())
                .map(|d| d.secs()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn desired(deactivate: bool) -> Desired {
        Desired {
            unused_days: 90,
            deactivate,
        }
    }

    fn user(name: &str) -> User {
        User {
            name: name.into(),
            password: false,
            password_last_used: None,
            mfa: false,
            keys: Vec::new(),
        }
    }

    fn key(id: &str, created_days_ago: i64, used_days_ago: Option<i64>) -> Key {
        Key {
            id: id.into(),
            active: true,
            created: NOW - created_days_ago * DAY,
            last_used: used_days_ago.map(|d| NOW - d * DAY),
        }
    }

    fn observed(users: Vec<User>) -> Observed {
        Observed {
            now: NOW,
            users,
            root_mfa: true,
            root_access_keys: false,
        }
    }

    #[test]
    fn a_clean_account_has_no_findings() {
        let mut alice = user("alice");
        alice.password = true;
        alice.mfa = true;
        alice.password_last_used = Some(NOW - DAY);
        let mut robot = user("robot");
        robot.keys = vec![key("AKIAROBOT", 400, Some(1))];
        let p = plan(&desired(false), &observed(vec![alice, robot]));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].address, "iam.root");
        assert_eq!(p[0].action, Action::NoOp);
    }

    #[test]
    fn every_finding_of_a_user_is_kept_with_its_reason_and_nothing_is_changed() {
        let mut bob = user("bob");
        bob.password = true;
        bob.keys = vec![key("AKIABOB", 200, None)];
        let p = plan(&desired(false), &observed(vec![bob]));
        let bob = p.iter().find(|p| p.address == "iam.user[\"bob\"]").unwrap();
        assert_eq!(bob.action, Action::Kept);
        assert!(bob.op.is_none());
        let reason = bob.reason.as_deref().unwrap();
        for expected in [
            "console password and 1 active access key(s)",
            "never signed in",
            "without MFA",
            "access key AKIABOB never used, made 200 days ago",
        ] {
            assert!(reason.contains(expected), "{reason}");
        }
        assert!(p.iter().all(|p| p.op.is_none()));
    }

    #[test]
    fn unused_keys_are_deactivated_only_with_the_opt_in_and_listed_by_user_and_id() {
        let mut ci = user("ci");
        ci.keys = vec![
            key("AKIAOLD", 500, Some(120)),
            key("AKIAFRESH", 500, Some(3)),
            Key {
                active: false,
                ..key("AKIAOFF", 500, Some(300))
            },
        ];
        let p = plan(&desired(true), &observed(vec![ci.clone()]));
        let changes: Vec<_> = p.iter().filter(|p| p.op.is_some()).collect();
        assert_eq!(changes.len(), 1, "{p:?}");
        assert_eq!(changes[0].address, "iam.access_key[\"ci\"][\"AKIAOLD\"]");
        assert_eq!(
            changes[0].op,
            Some(Deactivate {
                user: "ci".into(),
                key_id: "AKIAOLD".into()
            })
        );
        assert!(
            changes[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("--status Active")
        );

        let p = plan(&desired(false), &observed(vec![ci]));
        assert!(p.iter().all(|p| p.op.is_none()));
        let kept = p.iter().find(|p| p.address == "iam.user[\"ci\"]").unwrap();
        assert!(
            kept.reason
                .as_deref()
                .unwrap()
                .contains("AKIAOLD unused for 120 days")
        );
    }

    #[test]
    fn the_root_user_without_mfa_or_with_keys_is_a_finding() {
        let mut o = observed(Vec::new());
        o.root_mfa = false;
        o.root_access_keys = true;
        let p = plan(&desired(true), &o);
        assert_eq!(p[0].action, Action::Kept);
        let reason = p[0].reason.as_deref().unwrap();
        assert!(
            reason.contains("no MFA") && reason.contains("access keys"),
            "{reason}"
        );
    }

    #[test]
    fn the_report_is_read_by_column_name_and_the_root_row_is_skipped() {
        let csv = "user,arn,user_creation_time,password_enabled,password_last_used,mfa_active,access_key_1_active,access_key_2_active\n\
            <root_account>,arn:aws:iam::1:root,2020-01-01T00:00:00+00:00,not_supported,2024-01-01T00:00:00+00:00,true,false,false\n\
            alice,arn:aws:iam::1:user/alice,2020-01-01T00:00:00+00:00,true,no_information,false,true,false\n\
            \"a,b\",arn:aws:iam::1:user/a,2020-01-01T00:00:00+00:00,false,not_supported,false,false,false\n";
        let users = parse_report(csv.as_bytes()).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].0.name, "alice");
        assert!(users[0].0.password && users[0].0.password_last_used.is_none());
        assert!(users[0].1, "keys are read for users with an active one");
        assert_eq!(users[1].0.name, "a,b");
        assert!(!users[1].1);
    }
}
