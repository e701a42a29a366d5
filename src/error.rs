//! Typed errors of the library. The binary turns them into messages and exit codes.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;
use std::fmt;

/// How an AWS failure should be treated. The classification comes from the error code
/// the service returned (or the transport failure), never from the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Throttling, 5xx, time-outs, connection failures: the SDK has already retried.
    Transient,
    /// The caller's credentials may not do this.
    AccessDenied,
    /// The service or operation is not available here (opt-in region, unsupported region).
    Unsupported,
    /// The thing addressed does not exist.
    NotFound,
    /// Anything else: bad input, a conflict, a limit.
    Permanent,
}

/// One failed AWS call, with what the service said.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: Option<String>,
    pub kind: ErrorKind,
    pub status: Option<u16>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation)?;
        match (&self.code, self.status) {
            (Some(code), _) => write!(f, ": {code}")?,
            (None, Some(status)) => write!(f, ": HTTP {status}")?,
            (None, None) => {}
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl AwsError {
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Builds an error that did not come from the SDK (a response the tool cannot use).
    pub fn invalid_response(operation: &'static str, message: impl Into<String>) -> Self {
        AwsError {
            operation,
            code: None,
            message: Some(message.into()),
            kind: ErrorKind::Permanent,
            status: None,
        }
    }
}

/// Why a target or one of its changes did not complete: an AWS call that failed, or the
/// tool itself, which refused, did not try, or hit a bug. Serialized in the same shape
/// as [`AwsError`] (operation, code, message, kind, status), with the codes `Refused`,
/// `DependencyFailed`, `Panicked` and `AccountUnreachable` for the tool's own reasons.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A safety check failed just before a change (or while observing): nothing was sent.
    #[error("{operation} refused: {message}")]
    Refused {
        operation: &'static str,
        message: String,
    },
    /// Not tried, because something it depends on did not complete.
    #[error("not attempted: {0}")]
    NotAttempted(String),
    /// The tool panicked while working on this target; the others went on.
    #[error("internal error (please report it): {0}")]
    Panicked(String),
    /// An account of an organization run could not be worked on at all (its role is
    /// missing or denied): none of its targets were observed.
    #[error("{0}")]
    AccountUnreachable(String),
}

impl TargetError {
    pub fn refused(operation: &'static str, message: impl Into<String>) -> Self {
        TargetError::Refused {
            operation,
            message: message.into(),
        }
    }

    /// A panic's payload, as the message of the target's failure.
    pub fn panicked(payload: Box<dyn std::any::Any + Send>) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        TargetError::Panicked(message)
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            TargetError::Aws(e) => e.kind,
            _ => ErrorKind::Permanent,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            TargetError::Aws(e) => e.code(),
            TargetError::Refused { .. } => Some("Refused"),
            TargetError::NotAttempted(_) => Some("DependencyFailed"),
            TargetError::Panicked(_) => Some("Panicked"),
            TargetError::AccountUnreachable(_) => Some("AccountUnreachable"),
        }
    }
}

impl Serialize for TargetError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let record = |operation: &'static str, message: &str| AwsError {
            operation,
            code: self.code().map(str::to_owned),
            message: Some(message.to_owned()),
            kind: ErrorKind::Permanent,
            status: None,
        };
        match self {
            TargetError::Aws(e) => e.serialize(s),
            TargetError::Refused { operation, message } => record(operation, message).serialize(s),
            TargetError::NotAttempted(m) => {
                record("baseline:apply", &format!("not attempted: {m}")).serialize(s)
            }
            TargetError::Panicked(m) => record("baseline", m).serialize(s),
            TargetError::AccountUnreachable(m) => record("sts:AssumeRole", m).serialize(s),
        }
    }
}

const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidAccessException",
];
const UNSUPPORTED: &[&str] = &[
    "OptInRequired",
    "UnsupportedOperation",
    "UnsupportedOperationException",
    "InvalidAction",
    "SubscriptionRequiredException",
];
const TRANSIENT: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "RequestTimeout",
];

pub fn classify(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    match code {
        Some(c) if ACCESS_DENIED.contains(&c) => ErrorKind::AccessDenied,
        Some(c) if UNSUPPORTED.contains(&c) => ErrorKind::Unsupported,
        Some(c) if TRANSIENT.contains(&c) => ErrorKind::Transient,
        Some(c) if c.contains("NotFound") || c.starts_with("NoSuch") => ErrorKind::NotFound,
        Some(_) => ErrorKind::Permanent,
        None => match status {
            Some(s) if s >= 500 => ErrorKind::Transient,
            Some(403) => ErrorKind::AccessDenied,
            Some(404) => ErrorKind::NotFound,
            _ => ErrorKind::Permanent,
        },
    }
}

/// Turns any SDK error into an [`AwsError`]. Use it with `map_err(aws_err("Op"))`.
pub fn aws_err<E>(
    operation: &'static str,
) -> impl FnOnce(SdkError<E, aws_smithy_runtime_api::http::Response>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |err| from_sdk(operation, &err)
}

/// `Ok(None)` when the call failed with one of `codes` (for example "there is no such
/// configuration"), the value or the error otherwise.
pub fn tolerate<T>(result: Result<T, AwsError>, codes: &[&str]) -> Result<Option<T>, AwsError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code().is_some_and(|c| codes.contains(&c)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The messages of an error and of its sources, outermost first, each said once: a
/// message already contained in the one before it (a wrapper that repeats its source)
/// is left out. No `Debug` form, so no raw HTTP headers.
pub fn causes(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        let text = text.trim();
        if !text.is_empty() && !out.iter().any(|seen| seen.contains(text)) {
            out.push(text.to_owned());
        }
        next = e.source();
    }
    out
}

/// The first error of type `T` in `err`'s source chain.
pub fn find_cause<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// A host name the resolver definitely does not know (NXDOMAIN, or a name without an
/// address): how a region answers for a service it does not offer. A resolver that
/// could not answer (timeout, SERVFAIL) is not this: it is an ordinary transient failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host} does not exist in DNS")]
pub struct NoSuchHost {
    pub host: String,
}

pub fn from_sdk<E>(
    operation: &'static str,
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().map(str::to_owned);
            AwsError {
                operation,
                kind: classify(code.as_deref(), status),
                message: e.message().map(str::to_owned),
                code,
                status,
            }
        }
        // A service that does not exist in a region has no endpoint there: its name does
        // not exist in DNS (a definite answer, not a resolver that failed to answer).
        SdkError::DispatchFailure(_) if find_cause::<NoSuchHost>(err).is_some() => AwsError {
            operation,
            code: None,
            message: Some(format!(
                "the service has no endpoint in this region ({})",
                find_cause::<NoSuchHost>(err).map_or("", |e| e.host.as_str())
            )),
            kind: ErrorKind::Unsupported,
            status,
        },
        SdkError::TimeoutError(_) => AwsError {
            operation,
            code: None,
            message: Some(format!(
                "{} (raise --attempt-timeout or --operation-timeout if the service is only slow)",
                causes(err).join(": ")
            )),
            kind: ErrorKind::Transient,
            status,
        },
        SdkError::DispatchFailure(_) => AwsError {
            operation,
            code: None,
            message: Some(causes(err).join(": ")),
            kind: ErrorKind::Transient,
            status,
        },
        _ => AwsError {
            operation,
            code: None,
            message: Some(causes(err).join(": ")),
            kind: classify(None, status),
            status,
        },
    }
}

/// Errors that stop a whole run (as opposed to one target's failure, which is collected).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    /// The run could not learn who it is; `detail` is the SDK's cause chain, for `-v`.
    #[error("{problem}")]
    Start {
        problem: StartProblem,
        detail: Vec<String>,
    },
    #[error("could not list the account's regions: {0}")]
    Regions(AwsError),
    #[error(
        "no region is configured: pass --region, set AWS_REGION, or set home_region in the baseline"
    )]
    NoRegion,
    #[error("invalid endpoint URL {url:?}: {reason}")]
    Endpoint { url: String, reason: String },
}

impl Error {
    /// What `-v` adds under the one-sentence message.
    pub fn detail(&self) -> &[String] {
        match self {
            Error::Start { detail, .. } => detail,
            _ => &[],
        }
    }
}

/// Why a run could not start, each said in one sentence with what to do about it, as
/// the AWS CLI and terraform say it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartProblem {
    #[error(
        "no AWS credentials were found: run `aws configure` or `aws sso login`, pass --profile, \
         or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials,
    #[error(
        "the profile {profile:?} is not in ~/.aws/config or ~/.aws/credentials{}: check --profile \
         or AWS_PROFILE",
        known_profiles(known)
    )]
    UnknownProfile { profile: String, known: Vec<String> },
    #[error(
        "the AWS config files cannot be read: {0}: fix them (`aws configure list` shows what the AWS CLI sees)"
    )]
    ProfileFiles(String),
    #[error(
        "no credentials from the SSO session of profile {profile:?}: it has expired or was never \
         started; run `aws sso login --profile {profile}`"
    )]
    SsoExpired { profile: String },
    #[error("the AWS credentials could not be loaded: {0}")]
    Credentials(String),
    #[error(
        "AWS refused the credentials ({code}): they are invalid or have expired; get new ones \
         (for SSO, `aws sso login`) and run again"
    )]
    BadCredentials { code: String },
    #[error(
        "the credentials may not call sts:GetCallerIdentity ({code}), which baseline needs to \
         learn the account: allow it in the policies, SCPs or VPC endpoint policy that deny it"
    )]
    Denied { code: String },
    #[error(
        "cannot reach AWS at {endpoint}: check the network, the proxy or firewall, and \
         --endpoint-url"
    )]
    Unreachable { endpoint: String },
    #[error(
        "AWS at {endpoint} did not answer in time: check the network, or raise \
         --connect-timeout, --attempt-timeout or --operation-timeout"
    )]
    TimedOut { endpoint: String },
    #[error("sts:GetCallerIdentity failed: {0}")]
    Other(String),
}

fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        " (no profile is defined there)".to_owned()
    } else {
        format!(" (defined: {})", known.join(", "))
    }
}

/// The credentials the run uses, as far as the shared config files say before any call.
#[derive(Debug, Clone, Default)]
pub struct CallerSetup {
    /// The profile the credentials come from (`--profile`, AWS_PROFILE, or `default`).
    pub profile: String,
    /// That profile gets its credentials from IAM Identity Center (SSO).
    pub sso: bool,
    /// Where STS is reached: the endpoint override, or STS's regional host.
    pub endpoint: String,
}

/// Turns a failed `sts:GetCallerIdentity`, the first call of every run, into the one
/// sentence that says what to do.
pub fn start_problem<E>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
    setup: &CallerSetup,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_credential_types::provider::error::CredentialsError;
    let detail = causes(err);
    let problem = match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown").to_owned();
            match classify(Some(&code), None) {
                ErrorKind::AccessDenied if code.starts_with("AccessDenied") => {
                    StartProblem::Denied { code }
                }
                ErrorKind::AccessDenied => StartProblem::BadCredentials { code },
                _ => StartProblem::Other(from_sdk("sts:GetCallerIdentity", err).to_string()),
            }
        }
        SdkError::TimeoutError(_) => StartProblem::TimedOut {
            endpoint: setup.endpoint.clone(),
        },
        SdkError::DispatchFailure(failure) => match find_cause::<CredentialsError>(err) {
            Some(_) if setup.sso => StartProblem::SsoExpired {
                profile: setup.profile.clone(),
            },
            Some(CredentialsError::CredentialsNotLoaded(_)) => StartProblem::NoCredentials,
            Some(e) => StartProblem::Credentials(causes(e).join(": ")),
            None if failure.is_timeout() => StartProblem::TimedOut {
                endpoint: setup.endpoint.clone(),
            },
            None => StartProblem::Unreachable {
                endpoint: setup.endpoint.clone(),
            },
        },
        _ => StartProblem::Other(from_sdk("sts:GetCallerIdentity", err).to_string()),
    };
    Error::Start { problem, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::Response;

    fn dispatch(message: &str) -> AwsError {
        let err: SdkError<
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError,
            Response,
        > = SdkError::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::other(
            message.to_owned(),
        ))));
        from_sdk("detective:ListGraphs", &err)
    }

    #[test]
    fn only_a_name_that_does_not_exist_means_no_endpoint() {
        let err: SdkError<
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError,
            Response,
        > = SdkError::dispatch_failure(ConnectorError::io(Box::new(NoSuchHost {
            host: "detective.ap-east-2.amazonaws.com".into(),
        })));
        let e = from_sdk("detective:ListGraphs", &err);
        assert_eq!(e.kind, ErrorKind::Unsupported);
        assert!(
            e.to_string()
                .contains("no endpoint in this region (detective.ap-east-2.amazonaws.com)"),
            "{e}"
        );
        // The text of a resolver failure is not a definite answer any more.
        let e =
            dispatch("dns error: failed to lookup address information: Name or service not known");
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(
            dispatch("connection reset by peer").kind,
            ErrorKind::Transient
        );
    }

    #[test]
    fn causes_are_said_once_and_without_debug_forms() {
        let e = dispatch("connection reset by peer");
        let text = e.to_string();
        assert_eq!(
            text.matches("connection reset by peer").count(),
            1,
            "{text}"
        );
        assert!(!text.contains("DispatchFailure("), "{text}");
    }

    #[test]
    fn codes_are_classified() {
        assert_eq!(
            classify(Some("AccessDeniedException"), Some(400)),
            ErrorKind::AccessDenied
        );
        assert_eq!(
            classify(Some("SubscriptionRequiredException"), None),
            ErrorKind::Unsupported
        );
        assert_eq!(
            classify(Some("NoSuchEntity"), Some(404)),
            ErrorKind::NotFound
        );
        assert_eq!(classify(None, Some(503)), ErrorKind::Transient);
    }
}
