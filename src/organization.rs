//! `[organization]`: which accounts of an AWS Organization a run targets.
//!
//! This is the first step of the organization work (issue 10): the table, its checks, and
//! the selection of member accounts from what AWS Organizations lists (`accounts`,
//! `organizational_units`, `exclude_accounts`, suspended accounts, `--account`), shown by
//! `baseline accounts`. Planning and applying member accounts through `member_role` come
//! next; until then `plan` and `apply` refuse a baseline that enables the table rather
//! than silently treat it as one account.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `[organization]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    pub enabled: bool,
    /// The role assumed in each member account.
    #[serde(default = "default_member_role")]
    pub member_role: RoleName,
    /// `"all"` or a list of account ids.
    #[serde(default)]
    pub accounts: AccountSelection,
    #[serde(default)]
    pub exclude_accounts: Vec<AccountId>,
    /// Only the accounts under these OUs (at any depth).
    #[serde(default)]
    pub organizational_units: Vec<OuId>,
    /// The security tooling account: delegated administrator of the security services.
    pub delegated_admin: Option<AccountId>,
    /// The log archive account: holds the trail and Config buckets and their key.
    pub log_archive: Option<AccountId>,
}

fn default_member_role() -> RoleName {
    RoleName("OrganizationAccountAccessRole".into())
}

impl OrganizationConfig {
    /// Values that contradict each other.
    pub(crate) fn problem(&self) -> Option<(String, String)> {
        if !self.enabled {
            return None;
        }
        for (key, id) in [
            ("organization.delegated_admin", &self.delegated_admin),
            ("organization.log_archive", &self.log_archive),
        ] {
            if let Some(id) = id
                && self.exclude_accounts.contains(id)
            {
                return Some((
                    key.into(),
                    format!(
                        "{} is also in exclude_accounts: the account that holds the organization's security tooling or logs cannot be left out",
                        id.0
                    ),
                ));
            }
        }
        if let AccountSelection::List(list) = &self.accounts {
            for (key, id) in [
                ("organization.delegated_admin", &self.delegated_admin),
                ("organization.log_archive", &self.log_archive),
            ] {
                if let Some(id) = id
                    && !list.contains(id)
                {
                    return Some((
                        key.into(),
                        format!("{} is not in accounts: list it there too", id.0),
                    ));
                }
            }
            if list.is_empty() {
                return Some((
                    "organization.accounts".into(),
                    "is an empty list: write \"all\", or the account ids".into(),
                ));
            }
            if let Some((i, id)) = list
                .iter()
                .enumerate()
                .find(|(_, id)| self.exclude_accounts.contains(id))
            {
                return Some((
                    format!("organization.accounts[{i}]"),
                    format!("{} is also in exclude_accounts: say it once", id.0),
                ));
            }
        }
        None
    }
}

/// `"all"` or a list of ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AccountSelection {
    #[default]
    All,
    List(Vec<AccountId>),
}

impl<'de> Deserialize<'de> for AccountSelection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<AccountId>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "all" => Ok(AccountSelection::All),
            Raw::Word(w) => Err(de::Error::custom(format!(
                "invalid accounts {w:?}: expected \"all\" or a list of 12-digit account ids"
            ))),
            Raw::List(l) => Ok(AccountSelection::List(l)),
        }
    }
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AccountId(pub String);

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid account id {s:?}: expected 12 digits, in quotes"
            )))
        }
    }
}

/// An organizational unit id, `ou-xxxx-xxxxxxxx`, or the root, `r-xxxx`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OuId(pub String);

impl<'de> Deserialize<'de> for OuId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok_chars = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        let ok = match s.strip_prefix("ou-") {
            Some(rest) => rest.split_once('-').is_some_and(|(a, b)| {
                (4..=32).contains(&a.len())
                    && (8..=32).contains(&b.len())
                    && ok_chars(a)
                    && ok_chars(b)
            }),
            None => s
                .strip_prefix("r-")
                .is_some_and(|r| (4..=32).contains(&r.len()) && ok_chars(r)),
        };
        if ok {
            Ok(OuId(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid organizational unit {s:?}: expected ou-xxxx-xxxxxxxx (or a root, r-xxxx)"
            )))
        }
    }
}

/// An IAM role name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleName(pub String);

impl<'de> Deserialize<'de> for RoleName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        {
            Ok(RoleName(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid role name {s:?}: expected 1 to 64 letters, digits or +=,.@_- (a name, not an ARN)"
            )))
        }
    }
}

/// The accounts that hold the organization's shared pieces, as a run's targets see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seats {
    /// The credentials' account: trusted access, delegated administrators, the
    /// organization trail.
    pub management: String,
    pub delegated_admin: Option<String>,
    pub log_archive: Option<String>,
    /// The organization's id (`o-…`), read when a log archive is named.
    pub org_id: Option<String>,
}

impl Seats {
    pub fn of(config: &OrganizationConfig, management: &str, org_id: Option<String>) -> Seats {
        Seats {
            management: management.to_owned(),
            delegated_admin: config.delegated_admin.as_ref().map(|a| a.0.clone()),
            log_archive: config.log_archive.as_ref().map(|a| a.0.clone()),
            org_id,
        }
    }

    /// The organization's central logs, when it names a log archive.
    pub fn central_logs(&self) -> Option<crate::toolkit::account::CentralLogs> {
        Some(crate::toolkit::account::CentralLogs {
            management: self.management.clone(),
            archive: self.log_archive.clone()?,
            org_id: self.org_id.clone()?,
        })
    }
}

/// The organization's id (`o-…`): `DescribeOrganization`, from the management account.
pub async fn organization_id(client: &aws_sdk_organizations::Client) -> Result<String, ListError> {
    use crate::error::aws_err;
    let out = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| ListError(aws_err("organizations:DescribeOrganization")(e)))?;
    Ok(out
        .organization()
        .and_then(|o| o.id())
        .unwrap_or_default()
        .to_owned())
}

/// A member account as AWS Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`.
    pub status: String,
}

/// The accounts a run targets, and those it leaves out with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Selection {
    pub targeted: Vec<OrgAccount>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub id: String,
    pub name: Option<String>,
    pub reason: String,
}

/// Pure: the accounts to target. `under_ous` is the set of accounts under the baseline's
/// OUs (None when it names none); `only` is `--account` (empty: no limit).
pub fn select(
    config: &OrganizationConfig,
    listed: &[OrgAccount],
    under_ous: Option<&BTreeSet<String>>,
    only: &[String],
) -> Selection {
    let mut targeted = Vec::new();
    let mut skipped = Vec::new();
    let mut skip = |a: &OrgAccount, reason: &str| {
        skipped.push(Skipped {
            id: a.id.clone(),
            name: Some(a.name.clone()),
            reason: reason.to_owned(),
        })
    };
    for a in listed {
        let named = |list: &[AccountId]| list.iter().any(|id| id.0 == a.id);
        if a.status != "ACTIVE" {
            skip(
                a,
                &format!(
                    "the account is {}",
                    a.status.to_lowercase().replace('_', " ")
                ),
            );
        } else if named(&config.exclude_accounts) {
            skip(a, "in exclude_accounts");
        } else if let AccountSelection::List(list) = &config.accounts
            && !named(list)
        {
            skip(a, "not in accounts");
        } else if under_ous.is_some_and(|set| !set.contains(&a.id)) {
            skip(a, "not under organizational_units");
        } else if !only.is_empty() && !only.contains(&a.id) {
            skip(a, NOT_NAMED);
        } else {
            targeted.push(a.clone());
        }
    }
    // Ids the baseline or the command line names that the organization does not list.
    let listed_ids: BTreeSet<&str> = listed.iter().map(|a| a.id.as_str()).collect();
    let mut unknown: BTreeSet<String> = only.iter().cloned().collect();
    if let AccountSelection::List(list) = &config.accounts {
        unknown.extend(list.iter().map(|a| a.0.clone()));
    }
    for id in unknown {
        if !listed_ids.contains(id.as_str()) {
            skipped.push(Skipped {
                id,
                name: None,
                reason: "not an account of this organization".into(),
            });
        }
    }
    Selection { targeted, skipped }
}

/// The accounts of a shard's `--account-file` (and any `--account`), as a listing to
/// [`select`] from instead of `ListAccounts`: the file was written from the listing by
/// `baseline accounts`, so each is taken as active, with the file's name (or its id).
pub fn listed_from_file(ids: &[String], names: &[(String, Option<String>)]) -> Vec<OrgAccount> {
    let names: BTreeMap<&str, &str> = names
        .iter()
        .filter_map(|(id, name)| Some((id.as_str(), name.as_deref()?)))
        .collect();
    ids.iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|id| OrgAccount {
            id: id.clone(),
            name: names
                .get(id.as_str())
                .map_or_else(|| id.clone(), |n| (*n).to_owned()),
            status: "ACTIVE".into(),
        })
        .collect()
}

/// Why a run leaves out an account `--account` did not name: in the `--org-only` step's
/// report, the organization's accounts the shards work on (a shard reads its accounts from
/// its file and lists nothing else).
pub const NOT_NAMED: &str = "not named by --account";

/// The shard (0-based) of an account among `shards`: from a hash of its id (FNV-1a), so
/// that an account keeps its shard when others join, leave or are filtered out.
pub fn shard_of(account: &str, shards: usize) -> usize {
    let hash = account.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % shards.max(1) as u64) as usize
}

/// What listing the organization failed on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ListError(pub crate::error::AwsError);

/// Every account of the organization, and the accounts under `ous` (at any depth).
pub async fn list(
    client: &aws_sdk_organizations::Client,
    ous: &[OuId],
) -> Result<(Vec<OrgAccount>, Option<BTreeSet<String>>), ListError> {
    use crate::error::aws_err;
    let pages: Vec<_> = client
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ListError(aws_err("organizations:ListAccounts")(e)))?;
    let mut accounts: Vec<OrgAccount> = pages
        .iter()
        .flat_map(|p| p.accounts())
        .map(|a| OrgAccount {
            id: a.id().unwrap_or_default().to_owned(),
            name: a.name().unwrap_or_default().to_owned(),
            // `State` replaces `Status` (retired in September 2026); an account with
            // neither is not taken for an active one.
            status: a
                .state()
                .map(|s| s.as_str().to_owned())
                .or_else(|| a.status().map(|s| s.as_str().to_owned()))
                .unwrap_or_else(|| "UNKNOWN".into()),
        })
        .collect();
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    if ous.is_empty() {
        return Ok((accounts, None));
    }
    let mut under = BTreeSet::new();
    let mut queue: Vec<String> = ous.iter().map(|o| o.0.clone()).collect();
    let mut seen = BTreeSet::new();
    while let Some(parent) = queue.pop() {
        if !seen.insert(parent.clone()) {
            continue;
        }
        let pages: Vec<_> = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| ListError(aws_err("organizations:ListAccountsForParent")(e)))?;
        under.extend(
            pages
                .iter()
                .flat_map(|p| p.accounts())
                .filter_map(|a| a.id().map(str::to_owned)),
        );
        let children: Vec<_> = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| ListError(aws_err("organizations:ListOrganizationalUnitsForParent")(e)))?;
        queue.extend(
            children
                .iter()
                .flat_map(|p| p.organizational_units())
                .filter_map(|o| o.id().map(str::to_owned)),
        );
    }
    Ok((accounts, Some(under)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> OrganizationConfig {
        toml::from_str(text).unwrap()
    }

    fn account(id: &str, status: &str) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            name: format!("acct-{id}"),
            status: status.into(),
        }
    }

    #[test]
    fn suspended_excluded_unlisted_and_outside_accounts_are_skipped_with_the_reason() {
        let listed = [
            account("111111111111", "ACTIVE"),
            account("222222222222", "ACTIVE"),
            account("333333333333", "SUSPENDED"),
            account("444444444444", "ACTIVE"),
            account("555555555555", "PENDING_CLOSURE"),
        ];
        let c = config("enabled = true\nexclude_accounts = [\"444444444444\"]\n");
        let s = select(&c, &listed, None, &[]);
        let ids: Vec<&str> = s.targeted.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["111111111111", "222222222222"]);
        let reasons: Vec<(&str, &str)> = s
            .skipped
            .iter()
            .map(|k| (k.id.as_str(), k.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("333333333333", "the account is suspended"),
                ("444444444444", "in exclude_accounts"),
                ("555555555555", "the account is pending closure"),
            ]
        );

        // A list, OUs and --account narrow it further; an unknown id is said.
        let c = config(
            "enabled = true\naccounts = [\"111111111111\", \"222222222222\", \"999999999999\"]\n",
        );
        let ous: BTreeSet<String> = ["222222222222".to_owned()].into();
        let s = select(&c, &listed, Some(&ous), &[]);
        assert_eq!(s.targeted, [listed[1].clone()]);
        assert!(
            s.skipped
                .iter()
                .any(|k| k.id == "111111111111" && k.reason == "not under organizational_units")
        );
        assert!(
            s.skipped.iter().any(
                |k| k.id == "999999999999" && k.reason == "not an account of this organization"
            )
        );
        let s = select(
            &config("enabled = true"),
            &listed,
            None,
            &["222222222222".into()],
        );
        assert_eq!(s.targeted, [listed[1].clone()]);
    }

    #[test]
    fn contradictions_and_bad_ids_are_refused() {
        let c = config(
            "enabled = true\ndelegated_admin = \"222222222222\"\nexclude_accounts = [\"222222222222\"]\n",
        );
        assert_eq!(c.problem().unwrap().0, "organization.delegated_admin");
        let c = config("enabled = true\naccounts = []\n");
        assert_eq!(c.problem().unwrap().0, "organization.accounts");
        assert!(
            toml::from_str::<OrganizationConfig>("enabled = true\naccounts = \"some\"").is_err()
        );
        assert!(
            toml::from_str::<OrganizationConfig>("enabled = true\ndelegated_admin = \"2222\"")
                .is_err()
        );
        assert!(
            toml::from_str::<OrganizationConfig>(
                "enabled = true\norganizational_units = [\"ou-ab\"]"
            )
            .is_err()
        );
        assert!(
            toml::from_str::<OrganizationConfig>(
                "enabled = true\norganizational_units = [\"ou-ab12-cdef3456\", \"r-ab12\"]"
            )
            .is_ok()
        );
        assert!(
            toml::from_str::<OrganizationConfig>(
                "enabled = true\nmember_role = \"arn:aws:iam::1:role/x\""
            )
            .is_err()
        );
        // Stable, spread, and in range.
        assert_eq!(shard_of("111111111111", 8), shard_of("111111111111", 8));
        assert_eq!(shard_of("111111111111", 0), 0);
        let used: BTreeSet<usize> = (0..64)
            .map(|i| shard_of(&format!("{:012}", 100_000_000_000u64 + i * 7919), 8))
            .collect();
        assert_eq!(used.len(), 8);
        let c = config(
            "enabled = true\naccounts = [\"111111111111\"]\nlog_archive = \"333333333333\"\n",
        );
        assert_eq!(c.problem().unwrap().0, "organization.log_archive");
    }
}
