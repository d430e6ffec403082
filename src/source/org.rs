//! An AWS organization's accounts, for `--org-role`: ListAccounts, or ListAccountsForParent under
//! each `--org-unit` and its child units, from the base credentials (the management account or a
//! delegated administrator). Only ACTIVE accounts count; `--account`/`--skip-account` filter them.

use aws_config::SdkConfig;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};

use super::SourceError;
use crate::model::op::Op;

/// What `--org-role` and its companions ask for.
#[derive(Debug, Clone, Default)]
pub struct OrgOptions {
    /// The role assumed in each account: `arn:PARTITION:iam::ACCOUNT:role/NAME`.
    pub role: String,
    pub units: Vec<String>,
    pub accounts: Vec<String>,
    pub skip_accounts: Vec<String>,
    pub external_id: Option<String>,
}

/// One account to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    /// The management account: synced with the base credentials if the role cannot be assumed.
    pub management: bool,
}

/// The organization's active accounts, filtered, sorted by id.
pub async fn members(base: &SdkConfig, opts: &OrgOptions) -> Result<Vec<Member>, SourceError> {
    let client = Client::new(base);
    let org = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| super::api::call_error(Op::DescribeOrganization, e))?;
    let management = org
        .organization()
        .and_then(|o| o.master_account_id())
        .map(str::to_string);
    let mut accounts = Vec::new();
    if opts.units.is_empty() {
        let mut pages = client.list_accounts().into_paginator().send();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| super::api::call_error(Op::ListAccounts, e))?
        {
            accounts.extend(page.accounts().iter().cloned());
        }
    } else {
        let mut parents = opts.units.clone();
        while let Some(parent) = parents.pop() {
            accounts.extend(under(&client, &parent).await?);
            let mut pages = client
                .list_organizational_units_for_parent()
                .parent_id(&parent)
                .into_paginator()
                .send();
            while let Some(page) = pages
                .try_next()
                .await
                .map_err(|e| super::api::call_error(Op::ListOrganizationalUnitsForParent, e))?
            {
                let units = page.organizational_units().iter();
                parents.extend(units.filter_map(|u| u.id().map(str::to_string)));
            }
        }
    }
    let mut out: Vec<Member> = accounts
        .iter()
        .filter(|a| active(a))
        .filter_map(|a| a.id())
        .filter(|id| opts.accounts.is_empty() || opts.accounts.iter().any(|x| x == id))
        .filter(|id| !opts.skip_accounts.iter().any(|x| x == id))
        .map(|id| Member {
            id: id.to_string(),
            management: management.as_deref() == Some(id),
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup();
    Ok(out)
}

async fn under(client: &Client, parent: &str) -> Result<Vec<Account>, SourceError> {
    let mut pages = client
        .list_accounts_for_parent()
        .parent_id(parent)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages
        .try_next()
        .await
        .map_err(|e| super::api::call_error(Op::ListAccountsForParent, e))?
    {
        out.extend(page.accounts().iter().cloned());
    }
    Ok(out)
}

/// State replaces Status (retired 2026-09-09); a server that sends only Status is still read.
fn active(a: &Account) -> bool {
    match a.state() {
        Some(state) => *state == AccountState::Active,
        None => a.status() == Some(&AccountStatus::Active),
    }
}
