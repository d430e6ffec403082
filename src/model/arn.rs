//! Training job ARNs: where account, region and partition come from, and how a name-only record
//! gets its ARN.

/// The parts of `arn:PARTITION:sagemaker:REGION:ACCOUNT:training-job/NAME` the table keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
}

pub fn parse(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, partition, service, region, account_id, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let valid = prefix == "arn"
        && partition.starts_with("aws")
        && service == "sagemaker"
        && !region.is_empty()
        && !account_id.is_empty()
        && resource.starts_with("training-job/")
        && resource.len() > "training-job/".len();
    valid.then_some(Arn {
        partition,
        region,
        account_id,
    })
}

/// The partition a region belongs to, for ARNs sagesync has to build itself.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// The ARN SageMaker gives a job: the name is lowercased in it.
pub fn build(region: &str, account_id: &str, name: &str) -> String {
    format!(
        "arn:{}:sagemaker:{region}:{account_id}:training-job/{}",
        partition_of(region),
        name.to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partitions() {
        let a = parse("arn:aws-cn:sagemaker:cn-north-1:123456789012:training-job/x").unwrap();
        assert_eq!(
            (a.partition, a.region, a.account_id),
            ("aws-cn", "cn-north-1", "123456789012")
        );
        assert!(parse("arn:aws:s3:::bucket").is_none());
        assert!(parse("not an arn").is_none());
        assert_eq!(
            build("us-gov-west-1", "1", "Job-A"),
            "arn:aws-us-gov:sagemaker:us-gov-west-1:1:training-job/job-a"
        );
    }
}
