//! `brokerscope seeds`: one scenario over many seeds, checking that no acknowledged record is
//! lost. The seed changes network jitter and loss draws and every client's randomness; the
//! scenario's own events (crashes, cuts) stay as written. Exit 1 when any seed loses an
//! acknowledged record.

use super::run::load;
use super::{bad_input, Failure};
use crate::scenario::Scenario;
use crate::sim::check::AckedCheck;
use crate::sim::config::{BrokerConfig, ControllerConfig, TopicConfig};
use crate::sim::scenario::{Action, CrashKind};
use crate::sim::{time::SimTime, Sim};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

/// Arguments of `seeds`.
#[derive(clap::Args, Debug)]
pub struct SeedsArgs {
    /// Scenario file (JSON).
    #[arg(long)]
    pub scenario: PathBuf,
    /// How many seeds.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub from: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
}

/// Runs one seed to the scenario's end and checks it.
fn check_seed(scenario: &Scenario, seed: u64) -> AckedCheck {
    let mut sim = Sim::new(scenario, seed);
    sim.set_trace_capture(false);
    sim.run_until(SimTime::from_ms(scenario.duration_ms), u64::MAX);
    sim.acked_check()
}

/// Runs `seeds` on `jobs` threads; `progress` hears of each finished seed.
fn check_all(scenario: &Scenario, seeds: Vec<u64>, jobs: usize, progress: impl Fn(usize)) -> Vec<(u64, AckedCheck)> {
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for chunk in 0..jobs {
            let (tx, mine): (_, Vec<u64>) = (tx.clone(), seeds.iter().copied().skip(chunk).step_by(jobs).collect());
            scope.spawn(move || {
                for seed in mine {
                    tx.send((seed, check_seed(scenario, seed))).expect("the collector outlives the workers");
                }
            });
        }
        drop(tx);
        let mut results = Vec::with_capacity(seeds.len());
        for result in rx {
            results.push(result);
            progress(results.len());
        }
        results.sort_by_key(|(seed, _)| *seed);
        results
    })
}

/// Why this scenario's configuration may lose acknowledged records, if it may.
pub fn loss_allowed_by(scenario: &Scenario) -> Vec<String> {
    let mut why = Vec::new();
    for p in &scenario.producers {
        match p.config.get("acks") {
            None | Some("all" | "-1") => {}
            Some(acks) => why.push(format!("{}: acks={acks}", p.label)),
        }
    }
    let broker_min_isr = BrokerConfig::from_props(&scenario.broker_config).min_insync_replicas;
    let unclean = ControllerConfig::from_props(&scenario.broker_config).unclean_leader_election;
    for t in &scenario.topics {
        let topic = TopicConfig::from_props(&t.config);
        let min_isr = topic.min_insync_replicas.unwrap_or(broker_min_isr);
        if t.replication_factor < 3 || min_isr < 2 {
            why.push(format!(
                "{}: replication.factor {} with min.insync.replicas {min_isr}",
                t.name, t.replication_factor
            ));
        }
        if topic.unclean_leader_election.unwrap_or(unclean) {
            why.push(format!("{}: unclean.leader.election.enable", t.name));
        }
    }
    let machine_crash =
        scenario.events.iter().any(|e| matches!(e.action, Action::CrashBroker { kind: CrashKind::Machine, .. }));
    if machine_crash {
        why.push("machine crashes lose unflushed records (the last in-sync replica may lose them all)".into());
    }
    why
}

/// `brokerscope seeds`: prints a report; fails (exit 1) when any seed lost acknowledged records.
pub fn run(args: &SeedsArgs) -> Result<String, Failure> {
    let scenario = load(&args.scenario)?;
    let seeds: Vec<u64> = (0..args.count)
        .map(|i| args.from.checked_add(i).ok_or_else(|| bad_input("--from + --count overflows u64".into())))
        .collect::<Result<_, _>>()?;
    let total = seeds.len();
    let results = check_all(&scenario, seeds, args.jobs as usize, |done| {
        let width = 30;
        let filled = done * width / total;
        eprint!("\r[{}{}] {done}/{total} seeds", "#".repeat(filled), ".".repeat(width - filled));
        let _ = std::io::stderr().flush();
    });
    eprintln!();
    let failing: Vec<&(u64, AckedCheck)> = results.iter().filter(|(_, c)| c.acked_lost > 0).collect();
    let mut out = format!(
        "{total} seeds from {}: {} with acknowledged records lost, {} acknowledged in all\n",
        args.from,
        failing.len(),
        results.iter().map(|(_, c)| c.acked).sum::<u64>()
    );
    for (seed, check) in failing.iter().take(5) {
        let first: Vec<String> = check.lost.iter().take(5).map(|l| format!("{}@{}", l.tp, l.offset)).collect();
        out += &format!(
            "seed {seed}: lost {} of {} acknowledged records (first: {})\n  replay: brokerscope run {} --seed {seed} --trace out.jsonl\n",
            check.acked_lost,
            check.acked,
            first.join(" "),
            args.scenario.display()
        );
    }
    if failing.is_empty() {
        return Ok(out);
    }
    let allowed = loss_allowed_by(&scenario);
    out += &match allowed.is_empty() {
        true => {
            "the configuration promises no loss (acks=all, RF ≥ 3, min ISR ≥ 2, clean elections): a safety violation\n"
                .into()
        }
        false => format!("the configuration allows it: {}\n", allowed.join("; ")),
    };
    print!("{out}");
    Err(Failure { message: format!("{} of {total} seeds lost acknowledged records", failing.len()), code: 1 })
}
