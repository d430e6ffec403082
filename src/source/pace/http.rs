//! The SDK's HTTP client, made to wait for the pace an attempt carries (put there by
//! [`crate::source::capture::Capture`] before each transmit) and to hand the answer the
//! [`Ticket`] of the pace it was sent at; attempts without a pace pass at once.

use std::sync::Arc;

use aws_sdk_sagemaker::config::{HttpClient, RuntimeComponents, SharedHttpClient};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use super::{Pace, Ticket};

#[derive(Debug)]
pub struct Paced(pub SharedHttpClient);

impl HttpClient for Paced {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector(self.0.http_connector(settings, components)))
    }
}

#[derive(Debug)]
struct PacedConnector(SharedHttpConnector);

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(pace) = request.extension::<Arc<Pace>>().cloned() else {
            return self.0.call(request);
        };
        let inner = self.0.clone();
        HttpConnectorFuture::new(async move {
            let ticket: Ticket = pace.wait().await;
            let mut response = inner.call(request).await?;
            response.add_extension(ticket);
            Ok(response)
        })
    }
}

/// The SDK's default HTTP client (the one a client built with no `http_client` uses), paced.
pub fn default_client() -> Option<SharedHttpClient> {
    use aws_sdk_sagemaker::config::{BehaviorVersion, RuntimeComponentsBuilder, RuntimePlugin};
    let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(
        BehaviorVersion::latest(),
    )?;
    let inner = plugin
        .runtime_components(&RuntimeComponentsBuilder::new("sagesync"))
        .http_client()?;
    Some(SharedHttpClient::new(Paced(inner)))
}
