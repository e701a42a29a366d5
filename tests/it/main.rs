//! One integration binary: the emulator fixture, end-to-end CLI tests, snapshots.

mod audit_trail;
mod baselines;
mod cli;
mod credentials;
mod dependencies;
mod emulator;
mod examples;
mod fleet;
mod guardduty;
mod interrupted;
mod keep_in_place;
mod organization;
mod permissions;
mod races;
mod startup;
mod strict_emulator;
mod threat_detection;
mod webhooks;
