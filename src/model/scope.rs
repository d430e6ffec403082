//! What names a scope, one set of credentials in one region: a key for the state kept about it
//! (its cursor, Search walk, the listing's seen set, its lock) and a label for people. They are
//! kept apart so that changing how a scope is shown never orphans its cursor, which would force
//! a full re-sync of it.

use std::fmt;

/// A scope's identity: who the credentials are and the region.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId {
    /// `profile[+role]`, an organization's `account`, or `profile:account`.
    who: String,
    region: String,
}

impl ScopeId {
    pub fn new(who: impl Into<String>, region: impl Into<String>) -> Self {
        ScopeId {
            who: who.into(),
            region: region.into(),
        }
    }

    /// The key the scope's state is stored under, `who@region`. Databases hold it: its form
    /// never changes.
    pub fn key(&self) -> String {
        format!("{}@{}", self.who, self.region)
    }

    /// How the scope is shown; the same text as its key today, free to change.
    pub fn label(&self) -> String {
        format!("{}@{}", self.who, self.region)
    }

    /// The credentials' part of the scope: a profile, a role or an account.
    pub fn who(&self) -> &str {
        &self.who
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}

impl fmt::Display for ScopeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key is in every database that ever synced the scope.
    #[test]
    fn the_key_keeps_its_form() {
        let id = ScopeId::new("default+123456789012:Audit", "eu-central-1");
        assert_eq!(id.key(), "default+123456789012:Audit@eu-central-1");
    }
}
