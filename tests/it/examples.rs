//! The deployment examples and the IAM policy: linted with the tools scripts/test.sh
//! installs (cfn-lint, check-jsonschema with its bundled GitHub workflow schema), and
//! checked against the rest of the project.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(name: &str) -> PathBuf {
    let path = root().join(".venv-emulator/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/test.sh (it installs the test tools)",
        path.display()
    );
    path
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts that `cfn-lint` passes the template at `path` (under the project's root).
fn assert_cfn_lint_passes(path: &str) {
    let out = Command::new(tool("cfn-lint"))
        .arg(root().join(path))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{path}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_cloudformation_template_passes_cfn_lint() {
    assert_cfn_lint_passes("examples/aws-native/baseline-weekly.template.json");
}

#[test]
fn the_template_schedules_saturdays_and_grants_exactly_the_shared_policy() {
    let t = read_json(&root().join("examples/aws-native/baseline-weekly.template.json"));
    let r = &t["Resources"];
    assert_eq!(r["WeeklySchedule"]["Type"], "AWS::Scheduler::Schedule");
    assert_eq!(
        r["WeeklySchedule"]["Properties"]["ScheduleExpression"],
        "cron(0 3 ? * SAT *)"
    );
    assert_eq!(
        r["BaselinePolicy"]["Properties"]["PolicyDocument"],
        read_json(&root().join("examples/iam-policy.json")),
        "the template's policy and examples/iam-policy.json differ"
    );
    let command = r["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Command"]
        .as_array()
        .unwrap();
    assert_eq!(command[0], "apply");
    assert!(command.iter().any(|c| c == "--auto-approve"));
    assert!(command.iter().any(|c| c == "--report"));
    assert_eq!(
        r["ReportBucket"]["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"],
        true
    );
}

#[test]
fn the_github_workflow_is_valid_and_uses_oidc_on_saturdays() {
    let path = root().join("examples/github-actions/baseline-weekly.yml");
    let out = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("- cron: \"0 3 * * 6\""));
    assert!(text.contains("id-token: write"));
    assert!(text.contains("aws-actions/configure-aws-credentials@v4"));
    assert!(text.contains("role-to-assume:"));
    assert!(!text.contains("aws-access-key-id"), "no long-lived keys");
    assert!(text.contains("actions/upload-artifact@v4"));
    let trust = read_json(&root().join("examples/github-actions/trust-policy.json"));
    assert_eq!(
        trust["Statement"][0]["Action"],
        "sts:AssumeRoleWithWebIdentity"
    );
}

/// `[section] key=value` lines of a unit file.
fn unit(path: &Path) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: not key=value: {line}", path.display()));
        out.push((section.clone(), k.to_owned(), v.to_owned()));
    }
    out
}

#[test]
fn the_systemd_units_run_weekly_as_an_unprivileged_user() {
    let dir = root().join("examples/systemd");
    let timer = unit(&dir.join("baseline.timer"));
    let service = unit(&dir.join("baseline.service"));
    let get = |u: &[(String, String, String)], s: &str, k: &str| {
        u.iter()
            .find(|(sec, key, _)| sec == s && key == k)
            .map(|(_, _, v)| v.clone())
    };
    assert_eq!(
        get(&timer, "Timer", "OnCalendar").as_deref(),
        Some("Sat *-*-* 03:00:00")
    );
    assert_eq!(
        get(&timer, "Install", "WantedBy").as_deref(),
        Some("timers.target")
    );
    let exec = get(&service, "Service", "ExecStart").unwrap();
    assert!(
        exec.starts_with("/usr/local/bin/baseline apply --auto-approve"),
        "{exec}"
    );
    assert!(exec.contains("--report "), "{exec}");
    assert_eq!(
        get(&service, "Service", "DynamicUser").as_deref(),
        Some("yes")
    );
    assert_eq!(get(&service, "Service", "Type").as_deref(), Some("oneshot"));
}

#[test]
fn the_dockerfile_is_multi_stage_and_runs_as_non_root() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "{froms:?}");
    let final_stage = text.rsplit("\nFROM ").next().unwrap();
    let user = final_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage sets USER");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "{user}"
    );
    assert!(final_stage.contains("COPY baselines /etc/baseline"));
    assert!(final_stage.contains("ENTRYPOINT [\"/usr/local/bin/baseline\"]"));
}

/// `baseline permissions EXTRA… --account * --partition aws --baseline BASELINE`, with no
/// AWS environment (the command then makes no call).
fn generated_policy(baseline: &Path, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_baseline"))
        .arg("permissions")
        .args(extra)
        .args(["--account", "*", "--partition", "aws", "--baseline"])
        .arg(baseline)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Does `pattern` (an IAM action, maybe with `*`) match `action`?
fn matches(pattern: &str, action: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(action),
        Some((head, _)) => action
            .to_ascii_lowercase()
            .starts_with(&head.to_ascii_lowercase()),
    }
}

#[test]
fn the_generated_policy_allows_every_action_the_controls_document() {
    // secure-account.toml with every table on: the policy of every control.
    let everything = crate::emulator::with_chat(&crate::emulator::every_table_on(
        &std::fs::read_to_string(root().join("baselines/secure-account.toml")).unwrap(),
    ))
    .replace("@example.com", "@acme-security.io")
    .replace("+81-3-0000-0000", "+81-3-5555-1234");
    let file = crate::emulator::baseline_file(&everything);
    let policy = generated_policy(file.path(), &[]);
    let allowed: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
            _ => vec![],
        })
        .collect();
    let mut documented = Vec::new();
    for entry in std::fs::read_dir(root().join("docs/controls")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut in_access = false;
        for line in text.lines() {
            if line.starts_with("**Reads**")
                || line.starts_with("**Writes**")
                || line.starts_with("**IAM")
            {
                in_access = true;
            } else if line.starts_with("**Cost") || line.starts_with('#') || line.is_empty() {
                in_access = false;
            }
            if !in_access {
                continue;
            }
            for token in line.split('`').skip(1).step_by(2) {
                let looks_like_action = token.split_once(':').is_some_and(|(svc, op)| {
                    !svc.is_empty()
                        && svc
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                });
                if looks_like_action {
                    documented.push(token.to_owned());
                }
            }
        }
    }
    assert!(
        documented.len() > 60,
        "only {} actions found",
        documented.len()
    );
    let missing: Vec<&String> = documented
        .iter()
        .filter(|a| !allowed.iter().any(|p| matches(p, a)))
        .collect();
    assert!(
        missing.is_empty(),
        "documented but not in the generated policy: {missing:?}"
    );
}

fn fleet() -> Value {
    read_json(&root().join("examples/aws-fleet/fleet.template.json"))
}

#[test]
fn the_fleet_templates_pass_cfn_lint() {
    assert_cfn_lint_passes("examples/aws-fleet/fleet.template.json");
    assert_cfn_lint_passes("examples/aws-fleet/member-role.template.json");
}

#[test]
fn the_fleet_roles_carry_exactly_the_generated_policies() {
    let t = fleet();
    assert_eq!(
        t["Resources"]["BaselinePolicy"]["Properties"]["PolicyDocument"],
        generated_policy(&root().join("baselines/organization.toml"), &[]),
        "fleet.template.json's BaselinePolicy is not `baseline permissions --baseline \
         baselines/organization.toml --account '*' --partition aws`"
    );
    let member = read_json(&root().join("examples/aws-fleet/member-role.template.json"));
    let r = &member["Resources"];
    assert_eq!(
        r["MemberPolicy"]["Properties"]["PolicyDocument"],
        generated_policy(&root().join("baselines/organization.toml"), &["--member"]),
        "member-role.template.json's policy is not `baseline permissions --member …`"
    );
    // The member role trusts the fleet's task role, and nothing else.
    let trust = &r["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_array().unwrap().len(), 1);
    assert_eq!(trust[0]["Principal"]["AWS"]["Ref"], "FleetTaskRoleArn");
    // The state machine may run only its own task definition, in its own cluster.
    let sm = &t["Resources"]["StateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    let run = sm
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "ecs:RunTask")
        .unwrap();
    assert!(run["Condition"]["ArnEquals"]["ecs:cluster"].is_object());
    assert!(
        sm.as_array().unwrap().iter().all(|s| s["Resource"] != "*"),
        "a state machine statement on every resource"
    );
}

/// The literal arguments of a `States.Array(…)` command, with `${X}` substitutions and the
/// `States.Format`/path arguments each replaced by a placeholder value.
fn command_args(expr: &str) -> Vec<String> {
    let inner = expr
        .strip_prefix("States.Array(")
        .and_then(|e| e.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a States.Array: {expr}"));
    let mut args = Vec::new();
    let (mut depth, mut quoted, mut start) = (0, false, 0);
    let bytes = inner.as_bytes();
    for i in 0..=bytes.len() {
        let c = bytes.get(i).copied();
        match c {
            Some(b'\'') => quoted = !quoted,
            Some(b'(') if !quoted => depth += 1,
            Some(b')') if !quoted => depth -= 1,
            Some(b',') | None if !quoted && depth == 0 => {
                let arg = inner[start..i].trim();
                args.push(
                    match arg.strip_prefix('\'').and_then(|a| a.strip_suffix('\'')) {
                        Some(lit) if lit.starts_with("${") => "value".to_owned(),
                        Some(lit) => lit.replace("${Bucket}", "bucket"),
                        None => "s3://bucket/key".to_owned(),
                    },
                );
                start = i + 1;
            }
            _ => {}
        }
    }
    args
}

#[test]
fn the_fleet_runs_the_organization_step_then_a_distributed_map_of_shards_then_the_merge() {
    let t = fleet();
    let r = &t["Resources"];
    assert_eq!(
        r["WeeklySchedule"]["Properties"]["ScheduleExpression"],
        "cron(0 3 ? * SAT *)"
    );
    assert_eq!(
        r["WeeklySchedule"]["Properties"]["Target"]["Arn"]["Ref"],
        "StateMachine"
    );
    let sm = &r["StateMachine"]["Properties"];
    let states = &sm["Definition"]["States"];
    // The order: Start → OrganizationStep → ListShards → Shards → Merge → Outcome.
    let mut order = vec![sm["Definition"]["StartAt"].as_str().unwrap().to_owned()];
    // (A Choice's first rule is its success path; Outcome is the end.)
    while order.len() < 10 && order.last().unwrap() != "Outcome" {
        let state = &states[order.last().unwrap().as_str()];
        let next = state["Next"]
            .as_str()
            .or_else(|| state["Choices"][0]["Next"].as_str())
            .unwrap();
        order.push(next.to_owned());
    }
    assert_eq!(
        order,
        [
            "Start",
            "OrganizationStep",
            "ListShards",
            "ListedShards",
            "Shards",
            "Merge",
            "Outcome"
        ]
        .map(String::from)
    );
    let map = &states["Shards"];
    assert_eq!(map["Type"], "Map");
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["Mode"],
        "DISTRIBUTED"
    );
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["ExecutionType"],
        "STANDARD"
    );
    assert_eq!(
        map["ItemReader"]["Resource"],
        "arn:aws:states:::s3:getObject"
    );
    assert_eq!(map["ItemReader"]["ReaderConfig"]["InputType"], "JSON");
    assert_eq!(map["MaxConcurrencyPath"], "$.max_concurrency");
    assert_eq!(map["ToleratedFailurePercentage"], 100);
    // The items are what `baseline accounts --write-shards` writes.
    assert_eq!(
        map["ItemSelector"]["account_file.$"],
        "$$.Map.Item.Value.account_file"
    );
    assert_eq!(map["ItemSelector"]["shard.$"], "$$.Map.Item.Value.shard");
    let child = &map["ItemProcessor"]["States"];
    let apply = &child["ApplyShard"];
    assert!(apply["Retry"][0]["MaxAttempts"].as_u64().unwrap() >= 1);
    assert_eq!(apply["Catch"][0]["Next"], "ShardFailed");

    // Every task waits for its container, and every flag it passes is one the binary takes.
    let commands = [
        (&states["OrganizationStep"], "--org-only"),
        (&states["ListShards"], "--write-shards"),
        (apply, "--account-file"),
        (&states["Merge"], "--previous"),
    ];
    for (task, flag) in commands {
        assert_eq!(task["Resource"], "arn:aws:states:::ecs:runTask.sync");
        let expr = task["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command.$"]
            .as_str()
            .unwrap();
        let args = command_args(expr);
        assert!(args.iter().any(|a| a == flag), "{flag} not in {args:?}");
        let subcommand: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .take_while(|a| !a.starts_with('-') && !a.starts_with("s3://"))
            .collect();
        let help = Command::new(env!("CARGO_BIN_EXE_baseline"))
            .args(&subcommand)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&help.stdout);
        for a in args.iter().filter(|a| a.starts_with("--")) {
            assert!(
                help.contains(&format!("{a} ")) || help.contains(&format!("{a}\n")),
                "`baseline {}` has no flag {a}",
                subcommand.join(" ")
            );
        }
    }
    // Every `${X}` in the definition is substituted (CloudFormation leaves others as is).
    let text = sm["Definition"].to_string();
    let subs = &sm["DefinitionSubstitutions"];
    for (i, _) in text.match_indices("${") {
        let name = &text[i + 2..i + 2 + text[i + 2..].find('}').unwrap()];
        assert!(
            subs[name].is_object() || subs[name].is_string(),
            "${{{name}}} has no substitution"
        );
    }
    // The outcome: a run succeeds only if the organization step and the merge exited 0.
    let outcome = states["Outcome"]["Choices"].to_string();
    assert!(outcome.contains("$.organization.Containers[0].ExitCode"));
    assert!(outcome.contains("$.merge.Containers[0].ExitCode"));
    assert_eq!(states["Outcome"]["Default"], "FleetHasFailures");
}
