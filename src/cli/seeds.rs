//! `brokerscope seeds`: one scenario over many seeds, checking that no acknowledged record is
//! lost and no safety rule breaks. The seed changes network jitter and loss draws and every
//! client's randomness; the scenario's own events (crashes, cuts) stay as written. With
//! `--swarm` each seed adds random faults, heals them, and checks that the cluster converges
//! (liveness). Exit 1 when any seed breaks a rule; the report says whether safety or liveness.

use super::{bad_input, Failure};
use crate::scenario::Scenario;
use crate::sim::check::AckedCheck;
use crate::sim::{time::SimTime, Sim};
use crate::swarm::{self, broke_safety, SwarmConfig};
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
    /// Add a random fault schedule per seed (crashes, cuts, latency spikes, loss, consumer
    /// crashes), then heal everything for the liveness phase; the first failing seed is shrunk.
    #[arg(long)]
    pub swarm: bool,
    /// The liveness phase: the last this many ms of the scenario have every fault healed.
    #[arg(long, default_value_t = 20_000)]
    pub liveness_ms: u64,
}

/// Runs one seed to the scenario's end and checks it.
fn check_seed(scenario: &Scenario, seed: u64) -> AckedCheck {
    let mut sim = Sim::new(scenario, seed);
    sim.set_trace_capture(false);
    sim.run_until(SimTime::from_ms(scenario.duration_ms), u64::MAX);
    sim.checks()
}

/// Runs `seeds` on `jobs` threads; `progress` hears of each finished seed.
fn check_all(
    check: impl Fn(u64) -> AckedCheck + Sync,
    seeds: Vec<u64>,
    jobs: usize,
    progress: impl Fn(usize),
) -> Vec<(u64, AckedCheck)> {
    let check = &check;
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for chunk in 0..jobs {
            let (tx, mine): (_, Vec<u64>) = (tx.clone(), seeds.iter().copied().skip(chunk).step_by(jobs).collect());
            scope.spawn(move || {
                for seed in mine {
                    tx.send((seed, check(seed))).expect("the collector outlives the workers");
                }
                super::heap::release_thread_cache();
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

pub use crate::sim::check::loss_allowed_by;

/// The scenario file's `text` as JSON, checked to leave room for the liveness phase.
fn swarm_base(args: &SeedsArgs, text: &str, scenario: &Scenario) -> Result<serde_json::Value, Failure> {
    let path = args.scenario.display();
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad_input(format!("{path}: {e}")))?;
    if scenario.duration_ms <= args.liveness_ms + 2000 {
        return Err(bad_input(format!(
            "{path}: duration_ms ({}) leaves no time for faults before the {} ms liveness phase (--liveness-ms)",
            scenario.duration_ms, args.liveness_ms
        )));
    }
    Ok(value)
}

/// `brokerscope seeds`: returns a report; fails (exit 1, the report attached) when any seed
/// broke a safety rule or, with `--swarm`, did not converge after the heal (liveness); the
/// report and the error say which.
pub fn run(args: &SeedsArgs) -> Result<String, Failure> {
    // A scenario shares its topic names through `Rc` (a simulation is one thread), so each seed
    // parses its own copy from the text checked here (read once: a file changing meanwhile
    // cannot make a seed's parse fail).
    let (text, scenario) = super::run::read(&args.scenario)?;
    let seeds: Vec<u64> = (0..args.count)
        .map(|i| args.from.checked_add(i).ok_or_else(|| bad_input("--from + --count overflows u64".into())))
        .collect::<Result<_, _>>()?;
    let total = seeds.len();
    let swarm_config = SwarmConfig { liveness_ms: args.liveness_ms, ..SwarmConfig::default() };
    let base = if args.swarm { Some(swarm_base(args, &text, &scenario)?) } else { None };
    let check = |seed: u64| match &base {
        None => check_seed(&crate::scenario::parse_json(&text).expect("parsed above"), seed),
        Some(base) => {
            let v = swarm::with_faults(base, &swarm::fault_schedule(base, seed, swarm_config), swarm_config);
            swarm::check(&v, seed).expect("generated schedules are valid scenario events")
        }
    };
    let results = check_all(check, seeds, args.jobs as usize, |done| {
        let width = 30;
        let filled = done * width / total;
        eprint!("\r[{}{}] {done}/{total} seeds", "#".repeat(filled), ".".repeat(width - filled));
        let _ = std::io::stderr().flush();
    });
    eprintln!();
    let failing: Vec<&(u64, AckedCheck)> =
        results.iter().filter(|(_, c)| c.acked_lost > 0 || !c.violations.is_empty()).collect();
    let lost = results.iter().filter(|(_, c)| c.acked_lost > 0).count();
    let mut out = format!(
        "{total} seeds from {}: {} with violations ({lost} with acknowledged records lost), {} acknowledged in all, {} duplicates, {} reordered\n",
        args.from,
        failing.len(),
        results.iter().map(|(_, c)| c.acked).sum::<u64>(),
        results.iter().map(|(_, c)| c.duplicates).sum::<u64>(),
        results.iter().map(|(_, c)| c.reordered).sum::<u64>(),
    );
    for (seed, check) in failing.iter().take(5) {
        let first = check.violations.first().map_or("acknowledged records lost".to_string(), |v| {
            format!("{:?} at event {} ({} ms): {}", v.kind, v.seq, v.at_ms, v.message)
        });
        let file = args.scenario.display();
        let replay = match args.swarm {
            // The faults are generated from the seed: this prints the (shrunk) scenario to run.
            true => format!("brokerscope seeds --scenario {file} --swarm --from {seed} --count 1"),
            false => format!("brokerscope run {file} --seed {seed} --trace out.jsonl"),
        };
        out += &format!(
            "seed {seed}: {} violations, lost {} of {} acknowledged records; first: {first}\n  replay: {replay}\n",
            check.violations.len(),
            check.acked_lost,
            check.acked,
        );
    }
    if failing.is_empty() {
        return Ok(out);
    }
    // Shrinks the first seed that broke a safety rule (else the first failing one), keeping
    // that class of failure: a safety failure must not shrink into one of liveness only.
    let worst = failing.iter().find(|(_, c)| broke_safety(c)).or(failing.first());
    if let (Some(base), Some((seed, check))) = (&base, worst) {
        let faults = swarm::fault_schedule(base, *seed, swarm_config);
        let total_faults = faults.len();
        let kept = match broke_safety(check) {
            true => swarm::shrink_keeping(base, *seed, faults, swarm_config, broke_safety),
            false => swarm::shrink(base, *seed, faults, swarm_config),
        };
        let minimal = swarm::with_faults(base, &kept, swarm_config);
        out += &format!(
            "seed {seed} shrunk from {total_faults} faults to {}; this scenario fails with --seed {seed}:\n{}\n",
            kept.len(),
            serde_json::to_string_pretty(&minimal).expect("JSON values print")
        );
    }
    let safety = failing.iter().filter(|(_, c)| broke_safety(c)).count();
    out += &match (safety, loss_allowed_by(&scenario)) {
        (0, _) => format!(
            "no safety rule broke: the cluster did not converge within the liveness phase (the last {} ms, after every \
             fault healed); timeouts longer than it, or the scenario's own events in it, can explain that{}\n",
            args.liveness_ms,
            base.as_ref().map_or(String::new(), |b| own_events_note(b, args.liveness_ms)),
        ),
        (_, allowed) if allowed.is_empty() => {
            "the configuration promises no loss (acks=all, RF ≥ 3, min ISR ≥ 2, clean elections): a safety violation\n"
                .into()
        }
        (_, allowed) => format!("the configuration allows it: {}\n", allowed.join("; ")),
    };
    Err(Failure { message: verdict(safety, failing.len(), total), code: 1, report: out })
}

/// The scenario's own events due in the swarm's liveness phase (the last `liveness_ms`), as
/// "; the scenario's own events in it: consumer_crash at 22000 ms, …", or nothing.
fn own_events_note(base: &serde_json::Value, liveness_ms: u64) -> String {
    let from = base["duration_ms"].as_u64().unwrap_or(0).saturating_sub(liveness_ms);
    let events = base["events"].as_array().map(Vec::as_slice).unwrap_or_default();
    let inside: Vec<String> = events
        .iter()
        .filter_map(|e| Some((e["action"].as_str()?, e["at_ms"].as_u64()?)))
        .filter(|(_, at)| *at >= from)
        .map(|(action, at)| format!("{action} at {at} ms"))
        .collect();
    match inside.is_empty() {
        true => String::new(),
        false => format!("; the scenario's own events in it (from {from} ms): {}", inside.join(", ")),
    }
}

/// The one-line error of a run in which `failing` of `total` seeds broke a rule, `safety` of
/// them a safety rule (the others only the swarm's liveness check).
fn verdict(safety: usize, failing: usize, total: usize) -> String {
    match safety {
        0 => format!("{failing} of {total} seeds did not converge after the heal (liveness; no safety rule broke)"),
        s if s == failing => format!("{failing} of {total} seeds broke a safety rule"),
        s => format!("{failing} of {total} seeds broke a rule: {s} a safety rule, the others liveness only"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::invariants::{Violation, ViolationKind};

    fn check(lost: u64, kinds: &[ViolationKind]) -> AckedCheck {
        let violation = |kind: &ViolationKind| Violation { kind: *kind, seq: 1, at_ms: 2, message: "m".into() };
        AckedCheck { acked_lost: lost, violations: kinds.iter().map(violation).collect(), ..AckedCheck::default() }
    }

    #[test]
    fn the_scenarios_own_events_in_the_liveness_phase_are_named() {
        let base = serde_json::json!({ "duration_ms": 40_000, "events": [
            { "at_ms": 5_000, "action": "crash_broker", "broker": 1 },
            { "at_ms": 20_000, "action": "cut_link", "from": "a", "to": "b" },
            { "at_ms": 22_000, "action": "consumer_crash", "consumer": "consumer-2" },
        ] });
        assert_eq!(
            own_events_note(&base, 20_000),
            "; the scenario's own events in it (from 20000 ms): cut_link at 20000 ms, consumer_crash at 22000 ms"
        );
        assert_eq!(own_events_note(&base, 10_000), "", "none after 30000 ms");
        assert_eq!(own_events_note(&serde_json::json!({ "duration_ms": 9 }), 5), "", "no events");
    }

    #[test]
    fn liveness_alone_is_not_called_a_safety_violation() {
        assert!(!broke_safety(&check(0, &[ViolationKind::Liveness])));
        assert!(broke_safety(&check(0, &[ViolationKind::Liveness, ViolationKind::HwRegressed])));
        assert!(broke_safety(&check(3, &[ViolationKind::Liveness])), "lost acknowledged records are safety");
        assert_eq!(verdict(0, 7, 20), "7 of 20 seeds did not converge after the heal (liveness; no safety rule broke)");
        assert_eq!(verdict(3, 3, 3), "3 of 3 seeds broke a safety rule");
        assert_eq!(verdict(2, 5, 9), "5 of 9 seeds broke a rule: 2 a safety rule, the others liveness only");
    }
}
