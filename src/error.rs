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

    /// The tool itself refused to go on (a safety check failed just before a change).
    pub fn refused(operation: &'static str, message: impl Into<String>) -> Self {
        AwsError {
            operation,
            code: Some("Refused".into()),
            message: Some(message.into()),
            kind: ErrorKind::Permanent,
            status: None,
        }
    }

    /// A change that was not tried because one it depends on failed.
    pub fn not_attempted(message: String) -> Self {
        AwsError {
            operation: "baseline:apply",
            code: Some("DependencyFailed".into()),
            message: Some(message),
            kind: ErrorKind::Permanent,
            status: None,
        }
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

fn no_endpoint<E: std::error::Error + 'static, R: std::fmt::Debug>(err: &SdkError<E, R>) -> bool {
    let text = aws_smithy_types::error::display::DisplayErrorContext(err).to_string();
    text.contains("dns error") || text.contains("failed to lookup address")
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
        // not resolve. (The account's own endpoints resolved already, or discovery failed.)
        SdkError::DispatchFailure(_) if no_endpoint(err) => AwsError {
            operation,
            code: None,
            message: Some("the service has no endpoint in this region".to_owned()),
            kind: ErrorKind::Unsupported,
            status,
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => AwsError {
            operation,
            code: None,
            message: Some(aws_smithy_types::error::display::DisplayErrorContext(err).to_string()),
            kind: ErrorKind::Transient,
            status,
        },
        _ => AwsError {
            operation,
            code: None,
            message: Some(aws_smithy_types::error::display::DisplayErrorContext(err).to_string()),
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
    #[error("could not learn the account identity: {0}")]
    Identity(#[source] AwsError),
    #[error("could not list the account's regions: {0}")]
    Regions(#[source] AwsError),
    #[error(
        "no region is configured: pass --region, set AWS_REGION, or set home_region in the baseline"
    )]
    NoRegion,
    #[error("invalid endpoint URL {url:?}: {reason}")]
    Endpoint { url: String, reason: String },
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
    fn a_service_without_an_endpoint_is_unsupported_and_other_io_is_transient() {
        let e =
            dispatch("dns error: failed to lookup address information: Name or service not known");
        assert_eq!(e.kind, ErrorKind::Unsupported);
        assert_eq!(
            dispatch("connection reset by peer").kind,
            ErrorKind::Transient
        );
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
