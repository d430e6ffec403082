//! The page's section on what the GPUs did for the money: GPU-hours used, idle and not measured
//! by month (a chart and its table, from `query gpu-utilization`), and the jobs with the most idle
//! GPU dollars (`query idle-gpu`).

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::chart::{self, Bar, Series};
use super::data::Data;
use super::format::{number, usd};
use super::page;

/// A month's GPU-hours across instance types.
#[derive(Debug, Default, Clone, Copy)]
struct Month {
    paid: f64,
    used: f64,
    unmeasured: f64,
    /// `None` once a measured group has no price.
    idle_usd: Option<f64>,
}

impl Month {
    fn idle(&self) -> f64 {
        (self.paid - self.used - self.unmeasured).max(0.0)
    }

    /// Of the measured GPU-hours, the share used.
    fn utilization(&self) -> Option<f64> {
        let measured = self.paid - self.unmeasured;
        (measured > 0.0).then(|| 100.0 * self.used / measured)
    }
}

fn months(data: &Data) -> BTreeMap<String, Month> {
    let mut out: BTreeMap<String, Month> = BTreeMap::new();
    for r in data.gpu.rows() {
        let m = out.entry(r.text("month")).or_insert(Month {
            idle_usd: Some(0.0),
            ..Month::default()
        });
        m.paid += r.num("gpu_hours").unwrap_or(0.0);
        m.used += r.num("used_gpu_hours").unwrap_or(0.0);
        let unmeasured = r.num("unmeasured_gpu_hours").unwrap_or(0.0);
        m.unmeasured += unmeasured;
        let measured = r.num("gpu_hours").unwrap_or(0.0) > unmeasured;
        m.idle_usd = match (m.idle_usd, r.num("idle_gpu_usd")) {
            (Some(a), Some(b)) => Some(a + b),
            (Some(a), None) if !measured => Some(a),
            _ => None,
        };
    }
    out
}

pub fn section(data: &Data) -> Markup {
    let by_month = months(data);
    let series = [
        Series {
            name: "used".into(),
            colour: chart::COLOURS[2],
        },
        Series {
            name: "idle".into(),
            colour: chart::COLOURS[5],
        },
        Series {
            name: "not measured".into(),
            colour: chart::OTHER,
        },
    ];
    let bars: Vec<Bar> = by_month
        .iter()
        .map(|(month, m)| Bar {
            label: month.clone(),
            parts: vec![m.used, m.idle(), m.unmeasured],
        })
        .collect();
    let title = "GPU-hours per month: used, idle and not measured";
    html! {
        section id="gpu" {
            h2 { "What the GPUs did for the money" }
            @if by_month.is_empty() {
                p class="none" {
                    "No GPU instance-hours in these months, or no GPU count known for their instance types: "
                    code { "sagesync prices sync" } " reads them from the AWS Price List, or give a "
                    code { "gpus" } " column to " code { "sagesync prices load" } "."
                }
            } @else {
                @if by_month.values().all(|m| m.unmeasured >= m.paid) {
                    p class="note" id="gpu-unmeasured" {
                        "No utilization read yet: " code { "sagesync metrics sync" }
                        " reads it from CloudWatch (a sync does it too, given cloudwatch:GetMetricData)."
                    }
                }
                div class="pair" {
                    (chart::stacked(title, "GPU-hours", &series, &bars))
                    table {
                        thead { tr { th { "month" } th.n { "GPU-hours" } th.n { "used" }
                            th.n { "utilization %" } th.n { "idle USD" } th.n { "not measured" } } }
                        tbody {
                            @for (month, m) in &by_month {
                                tr {
                                    td { (month) }
                                    td.n { (number(m.paid, 1)) }
                                    td.n { (number(m.used, 1)) }
                                    td.n { (m.utilization().map_or_else(String::new, |p| number(p, 1))) }
                                    td.n { (usd(m.idle_usd)) }
                                    td.n { (number(m.unmeasured, 1)) }
                                }
                            }
                        }
                    }
                }
                (page::section("idle-gpu", "The 10 jobs with the most idle GPU dollars", &data.idle))
            }
        }
    }
}
