//! `brokerscope run`: a scenario headless, with a summary and an optional trace file.

use super::{bad_input, Failure};
use crate::scenario;
use crate::sim::{time::SimTime, RunStop, Sim};
use crate::summary::RunSummary;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Arguments of `run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scenario file (JSON).
    pub scenario: PathBuf,
    /// Seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop at this simulated time, ms (default: the scenario's `duration_ms`).
    #[arg(long = "until-ms", value_name = "T")]
    pub until_ms: Option<u64>,
    /// Write every trace event to this file as JSON lines.
    #[arg(long, value_name = "FILE.jsonl")]
    pub trace: Option<PathBuf>,
    /// Print a machine-readable JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
    /// Safety bound on processed events.
    #[arg(long, default_value_t = 200_000_000, value_name = "N")]
    pub steps_max: u64,
}

/// The scenario in the file at `path`; errors name the file.
pub(crate) fn load(path: &Path) -> Result<scenario::Scenario, Failure> {
    read(path).map(|(_, scenario)| scenario)
}

/// The scenario file's text and the scenario it describes; errors name the file.
pub(crate) fn read(path: &Path) -> Result<(String, scenario::Scenario), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    let scenario = scenario::parse_json(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    Ok((text, scenario))
}

/// `brokerscope run`: returns what to print.
pub fn run(args: &RunArgs) -> Result<String, Failure> {
    let scenario = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let until = SimTime::from_ms(args.until_ms.unwrap_or(scenario.duration_ms));
    let mut sim = Sim::new(&scenario, seed);
    let mut writer = match &args.trace {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
            Some(BufWriter::new(file))
        }
        None => {
            sim.set_trace_capture(false);
            None
        }
    };
    let stop = run_sliced(&mut sim, until, args.steps_max, writer.as_mut())?;
    if let Some(w) = writer.as_mut() {
        w.flush().map_err(|e| bad_input(format!("writing trace: {e}")))?;
    }
    let summary = RunSummary::new(&sim, stop);
    Ok(if args.json {
        serde_json::to_string_pretty(&summary).expect("summary serialises") + "\n"
    } else {
        summary.to_text()
    })
}

/// Runs in slices of 100 ms simulated time, writing the trace as it goes (bounded memory).
pub(crate) fn run_sliced(
    sim: &mut Sim,
    until: SimTime,
    steps_max: u64,
    mut out: Option<&mut BufWriter<std::fs::File>>,
) -> Result<RunStop, Failure> {
    let slice = crate::sim::time::SimDuration::from_ms(100);
    let mut budget = steps_max;
    loop {
        let deadline = (sim.now() + slice).min(until);
        let before = sim.steps();
        let stop = sim.run_until(deadline, budget);
        budget -= sim.steps() - before;
        if let Some(w) = out.as_deref_mut() {
            for event in sim.drain_trace() {
                writeln!(w, "{}", event.to_json_line()).map_err(|e| bad_input(format!("writing trace: {e}")))?;
            }
        }
        if stop == RunStop::StepsMax {
            return Ok(stop);
        }
        if sim.now() >= until {
            return Ok(if sim.poll_timeout().is_some() { RunStop::Deadline } else { RunStop::Idle });
        }
    }
}
