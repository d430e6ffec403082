//! The page's markup: a headline, the monthly spend chart with its numbers beside it, then one
//! section per question, each a table. maud escapes every value it is given.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::PageOptions;
use super::chart::{self, Bar, Series};
use super::data::{Data, Table};
use super::format::{number, usd};

const STYLE: &str = include_str!("page.css");
/// Nothing loads from anywhere: no script, font, image or stylesheet but the inline ones.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
/// Groups drawn apart in the monthly chart; the rest are "other".
const TOP_GROUPS: usize = 8;

pub fn page(data: &Data, opts: &PageOptions) -> Markup {
    let empty = data.cost.is_empty() && data.running.is_empty() && data.posture.is_empty();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(POLICY);
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "SageMaker training: spend, waste and risk" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "SageMaker training: spend, waste and risk" }
                    p class="period" {
                        "From " (data.window.from) " to " (data.window.to)
                        ", written " (opts.now.format("%Y-%m-%d %H:%M UTC")) " by sagesync."
                    }
                    @if let Some(moved) = &data.window.moved {
                        p class="note" id="window-moved" {
                            "Nothing in the inventory is from the last " (opts.months) " months: its jobs run from "
                            (moved.first) " to " (moved.last) ", so this page shows the "
                            (opts.months) " months to " (moved.last) ". "
                            code { "sagesync report --months " (moved.months_to_now) }
                            " shows them all, up to this month."
                        }
                    }
                }
                @if empty {
                    section id="empty" {
                        h2 { "Nothing in the inventory yet" }
                        p { "Run " code { "sagesync sync --region REGION" } " (or "
                            code { "sagesync load FILES" } "), then write this page again." }
                    }
                } @else {
                    (headline(data))
                    @if !data.priced {
                        p class="note" id="no-prices" {
                            "These figures are instance-hours: no prices are stored. Read them from the AWS Price List with "
                            code { "sagesync prices sync" }
                            " (a sync does it too, given pricing:GetProducts), or load your own with "
                            code { "sagesync prices load FILE.csv" }
                            ", and write the page again for dollars."
                        }
                    }
                    (monthly(data, opts))
                    (by_instance_type(data))
                    (super::gpu::section(data))
                    (costliest(data))
                    (waste(data))
                    (spot(data))
                    (running(data))
                    (posture(data))
                }
            }
        }
    }
}

/// What a figure is counted in: dollars once prices are loaded (those that have a price, with
/// the unpriced hours beside them), else instance-hours.
fn value(data: &Data, hours: Option<f64>, dollars: Option<f64>) -> f64 {
    if data.priced {
        dollars.unwrap_or(0.0)
    } else {
        hours.unwrap_or(0.0)
    }
}

fn headline(data: &Data) -> Markup {
    let rows = || data.cost.rows();
    let hours: f64 = rows().filter_map(|r| r.num("instance_hours")).sum();
    let spend: f64 = rows().filter_map(|r| r.num("priced_usd")).sum();
    let unpriced: f64 = rows()
        .filter_map(|r| r.num("unpriced_instance_hours"))
        .sum();
    let jobs: f64 = data.groups.rows().filter_map(|r| r.num("jobs")).sum();
    let failed: f64 = data
        .waste
        .rows()
        .filter(|r| r.text("training_job_status") == "Failed")
        .filter_map(|r| r.num("jobs"))
        .sum();
    html! {
        section id="headline" aria-label="Headline" {
            dl class="figures" {
                @if data.priced {
                    div { dt { "Spend" } dd id="spend" { (usd(Some(spend))) } }
                }
                div { dt { "Instance-hours" } dd id="hours" { (number(hours, 1)) } }
                div { dt { "Jobs" } dd id="jobs" { (number(jobs, 0)) } }
                div { dt { "Failed jobs" } dd id="failed" { (number(failed, 0)) } }
                @if data.priced {
                    div { dt { "Unpriced instance-hours" } dd id="unpriced" { (number(unpriced, 1)) } }
                }
                div {
                    dt { "Oldest last sync" }
                    dd id="fresh" class="small" { (data.oldest_sync.as_deref().unwrap_or("never synced (loaded from files)")) }
                }
            }
        }
    }
}

fn monthly(data: &Data, opts: &PageOptions) -> Markup {
    let group = data.group_column;
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    let mut cells: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in data.groups.rows() {
        let v = value(data, r.num("instance_hours"), r.num("priced_usd"));
        *totals.entry(r.text(group)).or_default() += v;
        *cells.entry((r.text("month"), r.text(group))).or_default() += v;
    }
    let mut ranked: Vec<(&String, &f64)> = totals.iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    let top: Vec<&String> = ranked.iter().take(TOP_GROUPS).map(|(g, _)| *g).collect();
    let mut series: Vec<Series> = top
        .iter()
        .zip(chart::COLOURS)
        .map(|(g, colour)| Series {
            name: (*g).clone(),
            colour,
        })
        .collect();
    let other = ranked.len() > TOP_GROUPS;
    if other {
        series.push(Series {
            name: "other".into(),
            colour: chart::OTHER,
        });
    }
    let months: Vec<&String> = {
        let mut m: Vec<&String> = cells.keys().map(|(m, _)| m).collect();
        m.dedup();
        m
    };
    let bars: Vec<Bar> = months
        .iter()
        .map(|month| {
            let mut parts: Vec<f64> = top
                .iter()
                .map(|g| {
                    cells
                        .get(&((*month).clone(), (*g).clone()))
                        .copied()
                        .unwrap_or(0.0)
                })
                .collect();
            if other {
                let rest = cells
                    .iter()
                    .filter(|((m, g), _)| m == *month && !top.contains(&g))
                    .map(|(_, v)| v)
                    .sum();
                parts.push(rest);
            }
            Bar {
                label: (*month).clone(),
                parts,
            }
        })
        .collect();
    let unit = if data.priced { "USD" } else { "instance-hours" };
    let by = match &opts.tag_key {
        Some(key) => format!("tag {key}"),
        None => "account".to_string(),
    };
    let title = format!("Spend per month by {by}, in {unit}");
    html! {
        section id="monthly" {
            h2 { (title) }
            div class="pair" {
                (chart::stacked(&title, unit, &series, &bars))
                (table(&data.groups, &money(data, &["month", group, "jobs", "instance_hours"])))
            }
        }
    }
}

/// `columns`, and the dollars of what has a price with the hours that have none when prices
/// are stored.
fn money<'a>(data: &Data, columns: &[&'a str]) -> Vec<&'a str> {
    let mut out = columns.to_vec();
    if data.priced {
        out.extend(["priced_usd", "unpriced_instance_hours"]);
    }
    out
}

/// One instance type's totals: jobs, instance-hours, priced dollars, unpriced hours.
type TypeTotals = (f64, f64, f64, f64);

fn by_instance_type(data: &Data) -> Markup {
    let mut types: BTreeMap<String, TypeTotals> = BTreeMap::new();
    for r in data.cost.rows() {
        let e = types.entry(r.text("instance_type")).or_default();
        e.0 += r.num("jobs").unwrap_or(0.0);
        e.1 += r.num("instance_hours").unwrap_or(0.0);
        e.2 += r.num("priced_usd").unwrap_or(0.0);
        e.3 += r.num("unpriced_instance_hours").unwrap_or(0.0);
    }
    let mut rows: Vec<_> = types.into_iter().collect();
    rows.sort_by(|a, b| {
        let v = |x: &TypeTotals| value(data, Some(x.1), Some(x.2));
        v(&b.1).total_cmp(&v(&a.1)).then(a.0.cmp(&b.0))
    });
    html! {
        section id="instance-types" {
            h2 { "By instance type" }
            table {
                thead { tr { th { "instance type" } th.n { "jobs" } th.n { "instance-hours" }
                    @if data.priced { th.n { "priced USD" } th.n { "unpriced instance-hours" } } } }
                tbody {
                    @for (t, (jobs, hours, dollars, unpriced)) in &rows {
                        tr { td { (t) } td.n { (number(*jobs, 0)) } td.n { (number(*hours, 2)) }
                            @if data.priced { td.n { (usd(Some(*dollars))) } td.n { (number(*unpriced, 2)) } } }
                    }
                }
            }
        }
    }
}

fn costliest(data: &Data) -> Markup {
    section("costliest", "The 20 costliest jobs", &data.costliest)
}

fn waste(data: &Data) -> Markup {
    section(
        "waste",
        "Waste: failed and stopped jobs, by reason",
        &data.waste,
    )
}

fn spot(data: &Data) -> Markup {
    let hours = |seconds: Option<f64>| number(seconds.unwrap_or(0.0) / 3600.0, 2);
    html! {
        section id="spot" {
            h2 { "Managed spot training: what it saved" }
            @if data.spot.is_empty() { p class="none" { "None." } } @else {
                table {
                    thead { tr { th { "month" } th.n { "spot jobs" } th.n { "training hours" }
                        th.n { "billable hours" } th.n { "saved %" } } }
                    tbody {
                        @for r in data.spot.rows() {
                            tr {
                                td { (r.text("month")) }
                                td.n { (number(r.num("spot_jobs").unwrap_or(0.0), 0)) }
                                td.n { (hours(r.num("training_seconds"))) }
                                td.n { (hours(r.num("billable_seconds"))) }
                                td.n { (r.num("saved_pct").map_or_else(String::new, |p| number(p, 1))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn running(data: &Data) -> Markup {
    section("running", "Running now (longest first)", &data.running)
}

fn posture(data: &Data) -> Markup {
    section(
        "posture",
        "Security posture: jobs missing each control",
        &data.posture,
    )
}

/// A canned query's rows as a table of every column the page reads of it.
pub(super) fn section(id: &str, title: &str, t: &Table) -> Markup {
    html! {
        section id=(id) {
            h2 { (title) }
            @if t.is_empty() { p class="none" { "None." } } @else { (table(t, t.read())) }
        }
    }
}

/// `columns` of a canned query's rows, with numbers right-aligned and formatted.
pub(super) fn table(t: &Table, columns: &[&str]) -> Markup {
    let numeric = |c: &str| {
        c.ends_with("hours")
            || c.ends_with("usd")
            || c.ends_with("seconds")
            || c.ends_with("pct")
            || c.starts_with("without")
            || matches!(c, "jobs" | "spot_jobs" | "missing_any")
    };
    html! {
        table {
            thead { tr { @for c in columns {
                @if numeric(c) { th.n { (c.replace('_', " ")) } } @else { th { (c.replace('_', " ")) } }
            } } }
            tbody {
                @for r in t.rows() {
                    tr { @for c in columns {
                        @if c.ends_with("usd") { td.n { (usd(r.num(c))) } }
                        @else if numeric(c) {
                            td.n { (r.num(c).map_or_else(String::new, |v| number(v, if v.fract() == 0.0 { 0 } else { 2 }))) }
                        }
                        @else { td { (r.text(c)) } }
                    } }
                }
            }
        }
    }
}
