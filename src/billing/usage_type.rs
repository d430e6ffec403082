//! AWS billing usage types of SageMaker training compute, `REGION-Train:INSTANCE` (e.g.
//! `USE1-Train:ml.m5.xlarge`), → region and instance type, for reconciling the bill with the
//! inventory. AWS publishes the region prefixes only as part of each service's usage types, so
//! the table is kept here, in one place.

/// When the prefixes below were last checked against AWS's usage types.
pub const CHECKED: &str = "2026-12-03";

const PREFIXES: &[(&str, &str)] = &[
    ("AFS1", "af-south-1"),
    ("APE1", "ap-east-1"),
    ("APN1", "ap-northeast-1"),
    ("APN2", "ap-northeast-2"),
    ("APN3", "ap-northeast-3"),
    ("APS1", "ap-southeast-1"),
    ("APS2", "ap-southeast-2"),
    ("APS3", "ap-south-1"),
    ("APS4", "ap-southeast-3"),
    ("APS5", "ap-south-2"),
    ("APS6", "ap-southeast-4"),
    ("CAN1", "ca-central-1"),
    ("CAN2", "ca-west-1"),
    ("EUC1", "eu-central-1"),
    ("EUC2", "eu-central-2"),
    ("EUN1", "eu-north-1"),
    ("EUS1", "eu-south-1"),
    ("EUS2", "eu-south-2"),
    ("EUW1", "eu-west-1"),
    ("EUW2", "eu-west-2"),
    ("EUW3", "eu-west-3"),
    ("ILC1", "il-central-1"),
    ("MEC1", "me-central-1"),
    ("MES1", "me-south-1"),
    ("SAE1", "sa-east-1"),
    ("UGE1", "us-gov-east-1"),
    ("UGW1", "us-gov-west-1"),
    ("USE1", "us-east-1"),
    ("USE2", "us-east-2"),
    ("USW1", "us-west-1"),
    ("USW2", "us-west-2"),
];

/// What a usage type says about training compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageType<'a> {
    /// Training compute in a region sagesync knows the prefix of.
    Training {
        region: &'static str,
        instance_type: &'a str,
    },
    /// Training compute, but the region prefix is not in the table (a region newer than it).
    UnknownRegion { prefix: &'a str },
    /// Anything else: hosting, notebooks, processing, storage, data transfer...
    Other,
}

pub fn parse(usage_type: &str) -> UsageType<'_> {
    let Some((prefix, instance_type)) = usage_type.split_once("-Train:") else {
        return UsageType::Other;
    };
    if !instance_type.starts_with("ml.") {
        return UsageType::Other;
    }
    match PREFIXES.iter().find(|(p, _)| *p == prefix) {
        Some((_, region)) => UsageType::Training {
            region,
            instance_type,
        },
        None => UsageType::UnknownRegion { prefix },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_compute_names_region_and_instance_type() {
        assert_eq!(
            parse("USE1-Train:ml.m5.xlarge"),
            UsageType::Training {
                region: "us-east-1",
                instance_type: "ml.m5.xlarge"
            }
        );
        assert_eq!(
            parse("EUW1-Train:ml.p4d.24xlarge"),
            UsageType::Training {
                region: "eu-west-1",
                instance_type: "ml.p4d.24xlarge"
            }
        );
    }

    #[test]
    fn other_usage_is_not_training() {
        for u in [
            "USE1-Host:ml.m5.xlarge",
            "USE1-Notebk:ml.t3.medium",
            "USE1-Train:VolumeUsage.gp2",
            "USE1-DataTransfer-Out-Bytes",
        ] {
            assert_eq!(parse(u), UsageType::Other, "{u}");
        }
        assert_eq!(
            parse("XXX9-Train:ml.m5.xlarge"),
            UsageType::UnknownRegion { prefix: "XXX9" }
        );
    }

    #[test]
    fn one_prefix_per_region() {
        let mut regions: Vec<_> = PREFIXES.iter().map(|(_, r)| *r).collect();
        regions.sort();
        let n = regions.len();
        regions.dedup();
        assert_eq!(regions.len(), n);
        assert!(PREFIXES.windows(2).all(|w| w[0].0 < w[1].0), "kept sorted");
    }
}
