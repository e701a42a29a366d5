//! The command line: clap definitions only.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "baseline",
    version,
    about = "Bring an AWS account to a security baseline and keep it there"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Named profile from the shared AWS config and credentials files.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// The configured region: where account-wide settings live unless the baseline sets
    /// home_region.
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Send every AWS request to this endpoint (a local emulator, for example).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Output format of results on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// When to colour text output (NO_COLOR is honoured with auto).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Most AWS requests in flight at once.
    #[arg(long, global = true, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub concurrency: u16,
    /// Attempts per AWS request, including the first (standard retry mode, with backoff).
    #[arg(long, global = true, env = "AWS_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// Seconds to open a connection to AWS.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub connect_timeout: u64,
    /// Seconds one attempt of a request may take (it is then retried).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub attempt_timeout: u64,
    /// Seconds one request may take with all its retries: no call of a scheduled run
    /// waits longer, so the run always ends and says what timed out.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 180, value_parser = clap::value_parser!(u64).range(1..=7200))]
    pub operation_timeout: u64,
    /// More log detail on stderr (-v, -vv), and the full cause of a failed start.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what would change to bring the account to the baseline.
    Plan(RunArgs),
    /// Show the plan, ask for confirmation, and make the changes.
    Apply(ApplyArgs),
    /// Print the least-privilege IAM policy (JSON) that `plan` or `apply` needs for the
    /// baseline's enabled settings and names, in the caller's partition and account.
    Permissions(PermissionsArgs),
    /// List, as JSON lines, the organization accounts the baseline's `[organization]`
    /// table targets (from the management account's credentials); skipped accounts and
    /// their reasons go to stderr.
    Accounts(AccountsArgs),
    /// Work on run reports (`apply --report`).
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Merge the reports of a fleet's shards (and its --org-only step) into one report and
    /// one HTML page, and print a summary for a chat or mail message (JSON with
    /// --output json). Reads no AWS account; S3 sources and destinations use the
    /// credentials' S3 access only.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Reports to merge: files, directories (every *.json in them, at any depth), or
    /// s3://bucket/prefix/ (every *.json key under it).
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// The shards' manifest (`shards.json`, as `baseline accounts --write-shards` wrote it:
    /// a file or s3://bucket/key): every account of its shard files must be covered by a
    /// report, or it is a failure of its missing shard, even when no report mentions it.
    #[arg(long, value_name = "FILE|s3://BUCKET/KEY")]
    pub expect: Option<String>,
    /// The previous merged report (file or s3://bucket/key): adds what changed since. Not
    /// there yet (the first week) is a warning, not an error.
    #[arg(long, value_name = "FILE|s3://BUCKET/KEY")]
    pub previous: Option<String>,
    /// Write the merged report here (file or s3://bucket/key). Repeatable: this week's run
    /// and `latest/`, say.
    #[arg(long, value_name = "FILE|s3://BUCKET/KEY")]
    pub report: Vec<String>,
    /// Write the merged HTML page here (file or s3://bucket/key). Repeatable.
    #[arg(long, value_name = "FILE|s3://BUCKET/KEY")]
    pub report_html: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// The baseline file.
    #[arg(long, short, env = "BASELINE_FILE", default_value = "baseline.toml")]
    pub baseline: PathBuf,
    /// Group the accounts into this many shards (by a hash of the account id, so an account keeps its shard): each line
    /// then carries its `shard`, 0 to N-1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub shards: Option<u16>,
    /// Only these accounts (repeatable).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Also assume `member_role` in each account (sts:AssumeRole, then
    /// sts:GetCallerIdentity): each line says `"role": "ok"` or the error, and the command
    /// exits 1 when a role cannot be used.
    #[arg(long)]
    pub check_roles: bool,
    /// With --shards: also write each shard's lines to DEST/shard-K.jsonl (a directory, or
    /// s3://bucket/prefix/) and DEST/shards.json, a JSON array of {"shard", "accounts",
    /// "account_file"}: the items a Step Functions Distributed Map reads.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX/", requires = "shards")]
    pub write_shards: Option<String>,
}

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    /// The baseline file.
    #[arg(long, short, env = "BASELINE_FILE", default_value = "baseline.toml")]
    pub baseline: PathBuf,
    /// The command the policy is for: `plan` gets only List and Read actions.
    #[arg(long = "for", value_enum, default_value_t = Purpose::Apply)]
    pub purpose: Purpose,
    /// The account the ARNs name (`*`: any). Default: the caller's, from
    /// sts:GetCallerIdentity, which is then the only AWS call.
    #[arg(long, value_name = "ID|*")]
    pub account: Option<String>,
    /// The partition the ARNs name (aws, aws-cn, aws-us-gov, …). Default: the caller's
    /// (with --account: the configured region's).
    #[arg(long)]
    pub partition: Option<String>,
    /// The policy of the organization's `member_role` instead of the caller's: what a run
    /// does in a member account through the role (no organization listing, no role
    /// assumption, none of the management account's own steps).
    #[arg(long, conflicts_with = "report")]
    pub member: bool,
    /// Where `apply --report` / `--report-html` will write (s3://bucket/key, `{time}` as
    /// given to apply): adds s3:PutObject on that key only. Repeatable.
    #[arg(long, value_name = "s3://BUCKET/KEY")]
    pub report: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Purpose {
    Plan,
    Apply,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not ask for confirmation (for schedulers).
    #[arg(long)]
    pub auto_approve: bool,
    /// Also write the run's report as JSON (schema: docs/report.schema.json): a file, or
    /// s3://bucket/key (in the home region). `{time}` in it becomes the start time.
    #[arg(long, value_name = "FILE|s3://BUCKET/KEY")]
    pub report: Option<String>,
    /// Also write the run as a self-contained HTML page (a file or s3://bucket/key).
    #[arg(long, value_name = "FILE|s3://BUCKET/KEY")]
    pub report_html: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The baseline file.
    #[arg(long, short, env = "BASELINE_FILE", default_value = "baseline.toml")]
    pub baseline: PathBuf,
    /// Exit 0 when nothing changes (or changed), 2 when there are changes, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// With --detailed-exitcode: exit 2 also when the credential review
    /// ([iam_credentials]) has findings, which otherwise change no exit code.
    #[arg(long, requires = "detailed_exitcode")]
    pub fail_on_findings: bool,
    /// With an enabled [organization]: only these accounts (repeatable), the unit of
    /// work a scheduler can shard on.
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// With an enabled [organization]: the accounts of one shard, as `baseline accounts`
    /// lists them (JSON lines with an "account", or one id per line). A shard works only on the
    /// settings of each account itself: the organization's steps are --org-only's.
    #[arg(long, value_name = "FILE|s3://BUCKET/KEY", conflicts_with = "org_only")]
    pub account_file: Option<String>,
    /// With an enabled [organization]: only the accounts that hold the organization's own
    /// steps (the management account, the delegated administrator, the log archive), each
    /// whole: run it once, before the shards.
    #[arg(long, conflicts_with = "accounts")]
    pub org_only: bool,
    /// With an enabled [organization]: most accounts worked on at once; --concurrency
    /// bounds the requests of all of them together.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub account_concurrency: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
    /// A self-contained HTML page (settings × regions).
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
