//! The emulator fixture: one moto server per test, on a free loopback port, started
//! through the project's launcher (scripts/emulator.py) and killed on drop.

use assert_cmd::Command;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Mutex, OnceLock};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Installs the emulator once per test process (the script is a no-op when it is there).
fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let status = std::process::Command::new(root().join("scripts/install-emulator.sh"))
            .status()
            .expect("scripts/install-emulator.sh runs");
        assert!(status.success(), "installing the emulator failed");
        root().join(".venv-emulator/bin/python")
    })
}

pub struct Emulator {
    child: Child,
    pub port: u16,
    /// Set on every later run (secrets a baseline names, such as webhook URLs).
    extra_env: Mutex<Vec<(String, String)>>,
}

impl Emulator {
    pub fn start() -> Emulator {
        let mut child = std::process::Command::new(python())
            .arg(root().join("scripts/emulator.py"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("the emulator says where it listens");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected emulator output {line:?}"));
        Emulator {
            child,
            port,
            extra_env: Mutex::new(Vec::new()),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment of a `baseline` run against this emulator: test credentials and
    /// nothing from the developer's own AWS configuration.
    /// Sets `name` to `value` in the environment of every later run.
    pub fn set_env(&self, name: &str, value: &str) {
        let mut env = self.extra_env.lock().unwrap();
        env.retain(|(n, _)| n != name);
        env.push((name.to_owned(), value.to_owned()));
    }

    pub fn env(&self) -> Vec<(String, std::ffi::OsString)> {
        let mut env: Vec<(String, std::ffi::OsString)> = self
            .base_env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        for (k, v) in self.extra_env.lock().unwrap().iter() {
            env.push((k.clone(), v.into()));
        }
        env
    }

    fn base_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.url().into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("NO_COLOR", "1".into()),
        ]
    }

    /// The `baseline` binary, pointed at this emulator.
    pub fn baseline(&self) -> Command {
        let mut cmd = Command::cargo_bin("baseline").expect("the binary is built");
        cmd.current_dir(root()).env_clear().envs(self.env());
        cmd
    }

    /// The same, started in the background (to be killed part-way).
    pub fn spawn(&self, args: &[&str], baseline: &Path) -> Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_baseline"))
            .current_dir(root())
            .env_clear()
            .envs(self.env())
            .args(args)
            .arg("--baseline")
            .arg(baseline)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts")
    }

    /// Runs the binary with `args` and `--baseline FILE`.
    pub fn run(&self, args: &[&str], baseline: &Path) -> std::process::Output {
        self.baseline()
            .args(args)
            .arg("--baseline")
            .arg(baseline)
            .output()
            .expect("the binary runs")
    }

    fn http(&self, method: &str, path: &str, body: &str) -> Value {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the emulator");
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.contains(" 200 "), "{method} {path}: {head}");
        serde_json::from_str(body).expect("a JSON body")
    }

    /// Every AWS request the emulator has seen since the last [`Self::clear_requests`].
    pub fn requests(&self) -> Vec<Value> {
        self.http("GET", "/_baseline/requests", "")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        self.http("DELETE", "/_baseline/requests", "");
    }

    /// Serves the `n`-th write request and then never answers it (see scripts/emulator.py);
    /// `None` stops holding.
    pub fn hold_write(&self, n: Option<usize>) {
        let body = n.map_or_else(|| "{}".to_owned(), |n| format!("{{\"write\": {n}}}"));
        self.http("POST", "/_baseline/hold", &body);
    }

    /// Whether the held write has been served and is being held.
    pub fn holding(&self) -> bool {
        self.http("GET", "/_baseline/hold", "")["held"] == Value::Bool(true)
    }

    /// Makes every request that matches one of `faults` fail (see scripts/emulator.py).
    pub fn inject_faults(&self, faults: Value) {
        self.http("POST", "/_baseline/faults", &faults.to_string());
    }

    /// Makes `user`'s access keys `days` older (moto stamps them with the current time).
    pub fn age_access_keys(&self, user: &str, days: u32) {
        let body = serde_json::json!({"user": user, "days": days}).to_string();
        self.http("POST", "/_baseline/age-access-keys", &body);
    }

    /// An organization S3 policy assigning `assign` ("all" or "none") to the account's
    /// Block Public Access: S3 then refuses the account's own PutPublicAccessBlock (403).
    pub fn s3_policy(&self, account: &str, assign: &str) {
        let body = serde_json::json!({"account": account, "assign": assign}).to_string();
        self.http("POST", "/_baseline/s3-policy", &body);
    }

    /// GuardDuty features the given regions do not offer, as `{"region": ["NAME", ...]}`.
    pub fn guardduty_unavailable(&self, features: Value) {
        self.http(
            "POST",
            "/_baseline/guardduty-unavailable",
            &features.to_string(),
        );
    }

    pub async fn sdk(&self, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .endpoint_url(self.url())
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await
    }

    pub async fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk(region).await)
    }

    /// S3 in the home region, bucket names in the path as the emulator expects.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk("us-east-1").await)
                .force_path_style(true)
                .build(),
        )
    }

    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk("us-east-1").await)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request that changes something: anything but a read.
/// The emulator's SDK configuration acting as `member` through its
/// OrganizationAccountAccessRole (as the management account's credentials can).
pub async fn in_member(emu: &Emulator, member: &str) -> aws_config::SdkConfig {
    let base = emu.sdk("us-east-1").await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    ))
    .session_name("test")
    .configure(&base)
    .build()
    .await;
    base.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

pub fn is_write(request: &Value) -> bool {
    let method = request["method"].as_str().unwrap_or("");
    let path = request["path"].as_str().unwrap_or("");
    match request["action"].as_str() {
        // IAM's GenerateCredentialReport is a read in IAM's own access levels; STS
        // AssumeRole (an organization run's way into a member) changes no account.
        Some(action) => ![
            "Describe",
            "Get",
            "List",
            "GenerateCredentialReport",
            "AssumeRole",
        ]
        .iter()
        .any(|p| action.starts_with(p)),
        // REST APIs: reads are GET, or a POST to a `…/get`, `…/list` or `/get…` path
        // (Inspector's BatchGetAccountStatus is `POST /status/batch/get`, the Account
        // API's GetAlternateContact `POST /getAlternateContact`, Inspector's
        // DescribeOrganizationConfiguration `POST /organizationconfiguration/describe`).
        None => {
            let last = path.rsplit('/').next().unwrap_or("");
            !(matches!(method, "GET" | "HEAD")
                || last.starts_with("get")
                || last.starts_with("list")
                || last.starts_with("describe"))
        }
    }
}

/// Everything a run printed, stdout then stderr, for assertion messages.
pub fn output(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A baseline file with this text.
pub fn baseline_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

impl Emulator {
    /// Asserts that the account has converged on the baseline: `plan` finds nothing to do
    /// and a second `apply` sends no write request at all.
    pub fn assert_converged(&self, baseline: &Path) {
        let plan = self.run(&["plan", "--detailed-exitcode"], baseline);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "plan after apply: {}{}",
            String::from_utf8_lossy(&plan.stdout),
            String::from_utf8_lossy(&plan.stderr)
        );
        self.clear_requests();
        let again = self.run(&["apply", "--auto-approve"], baseline);
        assert_eq!(
            again.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&again.stdout)
        );
        let writes: Vec<Value> = self.requests().into_iter().filter(is_write).collect();
        assert!(writes.is_empty(), "a second apply wrote: {writes:?}");
    }
}

/// The variable the uncommented webhook of secure-account.toml reads its URL from, and a
/// URL for it.
pub const WEBHOOK_ENV: (&str, &str) = (
    "BASELINE_SLACK_WEBHOOK_URL",
    "https://hooks.slack.com/services/T0TEST/B0TEST/not-a-real-token",
);

/// A shipped baseline with every table and every optional part on (the shipped files
/// leave some off until a team fills them in), so that every control is exercised. Its
/// webhook is uncommented (runs need [`WEBHOOK_ENV`]); chat stays commented (the
/// emulator has no Chatbot: see [`with_chat`]).
pub fn every_table_on(text: &str) -> String {
    text.replace("# [[notifications.webhooks]]", "[[notifications.webhooks]]")
        .replace("# name = \"security-slack\"", "name = \"security-slack\"")
        .replace("# format = \"slack\"", "format = \"slack\"")
        .replace("# url_env = ", "url_env = ")
        .replace("enabled = false", "enabled = true")
        .replace("access_logging = false", "access_logging = true")
        .replace("cloudwatch_logs = false", "cloudwatch_logs = true")
        .replace("root_usage_alarm = false", "root_usage_alarm = true")
        .replace(
            "deactivate_unused_access_keys = false",
            "deactivate_unused_access_keys = true",
        )
}

/// secure-account.toml's chat entries uncommented, with ids that are not placeholders.
pub fn with_chat(text: &str) -> String {
    let mut out = String::new();
    let mut chat = false;
    for line in text.lines() {
        if line.starts_with("# [[notifications.slack]]")
            || line.starts_with("# [[notifications.teams]]")
        {
            chat = true;
        } else if !line.starts_with("# ")
            || line.starts_with("# Webhooks")
            || line.starts_with("# [[notifications.webhooks")
        {
            chat = false;
        }
        let line = if chat { &line[2..] } else { line };
        out.push_str(
            &line
                .replace("T00000000", "T07AB12CD")
                .replace("C00000000", "C07AB12CD")
                .replace(
                    "00000000-0000-0000-0000-000000000000",
                    "a1b2c3d4-1111-2222-3333-444455556666",
                )
                .replace(
                    "19%3A00000000000000000000000000000000%40",
                    "19%3Aab12cd34%40",
                ),
        );
        out.push('\n');
    }
    out
}
