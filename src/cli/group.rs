//! `brokerscope assign` (run an assignor on a vector-shaped input) and `brokerscope coordinator`
//! (which `__consumer_offsets` partition coordinates a group).

use super::{bad_input, Failure};
use crate::assign_json::{parse_input, to_json};
use crate::sim::group::assignor::{assign, Assignor};
use crate::sim::group::{coordinator_partition, java_string_hash};
use std::path::PathBuf;

/// Arguments of `assign`.
#[derive(clap::Args, Debug)]
pub struct AssignArgs {
    /// `range`, `roundrobin`, `sticky` or `cooperative-sticky`.
    #[arg(long)]
    pub assignor: String,
    /// `{"partitions_per_topic": {...}, "members": [{"member_id", "topics", "group_instance_id",
    /// "owned_partitions", "generation"}]}`.
    #[arg(long, value_name = "FILE.json")]
    pub input: PathBuf,
    /// Print JSON (`{member_id: ["topic-partition", ...]}`).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `coordinator`.
#[derive(clap::Args, Debug)]
pub struct CoordinatorArgs {
    /// `group.id`.
    #[arg(long)]
    pub group: String,
    /// `offsets.topic.num.partitions`.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub partitions: u32,
}

fn parse_assignor(name: &str) -> Result<Assignor, Failure> {
    match name {
        "range" => Ok(Assignor::Range),
        "roundrobin" => Ok(Assignor::RoundRobin),
        "sticky" => Ok(Assignor::Sticky),
        "cooperative-sticky" => Ok(Assignor::CooperativeSticky),
        other => Err(bad_input(format!(
            "--assignor: unknown assignor {other:?} (range, roundrobin, sticky, cooperative-sticky)"
        ))),
    }
}

/// Runs the assignor and prints each member's partitions.
pub fn run_assign(args: &AssignArgs) -> Result<String, Failure> {
    let assignor = parse_assignor(&args.assignor)?;
    let path = args.input.display();
    let text = std::fs::read_to_string(&args.input).map_err(|e| bad_input(format!("{path}: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad_input(format!("{path}: {e}")))?;
    let input = parse_input(&value).map_err(|e| bad_input(format!("{path}: {e}")))?;
    let assignment = assign(assignor, &input.partitions_per_topic, &input.members);
    if args.json {
        return Ok(to_json(&assignment).to_string() + "\n");
    }
    let mut out = String::new();
    if input.has_owned_partitions && !matches!(assignor, Assignor::Sticky | Assignor::CooperativeSticky) {
        out.push_str(&format!(
            "note: {} ignores owned_partitions (only the sticky assignors use them)\n",
            assignor.name()
        ));
    }
    for (member, tps) in &assignment {
        let list: Vec<String> = tps.iter().map(|(t, p)| format!("{t}-{p}")).collect();
        out.push_str(&format!("{member}: {}\n", if list.is_empty() { "(nothing)".into() } else { list.join(", ") }));
    }
    Ok(out)
}

/// Prints the coordinator partition with the hash that picks it.
pub fn run_coordinator(args: &CoordinatorArgs) -> Result<String, Failure> {
    let hash = java_string_hash(&args.group);
    let partition = coordinator_partition(&args.group, args.partitions);
    Ok(format!(
        "__consumer_offsets-{partition} (of {}): Utils.abs({:?}.hashCode() = {hash}) % {}\n",
        args.partitions, args.group, args.partitions
    ))
}
