//! The least-privilege IAM policy of a baseline, built from what each control declares it
//! calls (`Control::permissions`, next to the calls), so that it cannot fall behind them.
//!
//! `baseline permissions` prints it; `examples/iam-policy.json` is its output for
//! `baselines/secure-account.toml`, and the tests check that every call a run sends is
//! an action of its policy.

use crate::baseline::Baseline;
use crate::controls::DynControl;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// What the policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `baseline plan`: List and Read actions only.
    Plan,
    /// `baseline apply`: everything `plan` needs, and the writes.
    Apply,
}

/// The partition and account ARNs are built for (`*` for any account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arns {
    pub partition: String,
    pub account: String,
}

impl Arns {
    /// A regional resource of this account, in any region.
    pub fn regional(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:*:{}:{resource}",
            self.partition, self.account
        )
    }

    /// An IAM resource of this account (IAM ARNs have no region).
    pub fn iam(&self, resource: &str) -> String {
        format!("arn:{}:iam::{}:{resource}", self.partition, self.account)
    }

    /// An S3 bucket or object (S3 ARNs have neither region nor account).
    pub fn s3(&self, path: &str) -> String {
        format!("arn:{}:s3:::{path}", self.partition)
    }
}

/// Actions a control calls on some resources, under an optional condition. Grants with
/// the same `sid` become one statement: their actions, resources and condition values
/// are merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub sid: &'static str,
    /// List and Read actions: all that `plan` needs.
    pub read: Vec<&'static str>,
    pub write: Vec<&'static str>,
    pub resources: Vec<String>,
    pub condition: Option<Value>,
}

impl Grant {
    /// Read actions on every resource.
    pub fn read(sid: &'static str, actions: &[&'static str]) -> Grant {
        Grant {
            sid,
            read: actions.to_vec(),
            write: Vec::new(),
            resources: vec!["*".to_owned()],
            condition: None,
        }
    }

    /// Write actions on every resource (narrow it with [`Grant::on`]).
    pub fn write(sid: &'static str, actions: &[&'static str]) -> Grant {
        Grant {
            sid,
            read: Vec::new(),
            write: actions.to_vec(),
            resources: vec!["*".to_owned()],
            condition: None,
        }
    }

    /// Also these read actions, in the same statement.
    pub fn and_read(mut self, actions: &[&'static str]) -> Grant {
        self.read.extend_from_slice(actions);
        self
    }

    pub fn on<S: Into<String>>(mut self, resources: impl IntoIterator<Item = S>) -> Grant {
        self.resources = resources.into_iter().map(Into::into).collect();
        self
    }

    pub fn when(mut self, condition: Value) -> Grant {
        self.condition = Some(condition);
        self
    }
}

/// What every run calls before any control: who the caller is, and which regions exist.
fn discovery() -> Grant {
    Grant::read(
        "Discover",
        &["sts:GetCallerIdentity", "ec2:DescribeRegions"],
    )
}

/// Where `apply --report` / `--report-html` write (`s3://bucket/key`; `{time}` and
/// anything after it become a wildcard).
pub fn report_grant(arns: &Arns, destinations: &[String]) -> Option<Grant> {
    let objects: Vec<String> = destinations
        .iter()
        .filter_map(|d| d.strip_prefix("s3://"))
        .map(|path| {
            let fixed = path.split("{time}").next().unwrap_or(path);
            let wild = fixed.len() != path.len();
            arns.s3(&format!("{fixed}{}", if wild { "*" } else { "" }))
        })
        .collect();
    (!objects.is_empty()).then(|| Grant::write("Reports", &["s3:PutObject"]).on(objects))
}

/// The policy document for the enabled settings of `baseline`.
pub fn policy(
    baseline: &Baseline,
    controls: &[Arc<dyn DynControl>],
    arns: &Arns,
    purpose: Purpose,
    extra: Vec<Grant>,
) -> Value {
    let mut grants = vec![discovery()];
    if let Some(org) = baseline.organization.as_ref().filter(|o| o.enabled) {
        // `baseline accounts --check-roles`, and organization runs to come: the member
        // role, in any account of the organization.
        grants.push(
            Grant::write("AssumeTheMemberRole", &["sts:AssumeRole"]).on([format!(
                "arn:{}:iam::*:role/{}",
                arns.partition, org.member_role.0
            )]),
        );
        // Listing the organization's accounts (`baseline accounts`): its calls take no
        // resource.
        grants.push(Grant::read(
            "ListTheOrganization",
            &[
                "organizations:ListAccounts",
                "organizations:ListAccountsForParent",
                "organizations:DescribeOrganization",
                "organizations:ListOrganizationalUnitsForParent",
            ],
        ));
    }
    if let Some(org) = baseline.organization.as_ref().filter(|o| o.enabled)
        && org.log_archive.is_some()
        && baseline.cloudtrail.as_ref().is_some_and(|t| t.enabled)
    {
        // The organization trail: trusted access for CloudTrail first, and what
        // CloudTrail itself checks of the caller when it makes one (its service-linked
        // role, the organization's services).
        grants.push(
            Grant::write(
                "OrganizationTrail",
                &[
                    "organizations:EnableAWSServiceAccess",
                    "iam:CreateServiceLinkedRole",
                ],
            )
            .and_read(&[
                "organizations:ListAWSServiceAccessForOrganization",
                "iam:GetRole",
            ]),
        );
    }
    for control in controls {
        grants.extend(control.permissions(baseline, arns));
    }
    grants.extend(extra);
    document(grants, purpose)
}

/// The policy of `organization.member_role`: what `baseline` does in a member account
/// through the role (the delegated administrator's and the log archive's steps included,
/// since they run in those accounts through it). It leaves out what only the management
/// account's own identity does: listing the organization, assuming the member roles, and
/// the management account's steps (trusted access, delegated administrators, the
/// organization trail when a log archive holds the logs).
pub fn member_policy(
    baseline: &Baseline,
    controls: &[Arc<dyn DynControl>],
    arns: &Arns,
    purpose: Purpose,
) -> Value {
    let central_logs = baseline
        .organization
        .as_ref()
        .is_some_and(|o| o.enabled && o.log_archive.is_some());
    let mut grants = vec![discovery()];
    for control in controls {
        if !control.seat().management_only(central_logs) {
            grants.extend(control.permissions(baseline, arns));
        }
    }
    document(grants, purpose)
}

/// One statement being merged: sid, actions, resources, condition.
type Statement = (&'static str, Vec<&'static str>, Vec<String>, Option<Value>);

/// Merges grants into statements, in the order their sids first appear.
pub fn document(grants: Vec<Grant>, purpose: Purpose) -> Value {
    let mut statements: Vec<Statement> = Vec::new();
    for g in grants {
        let mut actions = g.read.clone();
        if purpose == Purpose::Apply {
            actions.extend(g.write.iter().copied());
        }
        if actions.is_empty() {
            continue;
        }
        let at = match statements.iter().position(|s| s.0 == g.sid) {
            Some(i) => i,
            None => {
                statements.push((g.sid, Vec::new(), Vec::new(), None));
                statements.len() - 1
            }
        };
        let s = &mut statements[at];
        union(&mut s.1, actions);
        union(&mut s.2, g.resources);
        s.3 = match (s.3.take(), g.condition) {
            (None, c) | (c, None) => c,
            (Some(a), Some(b)) => Some(merge_condition(a, b)),
        };
    }
    let statements: Vec<Value> = statements
        .into_iter()
        .map(|(sid, actions, resources, condition)| {
            let mut s = Map::new();
            s.insert("Sid".into(), json!(sid));
            s.insert("Effect".into(), json!("Allow"));
            s.insert("Action".into(), one_or_many(actions));
            s.insert("Resource".into(), one_or_many(resources));
            if let Some(c) = condition {
                s.insert("Condition".into(), c);
            }
            Value::Object(s)
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn union<T: PartialEq>(into: &mut Vec<T>, more: Vec<T>) {
    for m in more {
        if !into.contains(&m) {
            into.push(m);
        }
    }
}

fn one_or_many<T: serde::Serialize>(items: Vec<T>) -> Value {
    match items.len() {
        1 => json!(items[0]),
        _ => json!(items),
    }
}

/// `{"StringEquals": {"k": ["a"]}}` and `{"StringEquals": {"k": "b"}}` give
/// `{"StringEquals": {"k": ["a", "b"]}}`.
fn merge_condition(a: Value, b: Value) -> Value {
    let (Value::Object(mut a), Value::Object(b)) = (a, b) else {
        unreachable!("conditions are objects");
    };
    for (operator, keys) in b {
        let Value::Object(keys) = keys else { continue };
        let into = a
            .entry(operator)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(into) = into else { continue };
        for (key, values) in keys {
            match into.get_mut(&key) {
                None => {
                    into.insert(key, values);
                }
                Some(old) => {
                    let mut all = as_list(old.take());
                    union(&mut all, as_list(values));
                    *old = if all.len() == 1 {
                        all.remove(0)
                    } else {
                        Value::Array(all)
                    };
                }
            }
        }
    }
    Value::Object(a)
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// The IAM action an SDK operation needs. Most are `prefix:Operation`; S3, S3 Control
/// and a few others name them differently (Service Authorization Reference).
pub fn iam_action(service: &str, operation: &str) -> String {
    let prefix = match service {
        "S3" | "S3 Control" => "s3",
        "CloudWatch Logs" => "logs",
        "EventBridge" => "events",
        "AccessAnalyzer" => "access-analyzer",
        "Config Service" => "config",
        other => return format!("{}:{operation}", other.to_ascii_lowercase()),
    };
    let action = match (service, operation) {
        ("S3", "ListBuckets") => "ListAllMyBuckets",
        ("S3", "HeadBucket") => "ListBucket",
        ("S3", "HeadObject") => "GetObject",
        ("S3", "GetBucketEncryption") => "GetEncryptionConfiguration",
        ("S3", "PutBucketEncryption") => "PutEncryptionConfiguration",
        ("S3", "GetBucketLifecycleConfiguration") => "GetLifecycleConfiguration",
        ("S3", "PutBucketLifecycleConfiguration") => "PutLifecycleConfiguration",
        ("S3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("S3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("S3 Control", "GetPublicAccessBlock") => "GetAccountPublicAccessBlock",
        ("S3 Control", "PutPublicAccessBlock") => "PutAccountPublicAccessBlock",
        (_, op) => op,
    };
    format!("{prefix}:{action}")
}

/// Every action of a policy document, and whether `action` is one of them.
pub fn allows(policy: &Value, action: &str) -> bool {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| as_list(s["Action"].clone()))
        .any(|a| a.as_str() == Some(action))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arns() -> Arns {
        Arns {
            partition: "aws-cn".into(),
            account: "123456789012".into(),
        }
    }

    #[test]
    fn the_member_role_gets_the_accounts_settings_but_not_the_managements_own_steps() {
        let b = Baseline::parse(
            "[organization]\nenabled = true\ndelegated_admin = \"222222222222\"\n\
             log_archive = \"333333333333\"\n\
             [password_policy]\nenabled = true\n\
             [guardduty]\nenabled = true\n\
             [log_key]\nenabled = true\n[log_buckets]\nenabled = true\n\
             [cloudtrail]\nenabled = true\n[config]\nenabled = true\n",
            std::path::Path::new("org.toml"),
        )
        .unwrap();
        let registry = crate::controls::registry();
        let caller = policy(&b, &registry, &arns(), Purpose::Apply, vec![]);
        let member = member_policy(&b, &registry, &arns(), Purpose::Apply);
        for action in [
            "iam:UpdateAccountPasswordPolicy",
            "guardduty:CreateDetector",
            "guardduty:UpdateOrganizationConfiguration",
            "config:PutConfigurationRecorder",
            "s3:CreateBucket",
            "kms:CreateKey",
        ] {
            assert!(
                allows(&caller, action),
                "the caller's policy lacks {action}"
            );
            assert!(allows(&member, action), "the member policy lacks {action}");
        }
        for action in [
            "sts:AssumeRole",
            "organizations:ListOrganizationalUnitsForParent",
            "organizations:EnableAWSServiceAccess",
            "guardduty:EnableOrganizationAdminAccount",
            "cloudtrail:CreateTrail",
        ] {
            assert!(
                allows(&caller, action),
                "the caller's policy lacks {action}"
            );
            assert!(
                !allows(&member, action),
                "the member policy allows {action}"
            );
        }
    }

    #[test]
    fn an_organization_adds_its_listing_and_the_member_role() {
        let b = Baseline::parse(
            "[organization]\nenabled = true\nmember_role = \"AWSControlTowerExecution\"\n",
            std::path::Path::new("org.toml"),
        )
        .unwrap();
        let apply = policy(
            &b,
            &crate::controls::registry(),
            &arns(),
            Purpose::Apply,
            vec![],
        )
        .to_string();
        assert!(apply.contains("organizations:ListAccounts"), "{apply}");
        assert!(
            apply.contains("arn:aws-cn:iam::*:role/AWSControlTowerExecution"),
            "{apply}"
        );
        let plan = policy(
            &b,
            &crate::controls::registry(),
            &arns(),
            Purpose::Plan,
            vec![],
        )
        .to_string();
        assert!(
            plan.contains("organizations:ListAccounts") && !plan.contains("sts:AssumeRole"),
            "{plan}"
        );
    }

    #[test]
    fn arns_carry_the_partition_and_account() {
        let a = arns();
        assert_eq!(
            a.regional("sns", "alerts"),
            "arn:aws-cn:sns:*:123456789012:alerts"
        );
        assert_eq!(a.iam("role/x"), "arn:aws-cn:iam::123456789012:role/x");
        assert_eq!(a.s3("b/*"), "arn:aws-cn:s3:::b/*");
    }

    #[test]
    fn grants_of_one_sid_merge_and_plan_keeps_only_reads() {
        let grants = vec![
            Grant::write("Roles", &["iam:PassRole"])
                .on(["r1"])
                .when(json!({"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}})),
            Grant::write("Roles", &["iam:PassRole"])
                .on(["r2"])
                .when(json!({"StringEquals": {"iam:PassedToService": "config.amazonaws.com"}})),
            Grant::read("Read", &["iam:GetRole"]),
        ];
        let apply = document(grants.clone(), Purpose::Apply);
        assert_eq!(
            apply["Statement"][0],
            json!({
                "Sid": "Roles", "Effect": "Allow", "Action": "iam:PassRole",
                "Resource": ["r1", "r2"],
                "Condition": {"StringEquals": {"iam:PassedToService": [
                    "events.amazonaws.com", "config.amazonaws.com"
                ]}}
            })
        );
        let plan = document(grants, Purpose::Plan);
        assert_eq!(plan["Statement"].as_array().unwrap().len(), 1);
        assert!(allows(&plan, "iam:GetRole"));
        assert!(!allows(&plan, "iam:PassRole"));
    }

    #[test]
    fn sdk_operations_map_to_iam_actions() {
        assert_eq!(iam_action("S3", "ListBuckets"), "s3:ListAllMyBuckets");
        assert_eq!(iam_action("S3", "HeadBucket"), "s3:ListBucket");
        assert_eq!(
            iam_action("S3 Control", "PutPublicAccessBlock"),
            "s3:PutAccountPublicAccessBlock"
        );
        assert_eq!(
            iam_action("S3", "PutPublicAccessBlock"),
            "s3:PutBucketPublicAccessBlock"
        );
        assert_eq!(
            iam_action("Config Service", "PutDeliveryChannel"),
            "config:PutDeliveryChannel"
        );
        assert_eq!(
            iam_action("CloudWatch Logs", "CreateLogGroup"),
            "logs:CreateLogGroup"
        );
        assert_eq!(
            iam_action("CloudWatch", "PutMetricAlarm"),
            "cloudwatch:PutMetricAlarm"
        );
        assert_eq!(iam_action("Inspector2", "Enable"), "inspector2:Enable");
        assert_eq!(
            iam_action("AccessAnalyzer", "ListAnalyzers"),
            "access-analyzer:ListAnalyzers"
        );
    }

    #[test]
    fn reports_to_s3_get_put_object_on_their_prefix_only() {
        let g = report_grant(
            &arns(),
            &[
                "s3://reports/baseline/{time}.json".into(),
                "local.html".into(),
            ],
        )
        .unwrap();
        assert_eq!(g.resources, vec!["arn:aws-cn:s3:::reports/baseline/*"]);
        assert!(report_grant(&arns(), &["local.json".into()]).is_none());
    }
}
