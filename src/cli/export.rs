//! `brokerscope export`: run a scenario and write each replica's segments as Kafka files
//! (`DIR/broker-N/TOPIC-P/<20-digit base offset>.log|.index|.timeindex`).

use super::run::{load, run_sliced};
use super::{bad_input, Failure};
use crate::sim::log::segment::file_stem;
use crate::sim::time::SimTime;
use crate::sim::{Node, Sim};
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Scenario file (JSON).
    pub scenario: PathBuf,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop at this simulated time, ms (default: the scenario's `duration_ms`).
    #[arg(long = "until-ms", value_name = "T")]
    pub until_ms: Option<u64>,
    /// Only this broker.
    #[arg(long)]
    pub broker: Option<u16>,
}

/// Runs and writes the files; prints one line per file written.
pub fn run(args: &ExportArgs) -> Result<String, Failure> {
    let scenario = load(&args.scenario)?;
    let mut sim = Sim::new(&scenario, args.seed.unwrap_or(scenario.seed));
    sim.set_trace_capture(false);
    run_sliced(&mut sim, SimTime::from_ms(args.until_ms.unwrap_or(scenario.duration_ms)), u64::MAX, None)?;
    let mut out = String::new();
    let ids: Vec<_> =
        sim.node_ids().filter(|id| id.is_broker() && args.broker.is_none_or(|b| b == id.number)).collect();
    for id in ids {
        let Some(Node::Broker(broker)) = sim.node(id) else { continue };
        for (tp, replica) in broker.replicas() {
            let dir = args.dir.join(id.to_string()).join(tp.to_string());
            std::fs::create_dir_all(&dir).map_err(|e| bad_input(format!("{}: {e}", dir.display())))?;
            for segment in replica.log.segments() {
                let stem = file_stem(segment.base_offset());
                for (ext, bytes) in [
                    ("log", segment.log_bytes()),
                    ("index", segment.offset_index().to_bytes()),
                    ("timeindex", segment.time_index().to_bytes()),
                ] {
                    let path = dir.join(format!("{stem}.{ext}"));
                    std::fs::write(&path, &bytes).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
                    let _ = writeln!(out, "{} ({} bytes)", path.display(), bytes.len());
                }
            }
        }
    }
    Ok(out)
}
