//! The AWS side: one SageMaker client per scope (credentials × region) and the calls a sync
//! makes, each returning the response body exactly as the service sent it, so members newer
//! than the SDK still reach `raw`.

pub mod api;
pub mod billing;
pub mod capture;
pub mod client;
pub mod cloudwatch;
pub mod org;
pub mod pace;
pub mod pricing;
pub mod regions;
pub mod sdk;

pub use api::{Api, Calls, RateLimit};
pub use client::{ClientOptions, Scope};

use crate::model::op::Op;

/// Why a call failed, read from the SDK's error types (an SDK wording change cannot turn one kind
/// into another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The service answered with an error; its code says which.
    Service,
    /// No credentials could be had: the provider failed (for a role, STS refused to assume it).
    Credentials,
    /// The endpoint could not be reached: no such host (a region where the service is not
    /// offered), a refused connection, a timeout.
    Unreachable,
    /// Anything else: a request that could not be built, an answer that could not be read.
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{operation} failed: {message}")]
    Call {
        operation: Op,
        /// The service's error code, when it answered.
        code: Option<String>,
        /// What kind of failure, from the SDK's error types, never from the message's wording.
        failure: Failure,
        message: String,
    },
    #[error("{operation} answered something that is not JSON: {message}")]
    Body { operation: Op, message: String },
    #[error("no region for {0}: pass --region, or set AWS_REGION or a region in the profile")]
    NoRegion(String),
    /// Found before any call, so a scheduled run without credentials fails as a whole with the
    /// reason (exit 2), not as every scope's first call.
    #[error(
        "no AWS credentials for {who}: {cause}; set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is attached (an instance profile, IRSA or EKS Pod Identity)"
    )]
    NoCredentials { who: String, cause: String },
}

/// The codes of a fault on the service's side (HTTP 5xx) in the AWS JSON protocols.
const SERVER_ERRORS: &[&str] = &[
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// The codes of credentials the service does not know: unknown keys, or any keys in an opt-in
/// region the account has not enabled. Denied, and in a region a reason to skip it.
const UNKNOWN_CREDENTIALS: &[&str] = &["UnrecognizedClientException", "InvalidClientTokenId"];

/// The codes of a refusal of known credentials: a missing permission, expired keys.
const DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "ExpiredTokenException",
    "UnauthorizedOperation",
];

/// The codes of a region the account has not enabled, besides unknown credentials.
const NOT_ENABLED: &[&str] = &["OptInRequired", "AuthFailure"];

impl SourceError {
    /// Whether the same call may well succeed later: throttled, a fault on the service's side
    /// or a timeout, with the SDK's retries spent.
    pub fn is_transient(&self) -> bool {
        use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
        match self {
            SourceError::Call {
                failure: Failure::Unreachable,
                ..
            } => true,
            SourceError::Call {
                code: Some(code), ..
            } => [THROTTLING_ERRORS, TRANSIENT_ERRORS, SERVER_ERRORS]
                .iter()
                .any(|codes| codes.contains(&code.as_str())),
            _ => false,
        }
    }

    /// Whether the service refused these credentials (a missing permission, unknown or expired
    /// keys), from its error code.
    pub fn is_denied(&self) -> bool {
        self.code_in(&[DENIED, UNKNOWN_CREDENTIALS])
    }

    /// What an opt-in region the account has not enabled answers (its credentials are unknown
    /// there), or a region whose endpoint cannot be reached (the service is not offered there).
    pub fn is_region_not_enabled(&self) -> bool {
        matches!(
            self,
            SourceError::Call {
                failure: Failure::Unreachable,
                ..
            }
        ) || self.code_in(&[NOT_ENABLED, UNKNOWN_CREDENTIALS])
    }

    fn code_in(&self, lists: &[&[&str]]) -> bool {
        matches!(self, SourceError::Call { code: Some(code), .. }
            if lists.iter().any(|codes| codes.contains(&code.as_str())))
    }
}

#[cfg(test)]
impl SourceError {
    /// What a service answers a call the credentials may not make, with this error code: the
    /// refusal the in-process fakes of every service give.
    pub fn refused(operation: Op, code: &str) -> SourceError {
        SourceError::Call {
            operation,
            code: Some(code.into()),
            failure: Failure::Service,
            message: format!("not authorized to perform {operation}"),
        }
    }
}
