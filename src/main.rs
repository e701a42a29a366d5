use anyhow::Context as _;
use baseline::aws::{ConnectOptions, Session, Timeouts};
use baseline::baseline::Baseline;
use baseline::controls::Control as _;
use baseline::engine::{self, Context};
use baseline::plan::ApplyReport;
use baseline::render::{self, Style};
use baseline::{html, org_run, report};
use clap::Parser;
use cli::{Cli, Color, Command, Output};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

mod cli;
mod report_cmd;

/// Exit codes, as terraform's `-detailed-exitcode`.
const EXIT_OK: u8 = 0;
const EXIT_ERROR: u8 = 1;
const EXIT_CHANGES: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap would exit 2 on a usage error, which means "changes" here.
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK });
        }
    };
    init_tracing(&cli);
    let verbose = cli.global.verbose > 0;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprint!("{}", error_text(&e, verbose));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// An error as the user reads it: one sentence, then each cause once (a cause that only
/// repeats the line above is left out). A failed start says what to do in its sentence;
/// its SDK detail is shown with `-v`.
fn error_text(e: &anyhow::Error, verbose: bool) -> String {
    let mut lines = vec![format!("error: {e}")];
    let mut said = vec![e.to_string()];
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !said.iter().any(|s| s.contains(&text)) {
            lines.push(format!("Caused by: {text}"));
            said.push(text);
        }
    }
    if let Some(err) = e.downcast_ref::<baseline::error::Error>() {
        match (err.detail(), verbose) {
            ([], _) => {}
            (detail, true) => lines.extend(detail.iter().map(|d| format!("Caused by: {d}"))),
            (_, false) => lines.push("(run with -v for the detail)".to_owned()),
        }
    }
    lines.join("\n") + "\n"
}

fn init_tracing(cli: &Cli) {
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("BASELINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("baseline={level}")));
    // The SDK's orchestrator logs whole requests and answers at debug and trace, secrets
    // included (a webhook's URL in CreateApiDestination): never below info, whatever
    // BASELINE_LOG says.
    for target in [
        "aws_smithy_runtime",
        "aws_smithy_runtime_api",
        "aws_smithy_http_client",
        "aws_sdk_eventbridge",
    ] {
        if let Ok(d) = format!("{target}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .with_target(false)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let g = &cli.global;
    let style = Style {
        color: match g.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        },
    };
    let (run, apply) = match &cli.command {
        Command::Plan(run) => (run, None),
        Command::Apply(apply) => (&apply.run, Some(apply)),
        Command::Permissions(args) => return permissions(g, args).await,
        Command::Accounts(args) => return accounts(g, args).await,
        Command::Report(cli::ReportCommand::Merge(args)) => {
            return report_cmd::merge(g, args).await;
        }
    };
    let started = std::time::Instant::now();
    let started_at = report::now();
    // The baseline is read and validated before any AWS call.
    let baseline = Arc::new(Baseline::load_for_run(&run.baseline)?);
    let baseline_file = report::BaselineFile {
        path: run.baseline.display().to_string(),
        sha256: report::sha256_hex(&std::fs::read(&run.baseline).unwrap_or_default()),
    };

    let mut only = run.accounts.clone();
    let mut from_file = Vec::new();
    let remote_file = run
        .account_file
        .as_deref()
        .filter(|f| f.starts_with("s3://"));
    if let Some(file) = run
        .account_file
        .as_deref()
        .filter(|_| remote_file.is_none())
    {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("{file}: cannot read the account file: {e}"))?;
        from_file = read_account_file(file, &text)?;
    }
    only.extend(from_file.iter().map(|(id, _)| id.clone()));
    check_account_ids(&only)?;
    let organization = baseline.organization.as_ref().filter(|o| o.enabled);
    let flag = [
        (!run.accounts.is_empty(), "--account"),
        (run.account_file.is_some(), "--account-file"),
        (run.org_only, "--org-only"),
    ]
    .into_iter()
    .find_map(|(used, flag)| used.then_some(flag));
    if let (None, Some(flag)) = (organization, flag) {
        anyhow::bail!(
            "{flag} needs an enabled [organization] table in {}",
            run.baseline.display()
        );
    }
    let central_logs = organization.is_some_and(|o| o.log_archive.is_some());

    let session = connect(g).await?;
    if let Some(file) = remote_file {
        // A shard's file in S3 (what `baseline accounts --write-shards s3://…` wrote).
        let bytes = report_cmd::read_uri(&session, file).await?;
        from_file = read_account_file(file, &String::from_utf8_lossy(&bytes))?;
        only.extend(from_file.iter().map(|(id, _)| id.clone()));
        check_account_ids(&only)?;
    }
    let session = Arc::new(session);
    let ctx = Context::discover(session.clone(), &baseline).await?;
    let mut controls = baseline::controls::registry();
    // A shard leaves the organization's steps to --org-only, which works on the accounts
    // that hold them, whole (their steps need the account's own detector, hub, buckets).
    if run.account_file.is_some() {
        controls.retain(|c| !c.seat().organization_step(central_logs));
    }
    if let Some(config) = organization.filter(|_| run.org_only) {
        // The organization's steps are held by these accounts only.
        only = std::iter::once(ctx.account.clone())
            .chain(config.delegated_admin.iter().map(|a| a.0.clone()))
            .chain(config.log_archive.iter().map(|a| a.0.clone()))
            .collect();
    }

    let progress = progress_bar(g.quiet);
    let scope = match organization {
        None => Scope::One(engine::plan(&ctx, &baseline, &controls, &progress).await),
        Some(config) => {
            let caller = baseline::aws::Caller {
                account: ctx.account.clone(),
                partition: ctx.partition.clone(),
            };
            let selection = match &run.account_file {
                // A shard takes its accounts from its file, which `baseline accounts` wrote
                // from the organization's listing minutes before: thousands of shards do
                // not each page through ListAccounts (20 accounts a page, throttled per
                // organization). exclude_accounts and `accounts` still apply; an account
                // suspended since the listing fails alone, at its role.
                Some(_) => {
                    let listed = baseline::organization::listed_from_file(&only, &from_file);
                    baseline::organization::select(config, &listed, None, &only)
                }
                None => select_accounts(&session, &caller, config, &only).await?,
            };
            // With a log archive, its buckets and key let the organization write: by id.
            let org_id = match &config.log_archive {
                Some(_) => Some(
                    baseline::organization::organization_id(
                        &session.organizations(&caller.partition),
                    )
                    .await?,
                ),
                None => None,
            };
            let runs = org_run::plan(
                &ctx,
                baseline::organization::Seats::of(config, &ctx.account, org_id),
                &caller,
                &config.member_role.0,
                &baseline,
                &controls,
                org_run::members(&caller, &selection.targeted),
                run.account_concurrency.into(),
                &progress,
            )
            .await;
            let merged = org_run::merged(&ctx, &runs, &selection.skipped);
            Scope::Organization { runs, merged }
        }
    };
    let plan = scope.plan();
    tracing::info!(requests = session.requests(), "observed");

    let Some(apply) = apply else {
        print_out(match g.output {
            Output::Text => scope.text(style),
            Output::Json => render::plan_json(plan),
            Output::Html => html::page(plan, None, &report::now()),
        });
        let findings = run.fail_on_findings && has_findings(plan);
        return Ok(exit_code(
            !plan.failures.is_empty(),
            plan.has_changes() || findings,
            run.detailed_exitcode,
        ));
    };

    if g.output == Output::Text {
        print_out(scope.text(style));
    }
    let mut results = Vec::new();
    let mut cancelled = false;
    if plan.has_changes() {
        if apply.auto_approve || confirm()? {
            let text = g.output == Output::Text;
            let on_done = |r: &baseline::plan::AppliedChange| {
                if text {
                    print_out(format!("{}\n", render::applied_line(r, style)));
                }
            };
            results = match &scope {
                Scope::One(plan) => engine::apply(&ctx, plan, &controls, &on_done).await,
                Scope::Organization { runs, .. } => {
                    org_run::apply(runs, &controls, run.account_concurrency.into(), &on_done).await
                }
            };
        } else {
            eprintln!("Apply cancelled: nothing was changed.");
            cancelled = true;
        }
    }
    let outcome = ApplyReport {
        plan: scope.into_plan(),
        results,
    };
    let applied = outcome
        .results
        .iter()
        .any(|r| matches!(r.outcome, baseline::plan::Outcome::Applied));
    let code = if cancelled {
        EXIT_ERROR
    } else {
        let findings = run.fail_on_findings && has_findings(&outcome.plan);
        exit_code(
            outcome.failed() > 0,
            applied || findings,
            run.detailed_exitcode,
        )
    };
    if !cancelled {
        match g.output {
            Output::Text if outcome.plan.has_changes() => {
                print_out(render::apply_summary(&outcome, style))
            }
            Output::Text => {}
            Output::Json => print_out(render::apply_json(&outcome)),
            Output::Html => print_out(html::page(
                &outcome.plan,
                Some(&outcome.results),
                &report::now(),
            )),
        }
    }
    // 2026-11-23T03:00:00.123Z → 2026-11-23T03-00-00Z: safe in file names and S3 keys.
    let stamp = format!(
        "{}Z",
        started_at
            .trim_end_matches('Z')
            .split('.')
            .next()
            .unwrap_or_default()
            .replace(':', "-")
    );
    if let Some(dest) = &apply.report {
        let facts = report::RunFacts {
            command: "apply",
            baseline: baseline_file,
            started_at,
            finished_at: report::now(),
            seconds: started.elapsed().as_secs_f64(),
            requests: session.requests(),
            exit_code: code,
        };
        let doc = report::build(&outcome.plan, &outcome.results, facts);
        let json = serde_json::to_string_pretty(&doc).expect("the report always serializes") + "\n";
        write_output(
            &ctx,
            &dest.replace("{time}", &stamp),
            json,
            "application/json",
        )
        .await?;
    }
    if let Some(dest) = &apply.report_html {
        let page = html::page(&outcome.plan, Some(&outcome.results), &report::now());
        write_output(
            &ctx,
            &dest.replace("{time}", &stamp),
            page,
            "text/html; charset=utf-8",
        )
        .await?;
    }
    Ok(code)
}

/// What a run plans: the credentials' own account, or the accounts of an organization.
enum Scope {
    One(baseline::plan::Plan),
    Organization {
        runs: Vec<org_run::AccountRun>,
        /// Every account's plan as one, for JSON, HTML, the report and the apply.
        merged: baseline::plan::Plan,
    },
}

impl Scope {
    fn plan(&self) -> &baseline::plan::Plan {
        match self {
            Scope::One(plan) => plan,
            Scope::Organization { merged, .. } => merged,
        }
    }

    fn into_plan(self) -> baseline::plan::Plan {
        match self {
            Scope::One(plan) => plan,
            Scope::Organization { merged, .. } => merged,
        }
    }

    /// The text plan; for an organization, each account's under its own heading, then
    /// the organization's summary.
    fn text(&self, style: Style) -> String {
        match self {
            Scope::One(plan) => render::plan_text(plan, style),
            Scope::Organization { runs, merged } => render::organization_text(
                &runs
                    .iter()
                    .map(|r| match &r.outcome {
                        Ok((_, plan)) => Ok(org_run::account_plan(&r.member.id, plan)),
                        Err(reason) => Err((r.member.id.clone(), reason.clone())),
                    })
                    .collect::<Vec<_>>(),
                merged,
                style,
            ),
        }
    }
}

/// `--account-file`: the `account` of `baseline accounts`' JSON lines (or `id`), or one
/// id per line.
fn read_account_file(path: &str, text: &str) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let id = match line.starts_with('{') {
            true => serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| {
                    let name = v["name"].as_str().map(str::to_owned);
                    v["account"]
                        .as_str()
                        .or(v["id"].as_str())
                        .map(|id| (id.to_owned(), name))
                }),
            false => Some((line.to_owned(), None)),
        };
        match id {
            Some(id) => ids.push(id),
            None => anyhow::bail!(
                "{}:{}: expected a JSON line with an \"account\" (as `baseline accounts` prints) or an account id",
                path,
                n + 1
            ),
        }
    }
    if ids.is_empty() {
        anyhow::bail!("{}: the account file names no account", path);
    }
    Ok(ids)
}

fn check_account_ids(ids: &[String]) -> anyhow::Result<()> {
    if let Some(bad) = ids
        .iter()
        .find(|a| !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())))
    {
        anyhow::bail!("--account {bad:?}: expected a 12-digit account id");
    }
    Ok(())
}

/// The accounts `[organization]` targets, from the management account's listing.
async fn select_accounts(
    session: &Session,
    caller: &baseline::aws::Caller,
    config: &baseline::organization::OrganizationConfig,
    only: &[String],
) -> anyhow::Result<baseline::organization::Selection> {
    use baseline::organization;
    let client = session.organizations(&caller.partition);
    let (listed, under) = organization::list(&client, &config.organizational_units).await?;
    Ok(organization::select(config, &listed, under.as_ref(), only))
}

/// `baseline accounts`: the targeted accounts as JSON lines on stdout, the skipped ones on
/// stderr.
async fn accounts(g: &cli::Global, args: &cli::AccountsArgs) -> anyhow::Result<u8> {
    use baseline::organization;
    let baseline = Baseline::load(&args.baseline)?;
    let Some(config) = baseline.organization.as_ref().filter(|o| o.enabled) else {
        anyhow::bail!(
            "{}: the baseline has no enabled [organization] table: nothing to list",
            args.baseline.display()
        );
    };
    check_account_ids(&args.accounts)?;
    let session = connect(g).await?;
    let region = baseline
        .home_region
        .as_ref()
        .map(|r| r.0.clone())
        .or_else(|| session.configured_region())
        .ok_or(baseline::error::Error::NoRegion)?;
    let caller = session.caller(&region).await?;
    let selection = select_accounts(&session, &caller, config, &args.accounts).await?;
    let shards = args.shards.map(usize::from);
    // With --check-roles: every account's role tried at once (the session's bound holds).
    let roles: Vec<Option<String>> = if args.check_roles {
        futures::future::join_all(selection.targeted.iter().map(|a| {
            let (session, caller, region) = (&session, &caller, &region);
            async move {
                if a.id == caller.account {
                    return Some("ok".to_owned());
                }
                let member = session
                    .assume(&caller.partition, &a.id, &config.member_role.0)
                    .await;
                Some(match member.caller(region).await {
                    Ok(c) if c.account == a.id => "ok".to_owned(),
                    Ok(c) => format!("the role answered as account {}", c.account),
                    Err(e) => format!("cannot use {}: {e}", config.member_role.0),
                })
            }
        }))
        .await
    } else {
        vec![None; selection.targeted.len()]
    };
    let mut failed = false;
    let mut out = String::new();
    let mut by_shard: std::collections::BTreeMap<usize, String> = Default::default();
    for (a, role) in selection.targeted.iter().zip(roles) {
        let mut line = serde_json::json!({ "account": a.id, "name": a.name });
        if let Some(n) = shards {
            let shard = organization::shard_of(&a.id, n);
            line["shard"] = shard.into();
            by_shard
                .entry(shard)
                .or_default()
                .push_str(&format!("{line}\n"));
        }
        if let Some(role) = role {
            failed |= role != "ok";
            line["role"] = role.into();
        }
        out.push_str(&format!("{line}\n"));
    }
    if let Some(dest) = &args.write_shards {
        let dest = dest.trim_end_matches('/');
        let mut manifest = Vec::new();
        for (shard, lines) in &by_shard {
            let file = format!("{dest}/shard-{shard:04}.jsonl");
            manifest.push(serde_json::json!({
                "shard": shard,
                "accounts": lines.lines().count(),
                "account_file": file,
            }));
            report_cmd::write_uri(&session, &file, lines.clone(), "application/x-ndjson").await?;
        }
        let manifest = serde_json::to_string_pretty(&manifest).expect("JSON") + "\n";
        report_cmd::write_uri(
            &session,
            &format!("{dest}/shards.json"),
            manifest,
            "application/json",
        )
        .await?;
    }
    print_out(out);
    for s in &selection.skipped {
        eprintln!(
            "skipped {}{}: {}",
            s.id,
            s.name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            s.reason
        );
    }
    Ok(if failed { 1 } else { 0 })
}

/// `baseline permissions`: the policy on stdout. The only AWS call, when the account is
/// not given, is sts:GetCallerIdentity.
async fn permissions(g: &cli::Global, args: &cli::PermissionsArgs) -> anyhow::Result<u8> {
    use baseline::permissions::{self, Arns, Purpose};
    let baseline = Baseline::load(&args.baseline)?;
    if let Some(a) = &args.account
        && a != "*"
        && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    {
        anyhow::bail!("--account {a:?}: expected a 12-digit account id or *");
    }
    let region = baseline
        .home_region
        .as_ref()
        .map(|r| r.0.clone())
        .or_else(|| g.region.clone());
    let arns = match (&args.account, &args.partition) {
        (Some(account), partition) => Arns {
            account: account.clone(),
            partition: partition.clone().unwrap_or_else(|| {
                baseline::aws::partition_of(region.as_deref().unwrap_or("us-east-1")).to_owned()
            }),
        },
        (None, partition) => {
            let session = connect(g).await?;
            let region = region
                .or_else(|| session.configured_region())
                .ok_or(baseline::error::Error::NoRegion)?;
            let caller = session.caller(&region).await?;
            Arns {
                account: caller.account,
                partition: partition.clone().unwrap_or(caller.partition),
            }
        }
    };
    let purpose = match args.purpose {
        cli::Purpose::Plan => Purpose::Plan,
        cli::Purpose::Apply => Purpose::Apply,
    };
    let extra = permissions::report_grant(&arns, &args.report)
        .into_iter()
        .collect();
    let registry = baseline::controls::registry();
    let doc = if args.member {
        if !baseline.organization.as_ref().is_some_and(|o| o.enabled) {
            anyhow::bail!(
                "--member needs an enabled [organization] table in {}",
                args.baseline.display()
            );
        }
        permissions::member_policy(&baseline, &registry, &arns, purpose)
    } else {
        permissions::policy(&baseline, &registry, &arns, purpose, extra)
    };
    print_out(serde_json::to_string_pretty(&doc).expect("a policy always serializes"));
    Ok(EXIT_OK)
}

async fn connect(g: &cli::Global) -> anyhow::Result<Session> {
    Ok(Session::connect(&ConnectOptions {
        profile: g.profile.clone(),
        region: g.region.clone(),
        endpoint_url: g.endpoint_url.clone(),
        concurrency: g.concurrency.into(),
        max_attempts: g.max_attempts,
        timeouts: Timeouts {
            connect: Duration::from_secs(g.connect_timeout),
            attempt: Duration::from_secs(g.attempt_timeout),
            operation: Duration::from_secs(g.operation_timeout),
        },
    })
    .await?)
}

/// Writes a report to a file, or to S3 for `s3://bucket/key` (through the home region).
async fn write_output(
    ctx: &Context,
    dest: &str,
    body: String,
    content_type: &str,
) -> anyhow::Result<()> {
    if !dest.starts_with("s3://") {
        return std::fs::write(dest, body).with_context(|| format!("cannot write {dest}"));
    }
    report_cmd::put(&ctx.session.s3(&ctx.home_region), dest, body, content_type).await
}

/// The credential review found something (a finding is kept with its reason).
fn has_findings(plan: &baseline::plan::Plan) -> bool {
    plan.changes.iter().any(|c| {
        c.control == baseline::controls::iam_credentials::IamCredentials::NAME
            && c.action == baseline::plan::Action::Kept
    })
}

fn exit_code(failed: bool, changes: bool, detailed: bool) -> u8 {
    match (failed, changes && detailed) {
        (true, _) => EXIT_ERROR,
        (false, true) => EXIT_CHANGES,
        (false, false) => EXIT_OK,
    }
}

fn print_out(text: String) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos}/{len} targets [{elapsed}]")
            .expect("the template is valid"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn confirm() -> anyhow::Result<bool> {
    eprint!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the answer")?;
    Ok(line.trim() == "yes")
}
