//! Stacked bar charts as inline SVG, written with maud like the rest of the page. A hand-written
//! piece: plotters' SVG backend lays out axis labels only with a font backend (system fonts or a
//! bundled TTF), which a page for a browser to render needs no more than these 100 lines do.

use maud::{Markup, html};

use super::format::number;

/// Okabe and Ito's palette, which stays apart for the common colour-vision deficiencies; "other"
/// is grey.
pub const COLOURS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];
pub const OTHER: &str = "#999999";

/// One bar (a month) of stacked parts, in the order of the series.
pub struct Bar {
    pub label: String,
    pub parts: Vec<f64>,
}

pub struct Series {
    pub name: String,
    pub colour: &'static str,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 80.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 16.0;

/// A stacked bar chart with its y axis in `unit`, its title for screen readers, and a legend.
pub fn stacked(title: &str, unit: &str, series: &[Series], bars: &[Bar]) -> Markup {
    let max = bars
        .iter()
        .map(|b| b.parts.iter().sum::<f64>())
        .fold(0.0, f64::max);
    let top = nice_ceiling(max);
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT - 10.0) / bars.len().max(1) as f64;
    let y = |v: f64| TOP + plot_h - v / top * plot_h;
    let ticks = ticks(top);
    html! {
        figure class="chart-box" {
        svg class="chart" role="img" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            xmlns="http://www.w3.org/2000/svg" aria-label=(title) {
            title { (title) }
            @for (v, label) in &ticks {
                line x1=(LEFT) x2=(WIDTH - 10.0) y1=(y(*v)) y2=(y(*v)) class="grid" {}
                text x=(LEFT - 6.0) y=(y(*v) + 4.0) text-anchor="end" { (label) }
            }
            text x="14" y=(TOP + plot_h / 2.0) text-anchor="middle"
                transform=(format!("rotate(-90 14 {})", TOP + plot_h / 2.0)) { (unit) }
            @for (i, bar) in bars.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + slot * 0.15;
                @for (base, part, s) in stack(&bar.parts, series) {
                    rect x=(x) width=(slot * 0.7) y=(y(base + part))
                        height=(y(base) - y(base + part)) fill=(s.colour) {
                        title { (bar.label) ", " (s.name) ": " (number(part, 2)) " " (unit) }
                    }
                }
                text x=(x + slot * 0.35) y=(HEIGHT - BOTTOM + 16.0) text-anchor="middle" { (bar.label) }
            }
        }
        ul class="legend" {
            @for s in series {
                li { span class="swatch" style=(format!("background:{}", s.colour)) {} (s.name) }
            }
        }
        }
    }
}

/// Each non-zero part with the sum of those below it.
fn stack<'a>(parts: &[f64], series: &'a [Series]) -> Vec<(f64, f64, &'a Series)> {
    let mut base = 0.0;
    let mut out = Vec::new();
    for (part, s) in parts.iter().zip(series) {
        if *part > 0.0 {
            out.push((base, *part, s));
        }
        base += part;
    }
    out
}

/// The axis' five gridlines up to `top`, labelled with as few decimals as state each exactly
/// (an axis up to 1 reads 0.00, 0.25, ..., never 0, 0, 1, 1, 1).
fn ticks(top: f64) -> Vec<(f64, String)> {
    let values: Vec<f64> = (0..=4).map(|i| top * f64::from(i) / 4.0).collect();
    let exact = |decimals: i32| {
        let scale = 10f64.powi(decimals);
        values
            .iter()
            .all(|v| ((v * scale).round() - v * scale).abs() < 1e-6)
    };
    let decimals = (0..=6).find(|d| exact(*d)).unwrap_or(6);
    values
        .into_iter()
        .map(|v| (v, number(v, usize::try_from(decimals).unwrap_or(6))))
        .collect()
}

/// 1, 2 or 5 times a power of ten, at or above `v`: round numbers for the axis.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(1234.0), 2000.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }

    #[test]
    fn axis_labels_never_repeat() {
        for top in [1.0, 2.0, 5.0, 0.5, 10.0, 2000.0, 0.002] {
            let labels: Vec<String> = ticks(top).into_iter().map(|(_, l)| l).collect();
            let mut distinct = labels.clone();
            distinct.dedup();
            assert_eq!(distinct, labels, "{top}");
        }
        let one: Vec<String> = ticks(1.0).into_iter().map(|(_, l)| l).collect();
        assert_eq!(one, ["0.00", "0.25", "0.50", "0.75", "1.00"]);
        let big: Vec<String> = ticks(2000.0).into_iter().map(|(_, l)| l).collect();
        assert_eq!(big, ["0", "500", "1,000", "1,500", "2,000"]);
    }

    #[test]
    fn labels_are_escaped_and_every_part_drawn() {
        let series = [Series {
            name: "<script>x</script>".into(),
            colour: COLOURS[0],
        }];
        let bars = [Bar {
            label: "2024-03".into(),
            parts: vec![5.0],
        }];
        let svg = stacked("Spend", "USD", &series, &bars).into_string();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert_eq!(svg.matches("<rect").count(), 1);
    }
}
