//! Helpers shared by the scenario tests.
#![allow(dead_code)]

use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::{TraceEvent, TraceKind};

/// (time, generation, members) of every generation a group coordinator started.
pub fn generations(trace: &[TraceEvent]) -> Vec<(SimTime, i32, usize)> {
    trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::GroupGenerationStarted { generation, members, .. } => Some((e.at, *generation, members.len())),
            _ => None,
        })
        .collect()
}
