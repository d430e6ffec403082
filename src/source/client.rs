//! Scopes: every combination of credentials (default chain, `--profile`, `--role-arn` assumed
//! from them, or each account of an organization with `--org-role`) and region (`--region`, or
//! `--all-regions`). Credentials and region are found exactly as the aws CLI finds them
//! (environment, profiles, SSO, IMDS, `AWS_ENDPOINT_URL`). A scope builds its client only when it
//! runs, so thousands of scopes cost little memory before their turn.

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::config::retry::RetryConfig;
use aws_smithy_types::retry::RetrySpec;

use super::SourceError;
use super::org::{self, OrgOptions};
use crate::model::scope::ScopeId;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub profiles: Vec<String>,
    pub role_arns: Vec<String>,
    pub regions: Vec<String>,
    /// Every region where SageMaker is offered in the base region's partition.
    pub all_regions: bool,
    /// `--org-role`: the organization's accounts instead of `--role-arn`.
    pub org: Option<OrgOptions>,
    pub endpoint_url: Option<String>,
    /// Attempts per call; the SDK's standard retry retries only throttling, timeouts and 5xx.
    pub max_attempts: u32,
}

/// One (credentials, region) pair, synced independently of the others.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Who and where: `profile[+role]`, or an organization's `account` (with `profile:` before
    /// it for a profile other than the default), and the region.
    pub id: ScopeId,
    /// The account, when known before any call (an organization's account).
    pub account: Option<String>,
    /// The role assumed for this scope, for messages when it cannot be.
    pub role_arn: Option<String>,
    config: SdkConfig,
    credentials: Option<SharedCredentialsProvider>,
    /// `--endpoint-url` is in `config`: SageMaker's alone.
    sagemaker_endpoint: bool,
}

impl Scope {
    /// The scope's SageMaker client. Its retry partition and the pace of each operation are
    /// [`super::Api`]'s: every call names them.
    pub fn client(&self) -> Client {
        let mut config = aws_sdk_sagemaker::config::Builder::from(&self.config);
        if let Some(credentials) = &self.credentials {
            config = config.credentials_provider(credentials.clone());
        }
        Client::from_conf(config.build())
    }

    /// The scope's CloudWatch client: its credentials and region, `AWS_ENDPOINT_URL_CLOUDWATCH`
    /// but never SageMaker's `--endpoint-url`. An endpoint that cannot be reached fails within
    /// seconds, as the Price List's does.
    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        let mut config =
            aws_sdk_cloudwatch::config::Builder::from(&self.config).timeout_config(timeouts());
        if self.sagemaker_endpoint {
            // What the SDK reads when no endpoint is configured in code: the environment's or
            // the profile's CloudWatch endpoint, else the service's own.
            use aws_types::service_config::ServiceConfigKey;
            let key = ServiceConfigKey::builder()
                .service_id("CloudWatch")
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build();
            let own = key
                .ok()
                .and_then(|key| self.config.service_config()?.load_config(key));
            config.set_endpoint_url(own);
        }
        if let Some(credentials) = &self.credentials {
            config = config.credentials_provider(credentials.clone());
        }
        aws_sdk_cloudwatch::Client::from_conf(config.build())
    }
}

#[cfg(test)]
impl Scope {
    /// A scope of `region` with no credentials, for a sync through an in-process SageMaker.
    pub fn for_test(who: &str, region: &str) -> Scope {
        Scope {
            id: ScopeId::new(who, region),
            account: None,
            role_arn: None,
            config: SdkConfig::builder()
                .region(Region::new(region.to_string()))
                .behavior_version(BehaviorVersion::latest())
                .build(),
            credentials: None,
            sagemaker_endpoint: false,
        }
    }
}

/// One set of credentials: who it is in a scope's id, the account if known, and what to assume.
struct Identity {
    who: String,
    account: Option<String>,
    role_arn: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
}

pub async fn scopes(opts: &ClientOptions) -> Result<Vec<Scope>, SourceError> {
    let profiles: Vec<Option<&str>> = if opts.profiles.is_empty() {
        vec![None]
    } else {
        opts.profiles.iter().map(|p| Some(p.as_str())).collect()
    };
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for profile in &profiles {
        let profile = *profile;
        let first = opts.regions.first().map(String::as_str);
        let base = load(opts, profile, first).await;
        let who = profile.unwrap_or("the default profile");
        let home = base
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| SourceError::NoRegion(who.to_string()))?;
        if let Err(e) = have_credentials(&base, who).await {
            // One profile without credentials fails its own scopes at their first call, as any
            // other failing scope; the run stops here only when no profile has any.
            missing.push(e);
        }
        let regions: Vec<String> = if opts.all_regions {
            super::regions::all_in_partition_of(&home)
                .iter()
                .map(|r| r.to_string())
                .collect()
        } else if opts.regions.is_empty() {
            vec![home.clone()]
        } else {
            opts.regions.clone()
        };
        let identities = match &opts.org {
            Some(org) => members(&base, org, profile, &home).await?,
            None => roles(&base, opts, profile).await,
        };
        for id in identities {
            for region in &regions {
                out.push(Scope {
                    id: ScopeId::new(id.who.clone(), region.clone()),
                    account: id.account.clone(),
                    role_arn: id.role_arn.clone(),
                    config: base
                        .to_builder()
                        .region(Region::new(region.clone()))
                        .build(),
                    credentials: id.credentials.clone(),
                    sagemaker_endpoint: opts.endpoint_url.is_some(),
                });
            }
        }
    }
    if missing.len() == profiles.len()
        && let Some(e) = missing.into_iter().next()
    {
        return Err(e);
    }
    Ok(out)
}

/// Resolves the base credentials once up front, outside the clients' cache: one more lookup a
/// run (an STS call under IRSA).
async fn have_credentials(base: &SdkConfig, who: &str) -> Result<(), SourceError> {
    use aws_credential_types::provider::ProvideCredentials;
    let no_credentials = |cause: String| SourceError::NoCredentials {
        who: who.to_string(),
        cause,
    };
    let Some(provider) = base.credentials_provider() else {
        return Err(no_credentials(
            "no credentials provider is configured".into(),
        ));
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        // The SDK's error chain says what was tried and why it failed; it holds no secret.
        Err(e) => {
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                cause = format!("{cause}: {s}");
                source = s.source();
            }
            Err(no_credentials(cause.trim_end_matches('.').to_string()))
        }
    }
}

/// The base credentials, or each `--role-arn` assumed from them.
async fn roles(base: &SdkConfig, opts: &ClientOptions, profile: Option<&str>) -> Vec<Identity> {
    let name = profile.unwrap_or("default");
    if opts.role_arns.is_empty() {
        return vec![Identity {
            who: name.to_string(),
            account: None,
            role_arn: None,
            credentials: None,
        }];
    }
    let mut out = Vec::new();
    for role in &opts.role_arns {
        out.push(Identity {
            who: format!("{name}+{role}"),
            account: None,
            role_arn: Some(role.clone()),
            credentials: Some(assume(base, role, None).await),
        });
    }
    out
}

/// Each account of the organization, reached through `--org-role`; the management account falls
/// back to the base credentials when the role cannot be assumed there.
async fn members(
    base: &SdkConfig,
    org: &OrgOptions,
    profile: Option<&str>,
    home: &str,
) -> Result<Vec<Identity>, SourceError> {
    let partition = crate::model::arn::partition_of(home);
    let mut out = Vec::new();
    for m in org::members(&org::SdkOrganization::new(base), org).await? {
        let role = format!("arn:{partition}:iam::{}:role/{}", m.id, org.role);
        let assumed = assume(base, &role, org.external_id.as_deref()).await;
        let credentials = match (m.management, base.credentials_provider()) {
            (true, Some(own)) => SharedCredentialsProvider::new(OrOwn { assumed, own }),
            _ => assumed,
        };
        out.push(Identity {
            who: match profile {
                Some(p) => format!("{p}:{}", m.id),
                None => m.id.clone(),
            },
            account: Some(m.id),
            role_arn: Some(role),
            credentials: Some(credentials),
        });
    }
    Ok(out)
}

/// Credentials for a role, assumed from the base credentials when first needed and renewed by the
/// SDK before they expire, however long the sync.
async fn assume(
    base: &SdkConfig,
    role: &str,
    external_id: Option<&str>,
) -> SharedCredentialsProvider {
    let mut builder = AssumeRoleProvider::builder(role).session_name("sagesync");
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    SharedCredentialsProvider::new(builder.configure(base).build().await)
}

async fn load(opts: &ClientOptions, profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).retry_config(retries(opts.max_attempts));
    // Standard retries: each SageMaker operation has a pace of its own (`pace`) in place of the
    // SDK's adaptive limiter, whose half-second measure is too coarse at 2 calls/s.
    if let Some(http) = super::pace::http::default_client() {
        loader = loader.http_client(http);
    }
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The SDK's standard retries (throttling, timeouts and 5xx) with Retry Behavior 2.1: a 50 ms
/// backoff for errors other than throttling.
fn retries(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts.max(1))
        .with_retry_spec(RetrySpec::v2_1())
}

/// Configuration for the account-wide services (Price List, Cost Explorer) in `region`, from
/// `profile`'s credentials or the default chain. `--endpoint-url` is SageMaker's alone: these
/// follow `AWS_ENDPOINT_URL_PRICING` and `AWS_ENDPOINT_URL_COST_EXPLORER` as the SDK reads them.
/// An endpoint that cannot be reached (a network with no route to it) fails within seconds
/// rather than holding a sync up.
pub async fn account_config(profile: Option<&str>, region: &str, max_attempts: u32) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retries(max_attempts))
        .timeout_config(timeouts())
        .region(Region::new(region.to_string()));
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    loader.load().await
}

/// Timeouts of the services besides SageMaker: a connection within 3 s, an attempt within 30.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(30))
        .build()
}

/// The management account's credentials: the org role when it exists there, else the base
/// credentials, which belong to that account. (The SDK's provider chain moves on only when a
/// provider has no credentials at all, not when assuming a role fails.)
#[derive(Debug)]
struct OrOwn {
    assumed: SharedCredentialsProvider,
    own: SharedCredentialsProvider,
}

impl ProvideCredentials for OrOwn {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            match self.assumed.provide_credentials().await {
                Ok(credentials) => Ok(credentials),
                Err(e) => {
                    tracing::debug!(
                        "the org role cannot be assumed in the management account ({e}); using the base credentials"
                    );
                    self.own.provide_credentials().await
                }
            }
        })
    }
}
