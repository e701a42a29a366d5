//! Pieces the controls share: the account, KMS keys, IAM roles for services, EventBridge
//! rules, policy documents. The toolkit uses no control; controls use it, never each
//! other.

pub mod account;
pub mod alerts;
pub mod events_rule;
pub mod iam_role;
pub mod kms;
pub mod names;
pub mod policy;
