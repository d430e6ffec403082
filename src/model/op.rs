//! The AWS operations sagesync calls, as a type from the call to the run's summary and the stored
//! paces: a count, a pace or an error names its operation by this, never by a string that could
//! be misspelt.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    ListTrainingJobs,
    DescribeTrainingJob,
    ListTags,
    Search,
    /// The Price List (`pricing`).
    GetProducts,
    /// Cost Explorer (`ce`).
    GetCostAndUsage,
    /// CloudWatch.
    GetMetricData,
    DescribeOrganization,
    ListAccounts,
    ListOrganizationalUnitsForParent,
    ListAccountsForParent,
}

impl Op {
    /// Every operation, SageMaker's first in the order reports list them.
    pub const ALL: [Op; 11] = [
        Op::ListTrainingJobs,
        Op::DescribeTrainingJob,
        Op::ListTags,
        Op::Search,
        Op::GetProducts,
        Op::GetCostAndUsage,
        Op::GetMetricData,
        Op::DescribeOrganization,
        Op::ListAccounts,
        Op::ListOrganizationalUnitsForParent,
        Op::ListAccountsForParent,
    ];

    /// The SageMaker operations a sync calls in each scope, each counted and paced.
    pub const SAGEMAKER: [Op; 4] = [
        Op::ListTrainingJobs,
        Op::DescribeTrainingJob,
        Op::ListTags,
        Op::Search,
    ];

    /// The quota the operation is known to have, calls a second per account and region, that
    /// its pace starts under when no recent run left one; `None` for those sagesync does not
    /// pace (a few calls a run).
    pub const fn known_quota(self) -> Option<f64> {
        match self {
            Op::ListTrainingJobs | Op::Search => Some(2.0),
            Op::DescribeTrainingJob | Op::ListTags => Some(20.0),
            Op::GetMetricData => Some(50.0),
            _ => None,
        }
    }

    /// The operation's name as messages show it: SageMaker's and CloudWatch's bare, the others
    /// with their service's IAM prefix, as the permission a denied call lacks is named.
    pub const fn name(self) -> &'static str {
        match self {
            Op::ListTrainingJobs => "ListTrainingJobs",
            Op::DescribeTrainingJob => "DescribeTrainingJob",
            Op::ListTags => "ListTags",
            Op::Search => "Search",
            Op::GetProducts => "pricing:GetProducts",
            Op::GetCostAndUsage => "ce:GetCostAndUsage",
            Op::GetMetricData => "GetMetricData",
            Op::DescribeOrganization => "organizations:DescribeOrganization",
            Op::ListAccounts => "organizations:ListAccounts",
            Op::ListOrganizationalUnitsForParent => {
                "organizations:ListOrganizationalUnitsForParent"
            }
            Op::ListAccountsForParent => "organizations:ListAccountsForParent",
        }
    }

    /// The operation a stored name ([`Op::name`]) stands for.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_reads_back_as_its_operation() {
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        assert_eq!(Op::from_name("Describe"), None);
        assert!(Op::SAGEMAKER.iter().all(|op| op.known_quota().is_some()));
    }

    /// The SageMaker operations are the first four: their counts and paces are arrays of four
    /// indexed by `op as usize` (`source::api::Calls`, `source::sdk::Rates`).
    #[test]
    fn the_sagemaker_operations_come_first() {
        for (i, op) in Op::SAGEMAKER.into_iter().enumerate() {
            assert_eq!(op as usize, i, "{op}");
            assert_eq!(Op::ALL[i], op);
        }
    }
}
