//! `brokerscope bench`: the standard workloads of [`crate::bench`], timed with the wall clock,
//! with the peak heap each one needed. Figures, not pass/fail: targets are read off the report.

use super::{bad_input, heap, Failure};
use crate::bench::{self, Figures, Workload};
use std::time::Instant;

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Records per record workload (a, b, c), at most a scenario's 100,000,000.
    #[arg(long, default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..=crate::scenario::RECORDS_MAX))]
    pub records: u64,
    /// Seeds for the swarm workload (d).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Only these workloads (a, b, c, d; repeatable). Default: all.
    #[arg(long = "workload", value_parser = ["a", "b", "c", "d"])]
    pub workloads: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Threads for a second swarm run with seeds side by side, as `seeds --jobs` runs them
    /// (default: every core; 1 skips it). Each simulation stays on one thread.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: Option<u64>,
    /// Runs of each workload: the figures are the run with the median time (of an even count,
    /// the faster of the middle two), with the slowest and fastest beside them (a busy or
    /// virtual machine's runs can differ by ±20%).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=99))]
    pub repeat: u64,
}

/// Runs the selected workloads and prints their figures.
pub fn run(args: &BenchArgs) -> Result<String, Failure> {
    let selected: Vec<Workload> = Workload::ALL
        .into_iter()
        .filter(|w| args.workloads.is_empty() || args.workloads.iter().any(|n| n == w.name()))
        .collect();
    let mut results = vec![];
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64));
    for workload in selected {
        eprintln!("running {} …", workload.label());
        results.push(repeated(args.repeat, || measure(workload, args)).map_err(bad_input)?);
        if workload == Workload::Swarm && jobs > 1 {
            eprintln!("running {} on {jobs} threads …", workload.label());
            results.push(repeated(args.repeat, || measure_swarm_threads(args.seeds, jobs)).map_err(bad_input)?);
        }
    }
    let machine = machine();
    if args.json {
        let value = serde_json::json!({ "machine": machine, "build": build(), "workloads": results });
        return Ok(serde_json::to_string_pretty(&value).expect("figures serialize") + "\n");
    }
    Ok(table(&results, &machine))
}

/// `run` measured `times` times: the run with the median time (see [`Figures::median_of`]).
fn repeated(times: u64, mut run: impl FnMut() -> Result<Figures, String>) -> Result<Figures, String> {
    let runs = (0..times).map(|_| run()).collect::<Result<Vec<_>, _>>()?;
    Ok(Figures::median_of(runs))
}

// The benchmark host is the one place that reads the wall clock: it times the core from outside.
#[allow(clippy::disallowed_methods)]
fn measure(workload: Workload, args: &BenchArgs) -> Result<Figures, String> {
    let origin = Instant::now();
    let mut clock = || origin.elapsed().as_secs_f64();
    let baseline = heap::reset_peak();
    let mut figures = match workload {
        Workload::Swarm => bench::run_swarm(args.seeds, &mut clock)?,
        _ => bench::run_records(workload, args.records, &mut clock)?,
    };
    figures.peak_heap_bytes = Some(heap::peak().saturating_sub(baseline) as u64);
    Ok(figures)
}

/// Workload (d) with its seeds spread over `jobs` threads (seed i on thread i mod jobs).
#[allow(clippy::disallowed_methods)]
fn measure_swarm_threads(seeds: u64, jobs: u64) -> Result<Figures, String> {
    let base = bench::swarm_base();
    let baseline = heap::reset_peak();
    let origin = Instant::now();
    let outcomes: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|j| {
                let base = &base;
                scope.spawn(move || {
                    let outcome =
                        (1 + j..=seeds).step_by(jobs as usize).try_for_each(|seed| bench::swarm_seed(base, seed));
                    heap::release_thread_cache();
                    outcome
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a swarm worker panicked")).collect()
    });
    let seconds = origin.elapsed().as_secs_f64();
    outcomes.into_iter().collect::<Result<(), String>>()?;
    let mut figures = bench::swarm_figures(seeds, seconds, jobs);
    figures.peak_heap_bytes = Some(heap::peak().saturating_sub(baseline) as u64);
    Ok(figures)
}

/// What the figures were measured on: a build compiled with a PGO profile (`scripts/pgo-build`;
/// `build.rs` reads the compiler flags) has machine code, not behaviour, that follows a
/// training run.
fn build() -> &'static str {
    match (cfg!(debug_assertions), env!("BROKERSCOPE_PROFILE_USE") == "1") {
        (true, _) => "debug (use cargo run --release for real figures)",
        (false, true) => "release + PGO (scripts/pgo-build)",
        (false, false) => "release",
    }
}

/// The CPU model and core count.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{model}, {cores} cores")
}

fn table(results: &[Figures], machine: &str) -> String {
    let mut out = format!("machine: {machine}; build: {}\n", build());
    out += &format!(
        "{:<30} {:>10} {:>14} {:>9} {:>11} {:>12} {:>10}  {}\n",
        "workload", "records", "records/s", "MB/s", "ns/record", "peak heap", "seeds/s", "runs"
    );
    for f in results {
        let label = Workload::ALL.iter().find(|w| w.name() == f.workload).map_or(f.workload, |w| w.label());
        let label = if f.threads > 1 { format!("{label}, {} threads", f.threads) } else { label.to_string() };
        out += &format!(
            "{:<30} {:>10} {:>14.0} {:>9.1} {:>11.0} {:>12} {:>10}  {}\n",
            label,
            f.records,
            f.records_per_sec,
            f.mb_per_sec,
            f.ns_per_record,
            f.peak_heap_bytes.map_or("-".into(), mib),
            f.seeds_per_sec.map_or("-".into(), |s| format!("{s:.1}")),
            runs_cell(f),
        );
    }
    out
}

/// "1" for one run; for more, how many and the headline rate of the slowest and fastest
/// (seeds/s for the swarm, records/s otherwise): "median of 5: 181.2–203.9".
fn runs_cell(f: &Figures) -> String {
    if f.runs == 1 {
        return "1".into();
    }
    let (fast, slow) = f.seconds_range;
    let rate = |seconds: f64| match f.seeds_per_sec {
        Some(s) => format!("{:.1}", s * f.seconds / seconds),
        None => format!("{:.0}", f.records as f64 / seconds),
    };
    format!("median of {}: {}–{}", f.runs, rate(slow), rate(fast))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_cell_gives_the_slowest_and_fastest_rate_of_the_headline_figure() {
        // The swarm's headline is seeds/s: 4 seeds in 2 s (the median), 4 s and 1 s.
        let mut swarm = bench::swarm_figures(4, 2.0, 1);
        assert_eq!(runs_cell(&swarm), "1");
        (swarm.runs, swarm.seconds_range) = (3, (1.0, 4.0));
        assert_eq!(runs_cell(&swarm), "median of 3: 1.0–4.0");
        // A record workload's is records/s: 4,000 records (the swarm's 1,000 a seed).
        swarm.seeds_per_sec = None;
        assert_eq!(runs_cell(&swarm), "median of 3: 1000–4000");
    }
}
