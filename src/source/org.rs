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

/// One account as Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub active: bool,
}

/// AWS Organizations as `members` sees it. [`SdkOrganization`] is the service; the in-process
/// tests answer from memory.
pub trait Organization: Sync {
    /// The management account's id.
    fn management(&self) -> impl Future<Output = Result<Option<String>, SourceError>> + Send;
    /// Every account of the organization.
    fn accounts(&self) -> impl Future<Output = Result<Vec<Listed>, SourceError>> + Send;
    /// The accounts directly under a root or organizational unit.
    fn accounts_under(
        &self,
        parent: &str,
    ) -> impl Future<Output = Result<Vec<Listed>, SourceError>> + Send;
    /// The organizational units directly under a root or unit.
    fn units_under(
        &self,
        parent: &str,
    ) -> impl Future<Output = Result<Vec<String>, SourceError>> + Send;
}

/// The organization's active accounts, filtered, sorted by id: every account, or those under
/// each `--org-unit` and its child units.
pub async fn members(
    org: &impl Organization,
    opts: &OrgOptions,
) -> Result<Vec<Member>, SourceError> {
    let management = org.management().await?;
    let mut accounts = Vec::new();
    if opts.units.is_empty() {
        accounts = org.accounts().await?;
    } else {
        let mut parents = opts.units.clone();
        while let Some(parent) = parents.pop() {
            accounts.extend(org.accounts_under(&parent).await?);
            parents.extend(org.units_under(&parent).await?);
        }
    }
    let mut out: Vec<Member> = accounts
        .iter()
        .filter(|a| a.active)
        .map(|a| a.id.as_str())
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

/// Organizations through the SDK, from the base credentials.
pub struct SdkOrganization {
    client: Client,
}

impl SdkOrganization {
    pub fn new(base: &SdkConfig) -> Self {
        SdkOrganization {
            client: Client::new(base),
        }
    }
}

impl Organization for SdkOrganization {
    async fn management(&self) -> Result<Option<String>, SourceError> {
        let org = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| super::api::call_error(Op::DescribeOrganization, e))?;
        Ok(org
            .organization()
            .and_then(|o| o.master_account_id())
            .map(str::to_string))
    }

    async fn accounts(&self) -> Result<Vec<Listed>, SourceError> {
        let mut out = Vec::new();
        let mut pages = self.client.list_accounts().into_paginator().send();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| super::api::call_error(Op::ListAccounts, e))?
        {
            out.extend(page.accounts().iter().filter_map(listed));
        }
        Ok(out)
    }

    async fn accounts_under(&self, parent: &str) -> Result<Vec<Listed>, SourceError> {
        let mut pages = self
            .client
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
            out.extend(page.accounts().iter().filter_map(listed));
        }
        Ok(out)
    }

    async fn units_under(&self, parent: &str) -> Result<Vec<String>, SourceError> {
        let mut pages = self
            .client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| super::api::call_error(Op::ListOrganizationalUnitsForParent, e))?
        {
            let units = page.organizational_units().iter();
            out.extend(units.filter_map(|u| u.id().map(str::to_string)));
        }
        Ok(out)
    }
}

/// An account with its id; State replaces Status (retired 2026-09-09), and a server that sends
/// only Status is still read.
fn listed(a: &Account) -> Option<Listed> {
    let active = match a.state() {
        Some(state) => *state == AccountState::Active,
        None => a.status() == Some(&AccountStatus::Active),
    };
    Some(Listed {
        id: a.id()?.to_string(),
        active,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// An organization in memory: units by parent, accounts by parent (id, active).
    #[derive(Default)]
    struct Memory {
        management: Option<&'static str>,
        units: BTreeMap<&'static str, Vec<&'static str>>,
        accounts: BTreeMap<&'static str, Vec<(&'static str, bool)>>,
        denied: bool,
    }

    impl Memory {
        fn under(&self, parent: &str) -> Vec<Listed> {
            let accounts = self.accounts.get(parent).into_iter().flatten();
            accounts
                .map(|(id, active)| Listed {
                    id: id.to_string(),
                    active: *active,
                })
                .collect()
        }
    }

    impl Organization for Memory {
        async fn management(&self) -> Result<Option<String>, SourceError> {
            if self.denied {
                return Err(SourceError::refused(
                    Op::DescribeOrganization,
                    "AccessDeniedException",
                ));
            }
            Ok(self.management.map(str::to_string))
        }

        async fn accounts(&self) -> Result<Vec<Listed>, SourceError> {
            Ok(self.accounts.keys().flat_map(|p| self.under(p)).collect())
        }

        async fn accounts_under(&self, parent: &str) -> Result<Vec<Listed>, SourceError> {
            Ok(self.under(parent))
        }

        async fn units_under(&self, parent: &str) -> Result<Vec<String>, SourceError> {
            let units = self.units.get(parent).into_iter().flatten();
            Ok(units.map(|u| u.to_string()).collect())
        }
    }

    fn org() -> Memory {
        Memory {
            management: Some("111111111111"),
            units: BTreeMap::from([("r-root", vec!["ou-a"]), ("ou-a", vec!["ou-a1"])]),
            accounts: BTreeMap::from([
                (
                    "r-root",
                    vec![("111111111111", true), ("999999999999", false)],
                ),
                ("ou-a", vec![("222222222222", true)]),
                (
                    "ou-a1",
                    vec![("333333333333", true), ("444444444444", true)],
                ),
            ]),
            denied: false,
        }
    }

    fn ids(members: &[Member]) -> Vec<&str> {
        members.iter().map(|m| m.id.as_str()).collect()
    }

    #[tokio::test]
    async fn every_active_account_once_with_the_management_account_marked() {
        let members = members(&org(), &OrgOptions::default()).await.unwrap();
        assert_eq!(
            ids(&members),
            [
                "111111111111",
                "222222222222",
                "333333333333",
                "444444444444"
            ],
            "the suspended account is left out"
        );
        assert!(members[0].management && !members[1].management);
    }

    #[tokio::test]
    async fn a_unit_counts_its_child_units_and_accounts_filter_the_rest() {
        let opts = OrgOptions {
            units: vec!["ou-a".into()],
            ..OrgOptions::default()
        };
        let under = members(&org(), &opts).await.unwrap();
        assert_eq!(
            ids(&under),
            ["222222222222", "333333333333", "444444444444"]
        );
        let opts = OrgOptions {
            units: vec!["ou-a".into(), "ou-a1".into()],
            skip_accounts: vec!["444444444444".into()],
            ..OrgOptions::default()
        };
        let filtered = members(&org(), &opts).await.unwrap();
        assert_eq!(
            ids(&filtered),
            ["222222222222", "333333333333"],
            "a unit named twice counts once"
        );
        let opts = OrgOptions {
            accounts: vec!["333333333333".into()],
            ..OrgOptions::default()
        };
        assert_eq!(
            ids(&members(&org(), &opts).await.unwrap()),
            ["333333333333"]
        );
    }

    #[tokio::test]
    async fn a_refused_organization_is_an_error_that_says_denied() {
        let refused = Memory {
            denied: true,
            ..org()
        };
        let e = members(&refused, &OrgOptions::default()).await.unwrap_err();
        assert!(e.is_denied(), "{e}");
    }
}
