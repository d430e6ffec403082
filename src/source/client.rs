//! Scopes: every combination of credentials (default chain, `--profile`, `--role-arn` assumed
//! from them) and region, each with its own client. Credentials and region are found exactly as
//! the aws CLI finds them (environment, profiles, SSO, IMDS, `AWS_ENDPOINT_URL`).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::config::retry::{RetryConfig, RetryPartition, TokenBucket};

use super::SourceError;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub profiles: Vec<String>,
    pub role_arns: Vec<String>,
    pub regions: Vec<String>,
    pub endpoint_url: Option<String>,
    /// Attempts per call; the SDK's adaptive retry retries only throttling, timeouts and 5xx.
    pub max_attempts: u32,
}

/// One (credentials, region) pair, synced independently of the others.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `profile[+role]@region`, shown to people and used to key the scope's cursor.
    pub label: String,
    pub region: String,
    pub client: Client,
}

pub async fn scopes(opts: &ClientOptions) -> Result<Vec<Scope>, SourceError> {
    let profiles: Vec<Option<&str>> = if opts.profiles.is_empty() {
        vec![None]
    } else {
        opts.profiles.iter().map(|p| Some(p.as_str())).collect()
    };
    let roles: Vec<Option<&str>> = if opts.role_arns.is_empty() {
        vec![None]
    } else {
        opts.role_arns.iter().map(|r| Some(r.as_str())).collect()
    };
    let regions: Vec<Option<&str>> = if opts.regions.is_empty() {
        vec![None]
    } else {
        opts.regions.iter().map(|r| Some(r.as_str())).collect()
    };
    let mut out = Vec::new();
    for profile in &profiles {
        for region in &regions {
            let base = load(opts, *profile, *region).await;
            let region_name = base.region().map(|r| r.to_string()).ok_or_else(|| {
                SourceError::NoRegion(profile.unwrap_or("the default profile").to_string())
            })?;
            for role in &roles {
                let mut config = aws_sdk_sagemaker::config::Builder::from(&base);
                if let Some(role) = role {
                    let provider = aws_config::sts::AssumeRoleProvider::builder(*role)
                        .session_name("sagesync")
                        .configure(&base)
                        .build()
                        .await;
                    config = config.credentials_provider(provider);
                }
                let label = match role {
                    Some(role) => format!("{}+{role}@{region_name}", profile.unwrap_or("default")),
                    None => format!("{}@{region_name}", profile.unwrap_or("default")),
                };
                // Retries are bounded by --max-attempts alone: the SDK's shared retry quota would
                // otherwise run dry in a throttling storm and leave jobs unsynced. Each scope gets
                // its own partition, so the adaptive rate of one account does not slow another.
                let partition = RetryPartition::custom(format!("sagesync {label}"))
                    .token_bucket(TokenBucket::unlimited())
                    .build();
                let config = config.retry_partition(partition);
                out.push(Scope {
                    label,
                    region: region_name.clone(),
                    client: Client::from_conf(config.build()),
                });
            }
        }
    }
    Ok(out)
}

async fn load(opts: &ClientOptions, profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(opts.max_attempts.max(1)));
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
