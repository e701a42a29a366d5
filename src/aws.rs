//! The gateway to AWS: one loaded `SdkConfig`, an HTTP client that bounds and counts
//! requests, clients per region, the account identity and the enabled regions.

use crate::error::{CallerSetup, Error, NoSuchHost, StartProblem, aws_err};
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How to reach AWS: what the command line and the environment say.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// The most AWS requests in flight at once, over the whole run.
    pub concurrency: usize,
    /// Attempts per request, including the first (the SDK's standard retry mode).
    pub max_attempts: u32,
    pub timeouts: Timeouts,
}

/// How long a request may take, so that a scheduled run always ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To open a connection.
    pub connect: Duration,
    /// One attempt of a request, connection included.
    pub attempt: Duration,
    /// A whole operation: every attempt and the waits between them.
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(60),
            operation: Duration::from_secs(180),
        }
    }
}

/// A client of one service for one region, from the shared configuration.
macro_rules! regional_client {
    ($sdk:ident, $session:expr, $region:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from(&$session.sdk)
                .region(Region::new($region.to_owned()))
                .interceptor(CallLog)
                .build(),
        )
    };
}

/// Logs every AWS operation the run sends (at debug level, target `baseline::aws`: shown
/// with `-vv`), by the SDK's service and operation names. The permissions test reads it
/// to check that the generated IAM policy allows every call.
#[derive(Debug)]
struct CallLog;

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    // After the operation's configuration (which carries its name) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(op) = cfg.load::<Metadata>() {
            tracing::debug!(
                target: "baseline::aws",
                service = op.service(),
                operation = op.name(),
                "call"
            );
        }
        Ok(())
    }
}

/// A loaded SDK configuration and the request limiter every client shares.
#[derive(Debug, Clone)]
pub struct Session {
    pub sdk: SdkConfig,
    requests: Arc<AtomicU64>,
    setup: CallerSetup,
}

impl Session {
    pub async fn connect(opts: &ConnectOptions) -> Result<Session, Error> {
        let requests = Arc::new(AtomicU64::new(0));
        let sso = check_profile(opts.profile.as_deref()).await?;
        let host = opts
            .endpoint_url
            .as_deref()
            .map(endpoint_host)
            .transpose()?;
        let base = base_client(host);
        let http = SharedHttpClient::new(LimitedClient {
            inner: base,
            permits: Arc::new(Semaphore::new(opts.concurrency.max(1))),
            requests: requests.clone(),
        });
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(opts.timeouts.connect)
                    .operation_attempt_timeout(opts.timeouts.attempt)
                    .operation_timeout(opts.timeouts.operation)
                    .build(),
            );
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &opts.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        let setup = CallerSetup {
            profile: opts.profile.clone().unwrap_or_else(|| "default".to_owned()),
            sso,
            endpoint: opts.endpoint_url.clone().unwrap_or_else(|| {
                let region = sdk
                    .region()
                    .map_or("us-east-1".to_owned(), |r| r.to_string());
                format!("https://sts.{region}.amazonaws.com")
            }),
        };
        Ok(Session {
            sdk,
            requests,
            setup,
        })
    }

    /// The same session acting in `account` through its role `role`: STS AssumeRole
    /// credentials, cached and refreshed before they expire by the SDK's identity cache,
    /// over the same HTTP client, so the same request bound covers every account.
    pub async fn assume(&self, partition: &str, account: &str, role: &str) -> Session {
        let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
            "arn:{partition}:iam::{account}:role/{role}"
        ))
        .session_name("baseline")
        .configure(&self.sdk)
        .build()
        .await;
        let sdk = self
            .sdk
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build();
        Session {
            sdk,
            requests: self.requests.clone(),
            setup: self.setup.clone(),
        }
    }

    /// Requests sent so far (every attempt counts).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn configured_region(&self) -> Option<String> {
        self.sdk.region().map(|r| r.to_string())
    }

    /// The account id and partition of the caller, and the regions the account can use.
    pub async fn discover(&self, home_region: &str) -> Result<Discovery, Error> {
        let ec2 = self.ec2(home_region);
        let (caller, regions) = tokio::join!(
            self.caller(home_region),
            ec2.describe_regions().all_regions(true).send()
        );
        let Caller { account, partition } = caller?;
        let regions = regions
            .map_err(aws_err("ec2:DescribeRegions"))
            .map_err(Error::Regions)?;
        let regions = regions
            .regions()
            .iter()
            .filter_map(|r| {
                let name = r.region_name()?.to_owned();
                let enabled = !matches!(r.opt_in_status(), Some("not-opted-in"));
                Some(AccountRegion { name, enabled })
            })
            // A real account never sees another partition's regions; an emulator may.
            .filter(|r| partition_of(&r.name) == partition)
            .collect();
        Ok(Discovery {
            account,
            partition,
            regions,
        })
    }

    /// The caller's account id and partition (sts:GetCallerIdentity).
    pub async fn caller(&self, region: &str) -> Result<Caller, Error> {
        let sts: aws_sdk_sts::Client = regional_client!(aws_sdk_sts, self, region);
        let identity = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| crate::error::start_problem(&e, &self.setup))?;
        let account = identity.account().unwrap_or_default().to_owned();
        let arn = identity.arn().unwrap_or_default();
        let partition = arn.split(':').nth(1).unwrap_or("aws").to_owned();
        if account.is_empty() {
            return Err(Error::Start {
                problem: StartProblem::Other("the answer has no account id".to_owned()),
                detail: Vec::new(),
            });
        }
        Ok(Caller { account, partition })
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        regional_client!(aws_sdk_ec2, self, region)
    }

    pub fn iam(&self, region: &str) -> aws_sdk_iam::Client {
        regional_client!(aws_sdk_iam, self, region)
    }

    pub fn access_analyzer(&self, region: &str) -> aws_sdk_accessanalyzer::Client {
        regional_client!(aws_sdk_accessanalyzer, self, region)
    }

    pub fn guardduty(&self, region: &str) -> aws_sdk_guardduty::Client {
        regional_client!(aws_sdk_guardduty, self, region)
    }

    /// S3 in a region. Against an emulator endpoint (`--endpoint-url`) bucket names go in
    /// the path, as emulators expect; against AWS, in the host name.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_owned()))
                .force_path_style(self.sdk.endpoint_url().is_some())
                .interceptor(CallLog)
                .build(),
        )
    }

    pub fn account(&self, region: &str) -> aws_sdk_account::Client {
        regional_client!(aws_sdk_account, self, region)
    }

    pub fn chatbot(&self, region: &str) -> aws_sdk_chatbot::Client {
        regional_client!(aws_sdk_chatbot, self, region)
    }

    /// AWS Organizations: global, served from one region per partition.
    pub fn organizations(&self, partition: &str) -> aws_sdk_organizations::Client {
        let region = match partition {
            "aws-cn" => "cn-northwest-1",
            "aws-us-gov" => "us-gov-west-1",
            _ => "us-east-1",
        };
        regional_client!(aws_sdk_organizations, self, region)
    }

    pub fn sns(&self, region: &str) -> aws_sdk_sns::Client {
        regional_client!(aws_sdk_sns, self, region)
    }

    pub fn eventbridge(&self, region: &str) -> aws_sdk_eventbridge::Client {
        regional_client!(aws_sdk_eventbridge, self, region)
    }

    pub fn logs(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        regional_client!(aws_sdk_cloudwatchlogs, self, region)
    }

    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        regional_client!(aws_sdk_cloudwatch, self, region)
    }

    pub fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        regional_client!(aws_sdk_cloudtrail, self, region)
    }

    pub fn config(&self, region: &str) -> aws_sdk_config::Client {
        regional_client!(aws_sdk_config, self, region)
    }

    pub fn security_hub(&self, region: &str) -> aws_sdk_securityhub::Client {
        regional_client!(aws_sdk_securityhub, self, region)
    }

    pub fn detective(&self, region: &str) -> aws_sdk_detective::Client {
        regional_client!(aws_sdk_detective, self, region)
    }

    pub fn inspector(&self, region: &str) -> aws_sdk_inspector2::Client {
        regional_client!(aws_sdk_inspector2, self, region)
    }

    pub fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        regional_client!(aws_sdk_kms, self, region)
    }

    pub fn s3control(&self, region: &str) -> aws_sdk_s3control::Client {
        regional_client!(aws_sdk_s3control, self, region)
    }
}

/// Who runs: from sts:GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub partition: String,
}

/// What the account looks like before anything is observed.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub account: String,
    pub partition: String,
    pub regions: Vec<AccountRegion>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRegion {
    pub name: String,
    /// False for an opt-in region the account has not opted into.
    pub enabled: bool,
}

/// The partition a region belongs to, from its name.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

fn base_client(endpoint_host: Option<String>) -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_with_resolver(Resolver {
            endpoint_host: endpoint_host.map(Arc::new),
            lookup: system_lookup,
        })
}

/// Checks the selected profile before any call: the SDK would otherwise go on down its
/// credential chain past a misspelt `--profile` (to an instance role, for example).
/// Returns whether the profile gets its credentials from IAM Identity Center (SSO).
async fn check_profile(selected: Option<&str>) -> Result<bool, Error> {
    use aws_types::os_shim_internal::{Env, Fs};
    let files = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &Default::default(),
        selected.map(|p| std::borrow::Cow::Owned(p.to_owned())),
    )
    .await
    .map_err(|e| Error::Start {
        problem: StartProblem::ProfileFiles(crate::error::causes(&e).join(": ")),
        detail: Vec::new(),
    })?;
    let name = selected.unwrap_or("default");
    let Some(profile) = files.get_profile(name) else {
        return match selected {
            // Without a profile (or with `default`), the SDK looks elsewhere, as it should.
            Some(p) if p != "default" => {
                let mut known: Vec<String> = files.profiles().map(str::to_owned).collect();
                known.sort();
                Err(Error::Start {
                    problem: StartProblem::UnknownProfile {
                        profile: p.to_owned(),
                        known,
                    },
                    detail: Vec::new(),
                })
            }
            _ => Ok(false),
        };
    };
    Ok(profile.get("sso_start_url").is_some() || profile.get("sso_session").is_some())
}

fn endpoint_host(url: &str) -> Result<String, Error> {
    let bad = |reason: &str| Error::Endpoint {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("it must start with http:// or https://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    Ok(host.to_owned())
}

/// Resolves host names, telling a name that does not exist (a definite answer: how a
/// region answers for a service it lacks) from a resolver that failed to answer.
///
/// With an endpoint override, the override's host and every sub-domain of it resolve to
/// the host's address: some APIs put the account id in the host name (S3 Control:
/// `<account>.<endpoint>`), which resolves nowhere against a local emulator.
#[derive(Debug, Clone)]
struct Resolver {
    endpoint_host: Option<Arc<String>>,
    lookup: fn(&str) -> Result<Vec<IpAddr>, dns_lookup::LookupError>,
}

fn system_lookup(host: &str) -> Result<Vec<IpAddr>, dns_lookup::LookupError> {
    dns_lookup::lookup_host(host).map(Iterator::collect)
}

/// A failed lookup, classified by getaddrinfo's code (never by its text).
fn lookup_failure(host: &str, err: dns_lookup::LookupError) -> ResolveDnsError {
    use dns_lookup::LookupErrorKind::{NoData, NoName};
    match err.kind() {
        NoName | NoData => ResolveDnsError::new(NoSuchHost {
            host: host.to_owned(),
        }),
        _ => ResolveDnsError::new(std::io::Error::other(format!(
            "cannot resolve {host}: {}",
            std::io::Error::from(err)
        ))),
    }
}

impl ResolveDns for Resolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        let target = match &self.endpoint_host {
            Some(host) if name == host.as_str() || name.ends_with(&format!(".{host}")) => {
                host.as_str()
            }
            _ => name,
        };
        if let Ok(ip) = target.parse::<IpAddr>() {
            return DnsFuture::ready(Ok(vec![ip]));
        }
        let target = target.to_owned();
        let lookup = self.lookup;
        DnsFuture::new(async move {
            let host = target.clone();
            match tokio::task::spawn_blocking(move || lookup(&host)).await {
                Ok(Ok(ips)) => Ok(ips),
                Ok(Err(e)) => Err(lookup_failure(&target, e)),
                Err(e) => Err(ResolveDnsError::new(e)),
            }
        })
    }
}

/// Wraps the HTTP client so that at most `permits` requests are in flight over the whole
/// run, whatever the number of regions and controls, and counts them.
#[derive(Debug)]
struct LimitedClient {
    inner: SharedHttpClient,
    permits: Arc<Semaphore>,
    requests: Arc<AtomicU64>,
}

impl HttpClient for LimitedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            permits: self.permits.clone(),
            requests: self.requests.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    permits: Arc<Semaphore>,
    requests: Arc<AtomicU64>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let permits = self.permits.clone();
        let requests = self.requests.clone();
        HttpConnectorFuture::new(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("semaphore is never closed");
            requests.fetch_add(1, Ordering::Relaxed);
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_host_parses_common_forms() {
        assert_eq!(endpoint_host("http://127.0.0.1:5000").unwrap(), "127.0.0.1");
        assert_eq!(endpoint_host("https://localhost/x").unwrap(), "localhost");
        assert_eq!(endpoint_host("http://[::1]:5000").unwrap(), "::1");
        assert!(endpoint_host("127.0.0.1:5000").is_err());
    }

    #[tokio::test]
    async fn subdomains_of_the_endpoint_resolve_to_it() {
        let r = Resolver {
            endpoint_host: Some(Arc::new("127.0.0.1".into())),
            lookup: |_| panic!("no lookup for the endpoint's own names"),
        };
        let ips = r.resolve_dns("123456789012.127.0.0.1").await.unwrap();
        assert_eq!(ips, vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
    }

    /// Through the real HTTP client: the resolver's answer reaches the error's kind.
    #[tokio::test]
    async fn a_name_that_does_not_exist_is_unsupported_and_a_failed_resolver_is_transient() {
        use crate::error::{ErrorKind, from_sdk};
        let nxdomain: fn(&str) -> Result<Vec<IpAddr>, dns_lookup::LookupError> =
            |_| Err(dns_lookup::LookupError::new(libc_eai_noname()));
        let servfail: fn(&str) -> Result<Vec<IpAddr>, dns_lookup::LookupError> =
            |_| Err(dns_lookup::LookupError::new(libc_eai_again()));
        for (lookup, kind) in [
            (nxdomain, ErrorKind::Unsupported),
            (servfail, ErrorKind::Transient),
        ] {
            let http = aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .build_with_resolver(Resolver {
                    endpoint_host: None,
                    lookup,
                });
            let conf = aws_sdk_sts::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .credentials_provider(aws_credential_types::Credentials::new(
                    "AKIDEXAMPLE",
                    "secret",
                    None,
                    None,
                    "test",
                ))
                .http_client(http)
                .retry_config(RetryConfig::disabled())
                .endpoint_url("http://sts.nowhere.invalid")
                .build();
            let err = aws_sdk_sts::Client::from_conf(conf)
                .get_caller_identity()
                .send()
                .await
                .unwrap_err();
            let e = from_sdk("sts:GetCallerIdentity", &err);
            assert_eq!(e.kind, kind, "{e}");
        }
    }

    // getaddrinfo's codes, as the platform defines them.
    fn libc_eai_noname() -> i32 {
        dns_lookup_codes().0
    }
    fn libc_eai_again() -> i32 {
        dns_lookup_codes().1
    }
    #[cfg(target_os = "linux")]
    fn dns_lookup_codes() -> (i32, i32) {
        (-2, -3)
    }
    #[cfg(target_os = "macos")]
    fn dns_lookup_codes() -> (i32, i32) {
        (8, 2)
    }

    #[test]
    fn partitions_follow_region_prefixes() {
        assert_eq!(partition_of("eu-west-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }
}
