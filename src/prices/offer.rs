//! One Price List product, as `GetProducts` answers it (a JSON string in the public offer file's
//! shape), → the Training price it states, when it states one sagesync reads:
//!
//! - compute: family `ML Instance`, `platoinstancetype` `Training`, USD per `Hrs`, per region
//!   and instance type (`instanceName`, or what follows `Train:` in `usagetype`);
//! - training storage: family `ML Storage`, `usagetype` `REGION-Train:VolumeUsage.gp2`, USD per
//!   `GB-Mo`.
//!
//! A Training product also states the instance type's size (`physicalGpu`, `vCpu`, `gpuMemory`),
//! which utilization figures divide by ([`Size`]); an attribute that does not read is unknown,
//! never 0, and `N/A` (what the Price List writes of a part an instance lacks) is 0.
//!
//! Every other component (Hosting, SpotTraining, Processing, Notebook, ...) is not a training
//! price and is passed over. A product of ours whose price cannot be read is an error naming its
//! SKU, so the caller skips it rather than store a guess.

use serde_json::Value;

use crate::model::price::{Component, ListedPrice, Size};

/// The size a Training product's attributes state.
fn size_of(attrs: &Value) -> Size {
    let text = |key: &str| attrs[key].as_str().map(str::trim);
    let count = |v: Option<&str>| match v? {
        "N/A" | "NA" => Some(0),
        v => v.parse().ok(),
    };
    Size {
        gpus: count(text("physicalGpu").or_else(|| text("gpu"))),
        vcpus: count(text("vCpu")).filter(|n| *n > 0),
        // "80 GB", "80" or N/A.
        gpu_memory_gib: text("gpuMemory").and_then(|v| match v {
            "N/A" | "NA" => Some(0.0),
            v => v
                .trim_end_matches("GiB")
                .trim_end_matches("GB")
                .trim()
                .parse()
                .ok()
                .filter(|g: &f64| g.is_finite() && *g >= 0.0),
        }),
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OfferError {
    #[error("a Price List product that is not JSON ({0})")]
    NotJson(String),
    #[error("Price List product {sku}: {reason}")]
    Bad { sku: String, reason: String },
}

/// The training price `product` states, `None` for a product that is not one.
pub fn read(product: &str) -> Result<Option<ListedPrice>, OfferError> {
    let v: Value = serde_json::from_str(product).map_err(|e| {
        // The position alone: the text could be anything.
        OfferError::NotJson(format!("line {} column {}", e.line(), e.column()))
    })?;
    let p = &v["product"];
    let attrs = &p["attributes"];
    let text = |v: &Value| v.as_str().map(str::to_string);
    let sku = text(&p["sku"]).unwrap_or_else(|| "(no sku)".to_string());
    let bad = |reason: &str| OfferError::Bad {
        sku: sku.clone(),
        reason: reason.to_string(),
    };
    let Some(component) = component(p, attrs) else {
        return Ok(None);
    };
    let region = text(&attrs["regionCode"]).ok_or_else(|| bad("no regionCode"))?;
    let (usd, effective_date) = on_demand(&v["terms"]["OnDemand"], component.unit(), &bad)?;
    let size = matches!(component, Component::Training { .. }).then(|| size_of(attrs));
    Ok(Some(ListedPrice {
        region,
        component,
        usd,
        sku,
        effective_date,
        size,
    }))
}

fn component(product: &Value, attrs: &Value) -> Option<Component> {
    let usage = attrs["usagetype"].as_str().unwrap_or_default();
    match product["productFamily"].as_str()? {
        "ML Instance" if attrs["platoinstancetype"].as_str()? == "Training" => {
            let instance_type = attrs["instanceName"]
                .as_str()
                .or_else(|| usage.split_once("Train:").map(|(_, t)| t))
                .filter(|t| t.starts_with("ml."))?;
            Some(Component::Training {
                instance_type: instance_type.to_string(),
            })
        }
        "ML Storage" if usage.ends_with("Train:VolumeUsage.gp2") => Some(Component::Storage),
        _ => None,
    }
}

/// The one on-demand price: USD per `unit`, and the term's effective date.
fn on_demand(
    terms: &Value,
    unit: &str,
    bad: &dyn Fn(&str) -> OfferError,
) -> Result<(f64, Option<String>), OfferError> {
    let terms = terms.as_object().ok_or_else(|| bad("no OnDemand term"))?;
    let mut found = Vec::new();
    for term in terms.values() {
        let dims = term["priceDimensions"]
            .as_object()
            .ok_or_else(|| bad("an OnDemand term without priceDimensions"))?;
        for d in dims.values() {
            found.push((d, term["effectiveDate"].as_str()));
        }
    }
    let [(dim, effective)] = found[..] else {
        return Err(bad(&format!(
            "{} on-demand prices where one was expected",
            found.len()
        )));
    };
    match dim["unit"].as_str() {
        Some(u) if u == unit => {}
        Some(u) => return Err(bad(&format!("unit {u:?}, not {unit}"))),
        None => return Err(bad("a price without a unit")),
    }
    let usd = dim["pricePerUnit"]["USD"]
        .as_str()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|u| u.is_finite() && *u >= 0.0)
        .ok_or_else(|| bad("the USD price is not a non-negative number"))?;
    Ok((usd, effective.map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(family: &str, attrs: Value, unit: &str, usd: &str) -> String {
        json!({
            "product": {"productFamily": family, "attributes": attrs, "sku": "SKU1"},
            "serviceCode": "AmazonSageMaker",
            "terms": {"OnDemand": {"SKU1.JRTCKXETXF": {
                "effectiveDate": "2026-11-01T00:00:00Z",
                "priceDimensions": {"SKU1.JRTCKXETXF.6YS6EN2CT7": {
                    "unit": unit, "beginRange": "0", "endRange": "Inf",
                    "pricePerUnit": {"USD": usd}
                }}
            }}}
        })
        .to_string()
    }

    fn instance(plato: &str) -> Value {
        json!({"regionCode": "us-east-1", "instanceName": "ml.m5.xlarge",
               "instanceType": format!("ml.m5.xlarge-{plato}"),
               "usagetype": "USE1-Train:ml.m5.xlarge", "platoinstancetype": plato})
    }

    #[test]
    fn a_training_instance_is_priced_per_hour() {
        let p = read(&product(
            "ML Instance",
            instance("Training"),
            "Hrs",
            "0.2300000000",
        ));
        assert_eq!(
            p,
            Ok(Some(ListedPrice {
                region: "us-east-1".into(),
                component: Component::Training {
                    instance_type: "ml.m5.xlarge".into()
                },
                usd: 0.23,
                sku: "SKU1".into(),
                effective_date: Some("2026-11-01T00:00:00Z".into()),
                size: Some(Size::default()),
            }))
        );
    }

    #[test]
    fn a_training_instance_states_its_size() {
        let mut attrs = instance("Training");
        attrs["physicalGpu"] = json!("8");
        attrs["vCpu"] = json!("96");
        attrs["gpuMemory"] = json!("320 GB");
        let p = read(&product("ML Instance", attrs.clone(), "Hrs", "37.7"));
        let size = p.unwrap().unwrap().size.unwrap();
        assert_eq!(
            size,
            Size {
                gpus: Some(8),
                vcpus: Some(96),
                gpu_memory_gib: Some(320.0)
            }
        );
        attrs["physicalGpu"] = json!("N/A");
        attrs["vCpu"] = json!("many");
        attrs["gpuMemory"] = json!("N/A");
        let size = read(&product("ML Instance", attrs, "Hrs", "0.2"))
            .unwrap()
            .unwrap()
            .size
            .unwrap();
        assert_eq!(
            size,
            Size {
                gpus: Some(0),
                vcpus: None,
                gpu_memory_gib: Some(0.0)
            }
        );
    }

    #[test]
    fn other_components_are_not_training_prices() {
        for plato in ["Hosting", "SpotTraining", "Processing", "Notebook"] {
            let p = read(&product("ML Instance", instance(plato), "Hrs", "0.5"));
            assert_eq!(p, Ok(None), "{plato}");
        }
        let hosting_storage =
            json!({"regionCode": "us-east-1", "usagetype": "USE1-Host:VolumeUsage.gp2"});
        assert_eq!(
            read(&product("ML Storage", hosting_storage, "GB-Mo", "0.14")),
            Ok(None)
        );
    }

    #[test]
    fn training_storage_is_priced_per_gb_month() {
        let attrs = json!({"regionCode": "eu-west-1", "usagetype": "EUW1-Train:VolumeUsage.gp2"});
        let p = read(&product("ML Storage", attrs, "GB-Mo", "0.154")).map(|p| p.map(|p| p.usd));
        assert_eq!(p, Ok(Some(0.154)));
    }

    #[test]
    fn the_instance_type_falls_back_to_the_usage_type() {
        let mut attrs = instance("Training");
        attrs["instanceName"] = Value::Null;
        attrs["usagetype"] = json!("EUW1-Train:ml.p4d.24xlarge");
        let p = read(&product("ML Instance", attrs, "Hrs", "37.7")).map(|p| p.map(|p| p.component));
        assert_eq!(
            p,
            Ok(Some(Component::Training {
                instance_type: "ml.p4d.24xlarge".into()
            }))
        );
    }

    #[test]
    fn a_price_that_cannot_be_read_is_an_error_naming_the_sku_never_zero() {
        for (unit, usd, why) in [
            ("Hrs", "n/a", "not a non-negative number"),
            ("Hrs", "-1", "not a non-negative number"),
            ("Quantity", "1", "unit \"Quantity\""),
        ] {
            let e = read(&product("ML Instance", instance("Training"), unit, usd));
            let Err(OfferError::Bad { sku, reason }) = e else {
                panic!("{e:?}");
            };
            assert_eq!(sku, "SKU1");
            assert!(reason.contains(why), "{reason}");
        }
        assert!(matches!(read("{not json"), Err(OfferError::NotJson(_))));
    }
}
