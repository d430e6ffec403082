//! `sagesync report`: the HTML page opened in a real browser (headless Chromium, which
//! scripts/test.sh installs when missing), on both backends. What a reader would notice: the
//! totals equal `query cost`'s, the costliest job is named, a tag holding `<script>` shows as text
//! and never runs, nothing is fetched from anywhere, and the page is not blank.
//!
//! SAGESYNC_README_SCREENSHOT=path keeps the SQLite page's screenshot there (the README's).

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{Value, json};

const INJECTED: &str = "<script>document.title='pwned'</script>";

/// A completed job created on the first of the month `months_ago` months back.
fn job(name: &str, months_ago: u32, extra: Value) -> Value {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let first = today.with_day(1).unwrap_or(today) - chrono::Months::new(months_ago);
    let month = first.format("%Y-%m-%dT10:00:00Z").to_string();
    let mut j = json!({
        "TrainingJobName": name,
        "TrainingJobArn": format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": month,
        "TrainingStartTime": month,
        "LastModifiedTime": month,
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "EnableNetworkIsolation": false,
        "HyperParameters": {},
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        j[k] = v.clone();
    }
    j
}

/// A job of `team` on `hours` of one ml.m5.xlarge, `months_ago` months back.
fn team_job(name: &str, team: &str, months_ago: u32, hours: u32) -> Value {
    job(
        name,
        months_ago,
        json!({"BillableTimeInSeconds": hours * 3600, "TrainingTimeInSeconds": hours * 3600,
               "Tags": [{"Key": "team", "Value": team}]}),
    )
}

fn inventory() -> Vec<Value> {
    let mut jobs = vec![
        job(
            "big-costly-job",
            0,
            json!({"ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50},
                   "BillableTimeInSeconds": 7200, "TrainingTimeInSeconds": 7200,
                   "Tags": [{"Key": "team", "Value": "research"}]}),
        ),
        job(
            "failed-job",
            0,
            json!({"TrainingJobStatus": "Failed", "FailureReason": "AlgorithmError: boom\nTraceback",
                   "BillableTimeInSeconds": 1800, "TrainingTimeInSeconds": 1800,
                   "Tags": [{"Key": "team", "Value": INJECTED}]}),
        ),
        job(
            "running-job",
            0,
            json!({"TrainingJobStatus": "InProgress", "SecondaryStatus": "Training"}),
        ),
    ];
    // A few months of three teams, for a chart with something to show.
    for (i, (team, hours)) in [("research", 9), ("platform", 5), ("search", 3)]
        .iter()
        .enumerate()
    {
        for months_ago in 1..=4 {
            let name = format!("{team}-train-{months_ago}");
            jobs.push(team_job(
                &name,
                team,
                months_ago,
                hours + (i as u32 + months_ago) % 4,
            ));
        }
    }
    jobs
}

/// Headless Chromium as the machine's probe starts it: no background networking, a fresh profile.
fn chromium(profile: &Path) -> Command {
    let bin = std::env::var("SAGESYNC_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn url(page: &Path) -> String {
    format!("file://{}", page.display())
}

/// The DOM after the page loaded (and ran whatever it would run).
fn dom(page: &Path, profile: &Path) -> String {
    let out = chromium(profile)
        .arg("--dump-dom")
        .arg(url(page))
        .output()
        .expect("run chromium (scripts/test.sh installs it)");
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshot(page: &Path, profile: &Path) -> PathBuf {
    let shot = page.with_extension("png");
    let out = chromium(profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,1700")
        .arg(url(page))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "{}", stderr(&out));
    shot
}

/// The text of the element with this id.
fn text_of(dom: &str, id: &str) -> String {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let rest = &dom[start..];
    let open = rest.find('>').unwrap_or(0) + 1;
    let close = rest[open..].find('<').unwrap_or(0);
    rest[open..open + close].trim().to_string()
}

fn dollars(v: f64) -> String {
    let cents = (v * 100.0).round() as i64;
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("${grouped}.{:02}", cents % 100)
}

#[tokio::test]
async fn the_page_agrees_with_query_cost_and_runs_nothing_it_holds() {
    for db in backends() {
        let dir = db.dir.path();
        let jobs = write_file(dir, "jobs.jsonl", &jsonl(&inventory()));
        assert_eq!(
            db.load(&[&jobs], &[]).status.code(),
            Some(0),
            "{}",
            db.name()
        );
        let prices = write_file(
            dir,
            "prices.csv",
            "instance_type,region,usd_per_hour\nml.p3.2xlarge,*,3.825\nml.m5.xlarge,*,0.23\n",
        );
        let out = db.run(&["prices", "load", prices.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let page = dir.join("page.html");
        let out = db.run(&[
            "report",
            "--tag-key",
            "team",
            "--out",
            page.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            db.name(),
            stderr(&out)
        );

        // Written beside and renamed over: no partial file is left.
        assert!(page.exists() && !dir.join("page.html.partial").exists());

        let cost = db.run(&["query", "cost", "--format", "json"]);
        let rows: Value = serde_json::from_slice(&cost.stdout).expect("json");
        let total: f64 = rows
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["estimated_usd"].as_f64())
            .sum();
        let hours: f64 = rows
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["instance_hours"].as_f64())
            .sum();
        assert!(total > 15.42, "{}: {total}", db.name());

        let profile = tempfile::tempdir().expect("profile");
        let dom = dom(&page, profile.path());
        assert_eq!(text_of(&dom, "spend"), dollars(total), "{}", db.name());
        assert_eq!(
            text_of(&dom, "hours"),
            format!("{hours:.1}"),
            "{}",
            db.name()
        );
        assert_eq!(text_of(&dom, "failed"), "1", "{}", db.name());
        let costliest = &dom[dom.find("id=\"costliest\"").unwrap_or(0)..];
        assert!(costliest.contains("big-costly-job"), "{}", db.name());
        // The tag's value is text on the page, and the script in it never ran.
        assert!(
            dom.contains("&lt;script&gt;document.title"),
            "{}",
            db.name()
        );
        assert!(!dom.contains("<script"), "{}", db.name());
        assert!(dom.contains("<title>SageMaker training"), "{}", db.name());
        // Nothing to fetch: no element names another resource, and the policy forbids it.
        assert!(!dom.contains(" src="), "{}", db.name());
        assert!(!dom.contains(" href="), "{}", db.name());
        assert!(dom.contains("default-src 'none'"), "{}", db.name());

        let shot = screenshot(&page, profile.path());
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&shot).expect("screenshot"),
        ));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).expect("a frame");
        let mut colours: Vec<&[u8]> = pixels[..info.buffer_size()]
            .chunks(info.color_type.samples())
            .collect();
        colours.sort();
        colours.dedup();
        assert!(
            colours.len() > 50,
            "{}: {} colours",
            db.name(),
            colours.len()
        );
        if db.backend == Backend::Sqlite
            && let Some(keep) = std::env::var_os("SAGESYNC_README_SCREENSHOT")
        {
            std::fs::copy(&shot, keep).expect("keep the screenshot");
        }
    }
}

#[tokio::test]
async fn an_empty_inventory_or_one_without_prices_says_what_to_do() {
    for db in backends() {
        let profile = tempfile::tempdir().expect("profile");
        let page = db.dir.path().join("empty.html");
        let out = db.run(&["report", "--out", page.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            db.name(),
            stderr(&out)
        );
        let dom = dom(&page, profile.path());
        assert!(
            dom.contains("Nothing in the inventory yet"),
            "{}",
            db.name()
        );
        assert!(dom.contains("sagesync sync"), "{}", db.name());

        let jobs = write_file(db.dir.path(), "jobs.jsonl", &jsonl(&inventory()));
        assert_eq!(db.load(&[&jobs], &[]).status.code(), Some(0));
        let out = db.run(&["report", "--out", "-"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let html = String::from_utf8_lossy(&out.stdout);
        assert!(html.contains("id=\"no-prices\""), "{}", db.name());
        assert!(html.contains("sagesync prices load"), "{}", db.name());
        assert!(!html.contains("id=\"spend\""), "{}", db.name());
    }
}

/// The texts of the chart's y axis labels, top to bottom as drawn (the SVG `text` elements
/// right-aligned at the axis).
fn axis_labels(section: &str) -> Vec<String> {
    section
        .split("text-anchor=\"end\">")
        .skip(1)
        .filter_map(|t| t.split('<').next())
        .map(str::to_string)
        .collect()
}

/// The sum of the posture table's jobs column (its third).
fn posture_jobs(section: &str) -> u64 {
    let body = section.split("<tbody>").nth(1).unwrap_or_default();
    body.split("<tr>")
        .skip(1)
        .filter_map(|row| {
            let cell = row.split("<td").nth(3)?;
            cell.split('>')
                .nth(1)?
                .split('<')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The markup of the section with this id.
fn section_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &dom[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn a_newcomers_page_shows_where_the_jobs_are_and_priced_dollars_beside_unpriced_hours() {
    use chrono::Datelike;
    for db in backends() {
        db.load_examples();
        // One of the sample jobs' types priced: its month shows those dollars, and the hours
        // without a price beside them.
        let prices = write_file(
            db.dir.path(),
            "prices.csv",
            "instance_type,region,usd_per_hour\nml.c5.18xlarge,*,3.0\n",
        );
        assert_eq!(
            db.run(&["prices", "load", prices.to_str().unwrap()])
                .status
                .code(),
            Some(0)
        );
        let profile = tempfile::tempdir().expect("profile");
        let page = db.dir.path().join("page.html");
        let out = db.run(&["report", "--out", page.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let dom = dom(&page, profile.path());
        let today = chrono::Utc::now().date_naive();
        let months = (today.year() - 2024) * 12 + today.month0() as i32 - 2 + 1;
        let moved = text_of(&dom, "window-moved");
        assert!(
            moved.contains("its jobs run from 2024-03 to 2024-04"),
            "{}: {moved}",
            db.name()
        );
        assert!(
            dom.contains(&format!("sagesync report --months {months}")),
            "{dom}"
        );
        assert!(dom.contains("From 2023-05 to 2024-04"), "{}", db.name());
        let jobs = text_of(&dom, "jobs");
        assert_ne!(jobs, "0", "{}", db.name());
        // Every section covers the header's months: posture counts the jobs the headline does.
        let posture = section_of(&dom, "posture");
        assert_eq!(posture_jobs(posture).to_string(), jobs, "{posture}");
        // The c5's 8 hours at $3.00, with the month's other hours beside, not a dash.
        let monthly = section_of(&dom, "monthly");
        assert!(monthly.contains("$24.00"), "{}: {monthly}", db.name());
        let labels = axis_labels(monthly);
        let mut distinct = labels.clone();
        distinct.dedup();
        assert_eq!(labels.len(), 5, "{monthly}");
        assert_eq!(distinct, labels, "axis ticks never repeat");
        assert_eq!(text_of(&dom, "spend"), "$24.00");

        // One month: the window follows the newest job, and so does every section.
        let out = db.run(&["report", "--months", "1", "--out", "-"]);
        let html = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(html.contains("From 2024-04 to 2024-04"), "{}", db.name());
        let jobs = text_of(&html, "jobs");
        assert_eq!(posture_jobs(section_of(&html, "posture")).to_string(), jobs);
    }
}
