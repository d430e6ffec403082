//! Who and where a command reads: the scopes' arguments `sync` and `metrics sync` share, turned
//! into [`ClientOptions`] by value.

use clap::Args;

use crate::source::ClientOptions;
use crate::source::org::OrgOptions;

#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Region to read (repeatable; default: the region the aws CLI would use)
    #[arg(help_heading = "Scope", long = "region", value_name = "REGION")]
    pub regions: Vec<String>,

    /// Named profile whose credentials to use (repeatable; default: the default chain)
    #[arg(help_heading = "Scope", long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,

    /// Role to assume from the base credentials (repeatable), e.g. one per account
    #[arg(
        help_heading = "Scope",
        long = "role-arn",
        value_name = "ARN",
        conflicts_with = "org_role"
    )]
    pub role_arns: Vec<String>,

    /// Every active account of the AWS organization, assuming this role (a name) in each;
    /// the base credentials are the management account's or a delegated administrator's
    #[arg(help_heading = "Scope", long, value_name = "NAME")]
    pub org_role: Option<String>,

    /// Only the accounts under this organizational unit and its children (repeatable)
    #[arg(
        help_heading = "Scope",
        long = "org-unit",
        value_name = "OU",
        requires = "org_role"
    )]
    pub org_units: Vec<String>,

    /// Only this account of the organization (repeatable)
    #[arg(
        help_heading = "Scope",
        long = "account",
        value_name = "ID",
        requires = "org_role"
    )]
    pub accounts: Vec<String>,

    /// Leave this account of the organization out (repeatable)
    #[arg(
        help_heading = "Scope",
        long = "skip-account",
        value_name = "ID",
        requires = "org_role"
    )]
    pub skip_accounts: Vec<String>,

    /// External id the org role's trust policy asks for
    #[arg(help_heading = "Scope", long, value_name = "ID", requires = "org_role")]
    pub external_id: Option<String>,

    /// Every region where SageMaker is offered in the partition; regions an account has not
    /// enabled are skipped with a warning
    #[arg(help_heading = "Scope", long, conflicts_with = "regions")]
    pub all_regions: bool,

    /// SageMaker endpoint, e.g. a local emulator (AWS_ENDPOINT_URL works too)
    #[arg(help_heading = "Scope", long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Attempts per call; only throttling, timeouts and 5xx are retried
    #[arg(help_heading = "Throughput", long, default_value_t = 10)]
    pub max_attempts: u32,
}

impl ScopeArgs {
    /// The profile account-wide services (the Price List) are read with: the first named, else
    /// the default chain.
    pub fn first_profile(&self) -> Option<&str> {
        self.profiles.first().map(String::as_str)
    }

    /// The options scopes are built from; the arguments stay whole, so nothing read after this
    /// finds a field taken.
    pub fn options(&self) -> ClientOptions {
        ClientOptions {
            profiles: self.profiles.clone(),
            role_arns: self.role_arns.clone(),
            regions: self.regions.clone(),
            all_regions: self.all_regions,
            org: self.org_role.clone().map(|role| OrgOptions {
                role,
                units: self.org_units.clone(),
                accounts: self.accounts.clone(),
                skip_accounts: self.skip_accounts.clone(),
                external_id: self.external_id.clone(),
            }),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: self.max_attempts,
        }
    }
}
