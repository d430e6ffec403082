//! Captures the raw JSON body of a response. Attached per call, so each call has its own slot.
//!
//! `read_after_deserialization` is the first hook where the body is buffered bytes rather than a
//! stream; the SDK's own types are not used for the data, since they have no serde and drop
//! members newer than the SDK.

use std::sync::{Arc, Mutex};

use aws_sdk_sagemaker::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_sagemaker::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sagemaker::error::BoxError;
use serde_json::Value;

use super::SourceError;

#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "sagesync-capture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes()
            && let Ok(mut slot) = self.0.lock()
        {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}

impl Capture {
    /// The captured body as JSON.
    pub fn json(&self, operation: &'static str) -> Result<Value, SourceError> {
        let body = self
            .0
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
