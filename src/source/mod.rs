//! The AWS side: one SageMaker client per scope (credentials × region) and the calls a sync
//! makes, each returning the response body exactly as the service sent it, so members newer
//! than the SDK still reach `raw`.

pub mod api;
pub mod billing;
pub mod capture;
pub mod client;
pub mod org;
pub mod pace;
pub mod pricing;
pub mod regions;
pub mod sdk;

pub use api::{Api, Calls, RateLimit};
pub use client::{ClientOptions, Scope};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{operation} failed: {message}")]
    Call {
        operation: &'static str,
        /// The service's error code, when it answered.
        code: Option<String>,
        message: String,
    },
    #[error("{operation} answered something that is not JSON: {message}")]
    Body {
        operation: &'static str,
        message: String,
    },
    #[error("no region for {0}: pass --region, or set AWS_REGION or a region in the profile")]
    NoRegion(String),
}
