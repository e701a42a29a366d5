//! baseline: bring an AWS account to a security baseline and keep it there.
//!
//! Data flows one way: baseline file → desired state; live account → observed state;
//! (desired, observed) → plan; plan → apply → report.

pub mod aws;
pub mod baseline;
pub mod controls;
pub mod engine;
pub mod error;
pub mod graph;
pub mod html;
pub mod merge;
pub mod org_run;
pub mod organization;
pub mod permissions;
pub mod plan;
pub mod render;
pub mod report;
pub mod toolkit;
