//! The regions `--all-regions` syncs: where SageMaker is offered, per partition. The SDK carries
//! the partitions' region patterns but no per-service list, so the list is kept here, in one place.
//! A region added after this date is reached with `--region`; one an account has not enabled is
//! skipped with a warning (see `sync`).

/// When the list below was last checked against the AWS regional services list.
pub const CHECKED: &str = "2026-11-23";

const AWS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];
const AWS_CN: &[&str] = &["cn-north-1", "cn-northwest-1"];
const AWS_US_GOV: &[&str] = &["us-gov-east-1", "us-gov-west-1"];

/// SageMaker's regions in the partition of `region` (the base credentials' region).
pub fn all_in_partition_of(region: &str) -> &'static [&'static str] {
    match crate::model::arn::partition_of(region) {
        "aws-cn" => AWS_CN,
        "aws-us-gov" => AWS_US_GOV,
        _ => AWS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_partition_lists_its_own_regions() {
        assert!(all_in_partition_of("eu-west-1").contains(&"us-east-1"));
        assert_eq!(all_in_partition_of("cn-north-1"), AWS_CN);
        assert_eq!(all_in_partition_of("us-gov-west-1"), AWS_US_GOV);
        let mut sorted = AWS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, AWS, "kept sorted, no duplicates");
    }
}
