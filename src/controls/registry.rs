//! The list of controls. Their dependencies ([`Control::AFTER`]) are checked here when
//! the crate is built: every name must be a control, and no control may come after
//! itself.

use super::{Control, DynControl, register};
use super::{
    access_analyzer, chatbot, cloudtrail, cloudtrail_logs, config, config_aggregator,
    config_retention, default_vpc, delegated_admin, detective, ebs_encryption, guardduty,
    iam_credentials, inspector, log_buckets, log_key, notifications, org_configuration,
    password_policy, s3_block_public_access, security_contact, security_hub, webhooks,
};
use crate::graph;
use std::sync::Arc;

macro_rules! controls {
    ($($control:ty),* $(,)?) => {
        /// Every control. The order is only the order of the table in `baseline
        /// permissions`; the apply order comes from each control's `AFTER`.
        pub fn registry() -> Vec<Arc<dyn DynControl>> {
            vec![$(register::<$control>()),*]
        }

        const GRAPH: &[(&str, &[&str])] = &[$((<$control as Control>::NAME, <$control as Control>::AFTER)),*];
        const _: () = assert!(
            graph::names_known(GRAPH),
            "a control's AFTER names no registered control"
        );
        const _: () = assert!(
            graph::acyclic(GRAPH),
            "the controls' AFTER lists form a cycle"
        );
    };
}

controls![
    password_policy::PasswordPolicy,
    s3_block_public_access::S3BlockPublicAccess,
    ebs_encryption::EbsEncryption,
    security_contact::SecurityContact,
    default_vpc::DefaultVpc,
    guardduty::GuardDuty,
    access_analyzer::AccessAnalyzer,
    security_hub::SecurityHub,
    detective::Detective,
    inspector::Inspector,
    delegated_admin::DelegatedAdmin,
    org_configuration::OrgConfiguration,
    log_key::LogKey,
    notifications::Notifications,
    notifications::Forwarding,
    chatbot::Chatbot,
    webhooks::Webhooks,
    log_buckets::LogBuckets,
    config::ConfigRole,
    cloudtrail_logs::CloudTrailLogs,
    cloudtrail::CloudTrail,
    cloudtrail_logs::RootUsageAlarm,
    config::Config,
    config_aggregator::ConfigAggregator,
    config_retention::ConfigRetention,
    iam_credentials::IamCredentials,
];
