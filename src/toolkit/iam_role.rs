//! IAM roles of ours that a service assumes, each with one inline policy: observed,
//! planned (trust and policy compared as documents) and created or corrected.

use crate::error::{AwsError, aws_err};
use crate::permissions::Grant;
use crate::plan::{Action, Applied, Proposal};
use serde_json::{Value, json};

/// A role's trust policy: `service` may assume it, under `condition` when given (the
/// confused-deputy keys a service documents, such as `aws:SourceAccount`).
pub fn service_trust(service: &str, condition: Option<Value>) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": { "Service": service },
        "Action": "sts:AssumeRole"
    });
    if let Some(c) = condition {
        statement["Condition"] = c;
    }
    json!({ "Version": crate::toolkit::policy::VERSION, "Statement": [statement] })
}

/// A role as found: its trust policy and its one inline policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub trust: Option<Value>,
    pub policy: Option<Value>,
}

/// What observing and keeping one of our roles (with its inline policy) calls.
pub fn role_grant(role: String) -> Grant {
    Grant::write(
        "RolesItOwns",
        &[
            "iam:CreateRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePolicy",
        ],
    )
    .and_read(&["iam:GetRole", "iam:GetRolePolicy"])
    .on([role])
}

/// IAM returns policy documents URL-encoded.
fn decode_policy(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let mut bytes = Vec::with_capacity(text.len());
        let raw = text.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'%' if i + 2 < raw.len() => {
                    let hex = std::str::from_utf8(&raw[i + 1..i + 3]).ok()?;
                    bytes.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 3;
                }
                b'+' => {
                    bytes.push(b' ');
                    i += 1;
                }
                b => {
                    bytes.push(b);
                    i += 1;
                }
            }
        }
        serde_json::from_slice(&bytes).ok()
    })
}

/// A role of ours and its one inline policy; None when the role does not exist.
pub async fn observe_role(
    iam: &aws_sdk_iam::Client,
    role: &str,
    policy_name: &str,
) -> Result<Option<Role>, AwsError> {
    match iam.get_role().role_name(role).send().await {
        Ok(out) => {
            let trust = out
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .and_then(decode_policy);
            let inline = match iam
                .get_role_policy()
                .role_name(role)
                .policy_name(policy_name)
                .send()
                .await
            {
                Ok(p) => decode_policy(p.policy_document()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    None
                }
                Err(e) => return Err(aws_err("iam:GetRolePolicy")(e)),
            };
            Ok(Some(Role {
                trust,
                policy: inline,
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err("iam:GetRole")(e)),
    }
}

/// The proposal that gives a role of ours its trust and inline policy. The operation is
/// (create, trust to set, policy to set).
pub fn role_proposal(
    address: String,
    trust: &Value,
    inline: &Value,
    live: Option<&Role>,
) -> Proposal<(bool, Option<String>, Option<String>)> {
    match live {
        None => Proposal::new(address, Action::Create)
            .after(json!({ "trust": trust, "policy": inline }))
            .op((true, Some(trust.to_string()), Some(inline.to_string()))),
        Some(r) => {
            let trust_ok = r.trust.as_ref() == Some(trust);
            let policy_ok = r.policy.as_ref() == Some(inline);
            if trust_ok && policy_ok {
                Proposal::new(address, Action::NoOp)
            } else {
                Proposal::new(address, Action::Update)
                    .before(json!({ "trust": r.trust, "policy": r.policy }))
                    .after(json!({ "trust": trust, "policy": inline }))
                    .op((
                        false,
                        (!trust_ok).then(|| trust.to_string()),
                        (!policy_ok).then(|| inline.to_string()),
                    ))
            }
        }
    }
}

/// Creates or corrects a role of ours and its inline policy.
pub async fn put_role(
    iam: &aws_sdk_iam::Client,
    role: &str,
    policy_name: &str,
    description: &str,
    create: bool,
    trust: Option<&str>,
    policy: Option<&str>,
) -> Result<Applied, AwsError> {
    if let Some(trust) = trust {
        if create {
            match iam
                .create_role()
                .role_name(role)
                .description(description)
                .assume_role_policy_document(trust)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_entity_already_exists_exception()) => {}
                Err(e) => return Err(aws_err("iam:CreateRole")(e)),
            }
        } else {
            iam.update_assume_role_policy()
                .role_name(role)
                .policy_document(trust)
                .send()
                .await
                .map_err(aws_err("iam:UpdateAssumeRolePolicy"))?;
        }
    }
    if let Some(policy) = policy {
        iam.put_role_policy()
            .role_name(role)
            .policy_name(policy_name)
            .policy_document(policy)
            .send()
            .await
            .map_err(aws_err("iam:PutRolePolicy"))?;
    }
    Ok(Applied::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_policies_are_read() {
        let doc = decode_policy("%7B%22Version%22%3A%222012-10-17%22%7D").unwrap();
        assert_eq!(doc, json!({"Version": "2012-10-17"}));
    }
}
