//! Names and ARNs that more than one control must agree on: the log group a trail
//! delivers to and the role it writes through are made by `cloudtrail_logs` and named
//! on the trail by `cloudtrail`.

use super::account::Account;

/// The role CloudTrail writes to the trail's log group through.
pub const TRAIL_LOGS_ROLE: &str = "baseline-cloudtrail-logs";

/// The log group a trail delivers to.
pub fn trail_group_name(trail: &str) -> String {
    format!("/baseline/cloudtrail/{trail}")
}

pub fn trail_group_arn(account: &Account, trail: &str) -> String {
    format!(
        "arn:{}:logs:{}:{}:log-group:{}:*",
        account.partition,
        account.home_region,
        account.id,
        trail_group_name(trail)
    )
}

pub fn trail_logs_role_arn(account: &Account) -> String {
    format!(
        "arn:{}:iam::{}:role/{TRAIL_LOGS_ROLE}",
        account.partition, account.id
    )
}

/// The region the AWS Chatbot API is called in: it is a global service whose API answers
/// in a few regions only.
pub fn chatbot_region(_partition: &str) -> &'static str {
    "us-east-2"
}
