//! Captures the raw JSON body of a response. Attached per call, so each call has its own slot.
//! It also hands each attempt its operation's [`Pace`] and tells the pace how the service answered.
//!
//! `read_after_deserialization` is the first hook where the body is buffered bytes rather than a
//! stream; the SDK's own types are not used for the data, since they have no serde and drop
//! members newer than the SDK.

use std::sync::{Arc, Mutex};

use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_sdk_sagemaker::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_sagemaker::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sagemaker::error::BoxError;
use serde_json::Value;

use super::SourceError;
use super::pace::{Pace, Ticket};
use crate::model::op::Op;

#[derive(Debug, Clone)]
pub struct Capture {
    body: Arc<Mutex<Option<Vec<u8>>>>,
    pace: Arc<Pace>,
}

/// An error's code: the `x-amzn-query-error` header of the RPC v2 CBOR services that keep their
/// query codes (CloudWatch: `Throttling;Sender`), else awsJson's `X-Amzn-ErrorType` header or
/// body's `__type`, without the namespace (`com.amazonaws.sagemaker#ThrottlingException`) or a
/// `:` suffix.
fn error_code(query: Option<&str>, header: Option<&str>, body: Option<&[u8]>) -> Option<String> {
    if let Some((code, _)) = query.and_then(|q| q.split_once(';')) {
        return Some(code.to_string());
    }
    let from_body = || {
        let v: Value = serde_json::from_slice(body?).ok()?;
        v.get("__type")?.as_str().map(str::to_string)
    };
    let code = header.map(str::to_string).or_else(from_body)?;
    let code = code.split(':').next().unwrap_or_default();
    Some(code.rsplit('#').next().unwrap_or_default().to_string())
}

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "sagesync-capture"
    }

    // Per attempt: a retried request is a clone, and clones lose their extensions.
    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context.request_mut().add_extension(self.pace.clone());
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let ticket = response.extension::<Ticket>().copied();
        if response.status().is_success() {
            self.pace.answered(ticket);
        } else {
            let headers = response.headers();
            let code = error_code(
                headers.get("x-amzn-query-error"),
                headers.get("x-amzn-errortype"),
                response.body().bytes(),
            );
            if code.is_some_and(|c| THROTTLING_ERRORS.contains(&c.as_str())) {
                self.pace.throttled(ticket);
            }
        }
        if let Some(bytes) = response.body().bytes()
            && let Ok(mut slot) = self.body.lock()
        {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}

impl Capture {
    /// The capture of a call whose attempts wait for `pace`.
    pub fn paced(pace: &Arc<Pace>) -> Self {
        Capture {
            body: Arc::default(),
            pace: pace.clone(),
        }
    }

    /// The captured body as JSON.
    pub fn json(&self, operation: Op) -> Result<Value, SourceError> {
        let body = self
            .body
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| SourceError::Body {
                operation,
                message: "the response body was not captured".into(),
            })?;
        serde_json::from_slice(&body).map_err(|e| SourceError::Body {
            operation,
            message: e.to_string(),
        })
    }
}
