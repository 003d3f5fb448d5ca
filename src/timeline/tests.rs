#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use crate::scenario::{parse_json, HELLO_JSON};
use crate::sim::scenario::CrashKind;

/// Everything a viewer shows at a position, for comparing two ways of getting there.
#[derive(Debug, PartialEq)]
struct Seen {
    now: SimTime,
    ticks: u64,
    hash: String,
    view: crate::sim::ClusterView,
    flights: Vec<crate::playback::Flight>,
    log_seqs: Vec<u64>,
}

fn seen(t: &Timeline) -> Seen {
    let pb = t.playback();
    Seen {
        now: pb.now(),
        ticks: t.ticks(),
        hash: pb.sim().trace_hash().hex(),
        view: pb.sim().view(),
        flights: pb.flights().cloned().collect(),
        log_seqs: pb.log().map(|e| e.seq).collect(),
    }
}

fn hello(snapshot_every: u64) -> Timeline {
    let s = parse_json(HELLO_JSON).unwrap();
    let mut t = Timeline::new(&s, 1);
    t.set_snapshot_every(snapshot_every);
    t
}

/// Plays like the app does: many small frames.
fn play(t: &mut Timeline, to_ms: u64) {
    let mut ms = t.playback().now().as_ns() / 1_000_000;
    while ms < to_ms {
        ms = (ms + 7).min(to_ms);
        while t.advance_to(SimTime::from_ms(ms)).unwrap() != RunStop::Deadline {}
    }
}

const CRASH: Action = Action::CrashBroker { broker: 2, kind: CrashKind::Process };
const RESTART: Action = Action::RestartBroker { broker: 2 };

#[test]
fn scrubbing_back_and_forth_shows_the_same_state_at_the_same_time() {
    let mut live = hello(200);
    let mut marks = Vec::new();
    for ms in [400, 1_000, 2_500, 4_000] {
        play(&mut live, ms);
        marks.push(seen(&live));
    }
    assert!(live.snapshot_count() > 3, "snapshots were taken: {}", live.snapshot_count());
    for i in [1, 0, 3, 2, 0, 3] {
        live.seek(marks[i].now).unwrap();
        assert_eq!(seen(&live), marks[i], "after seeking to {}", marks[i].now);
    }
}

#[test]
fn actions_on_the_wrong_kind_of_node_or_a_link_that_does_not_exist_are_refused() {
    use crate::sim::net::LinkConfig;
    use crate::sim::node::NodeId;
    use crate::sim::time::SimDuration;
    let (b1, p1, c1) = (NodeId::broker(1), NodeId::producer(1), NodeId::consumer(1));
    let slow = |ms: u64| LinkConfig { latency: SimDuration::from_ms(ms), ..LinkConfig::default() };
    let change = |id: NodeId, property: &str, value: &str| Action::ConfigChange {
        target: crate::sim::scenario::ConfigTarget::Node(id),
        property: property.into(),
        value: value.into(),
    };
    let refused = [
        (Action::ConsumerCrash { consumer: b1 }, "no such consumer: broker-1"),
        (Action::ConsumerJoin { consumer: p1 }, "no such consumer: producer-1"),
        (Action::ConsumerLeave { consumer: NodeId::CONTROLLER }, "no such consumer: controller-1"),
        (
            Action::CutLink { from: b1, to: b1, both: true },
            "no link from broker-1 to broker-1: a link joins a broker and another node",
        ),
        (
            Action::HealLink { from: p1, to: c1, both: false },
            "no link from producer-1 to consumer-1: a link joins a broker and another node",
        ),
        (
            Action::SetLink { from: p1, to: b1, both: true, link: slow(3_600_001) },
            "a link's latency and jitter are at most an hour",
        ),
        (
            Action::SetLink {
                from: b1,
                to: c1,
                both: false,
                link: LinkConfig { jitter: SimDuration::from_ns(u64::MAX), ..LinkConfig::default() },
            },
            "a link's latency and jitter are at most an hour",
        ),
        (change(c1, "group.id", "other"), crate::sim::GROUP_ID_AT_RUN_TIME),
        (
            change(c1, "heartbeat.interval.ms", "45000"),
            "heartbeat.interval.ms: invalid value \"45000\": expected below session.timeout.ms (45000)",
        ),
        (
            change(b1, "replica.fetch.wait.max.ms", "40000"),
            "replica.fetch.wait.max.ms: invalid value \"40000\": expected at most replica.socket.timeout.ms (30000)",
        ),
    ];
    let mut t = hello(1_000);
    play(&mut t, 700);
    let before = seen(&t);
    for (action, want) in &refused {
        assert_eq!(t.act(action.clone()).map_err(|e| e.to_string()), Err(want.to_string()), "{action:?}");
    }
    assert_eq!(seen(&t), before, "a refused action changes nothing and is not recorded");
    assert!(t.actions().is_empty());
    t.act(Action::SetLink { from: p1, to: b1, both: true, link: slow(3_600_000) }).expect("an hour is allowed");
    t.act(Action::ConsumerCrash { consumer: c1 }).expect("a consumer can crash");
    assert!(!t.playback().sim().is_up(c1) && t.playback().sim().is_up(b1));

    // The same actions carried by a shared link are refused where they would apply.
    let s = parse_json(HELLO_JSON).unwrap();
    for (action, want) in refused {
        let at = RecordedAction { steps: before.ticks, at: before.now, action };
        let mut replay = Timeline::with_actions(&s, 1, vec![at]);
        let err = replay.advance_to(SimTime::from_ms(2_000)).expect_err("refused on replay");
        assert_eq!(err.to_string(), format!("actions[0]: {want}"));
    }
}

#[test]
fn recorded_actions_replay_at_their_exact_positions() {
    let mut live = hello(300);
    play(&mut live, 800);
    live.act(CRASH).unwrap();
    play(&mut live, 1_900);
    live.step().unwrap();
    live.step().unwrap();
    live.act(RESTART).unwrap();
    play(&mut live, 5_000);
    let want = seen(&live);
    assert_eq!(live.actions().len(), 2);
    assert_eq!(live.actions()[0].at, SimTime::from_ms(800));

    // A new timeline given only the recorded actions gets there in one call.
    let s = parse_json(HELLO_JSON).unwrap();
    let mut replay = Timeline::with_actions(&s, 1, live.actions().to_vec());
    while replay.advance_to(SimTime::from_ms(5_000)).unwrap() != RunStop::Deadline {}
    assert_eq!(seen(&replay), want);

    // Back before both actions (they are undone) and forward again (they are redone).
    live.seek(SimTime::from_ms(500)).unwrap();
    assert_eq!(live.applied(), 0);
    assert!(live.playback().sim().view().brokers.iter().all(|b| b.alive), "the crash is undone");
    live.seek(SimTime::from_ms(5_000)).unwrap();
    assert_eq!(seen(&live), want);

    // A different crash time is a different run.
    let mut other = hello(300);
    play(&mut other, 801);
    other.act(CRASH).unwrap();
    play(&mut other, 5_000);
    assert_ne!(seen(&other).hash, want.hash);
}

#[test]
fn step_back_undoes_exactly_one_event_or_action() {
    let mut t = hello(16);
    play(&mut t, 600);
    let mut history = vec![seen(&t)];
    for i in 0..60 {
        if i == 30 {
            t.act(CRASH).unwrap();
        } else {
            assert!(t.step().unwrap());
        }
        history.push(seen(&t));
    }
    for want in history.iter().rev().skip(1) {
        assert!(t.step_back().unwrap());
        // Stepping back lands on the tick; the clock shows that tick's event time, which for
        // the first entry (a paused clock between events) may be earlier.
        assert_eq!(t.ticks(), want.ticks);
        assert_eq!(seen(&t).hash, want.hash);
        assert_eq!(seen(&t).view, want.view);
    }
    // Forward again re-applies the recorded crash at its tick.
    for want in history.iter().skip(1) {
        assert!(t.step().unwrap());
        assert_eq!(seen(&t), *want);
    }
}

#[test]
fn acting_in_the_past_forks_and_keeps_the_baseline() {
    let mut t = hello(200);
    play(&mut t, 700);
    t.act(CRASH).unwrap();
    play(&mut t, 1_500);
    t.act(RESTART).unwrap();
    play(&mut t, 3_000);
    let old = t.actions().to_vec();

    t.seek(SimTime::from_ms(1_000)).unwrap();
    t.act(Action::CrashBroker { broker: 3, kind: CrashKind::Machine }).unwrap();
    assert_eq!(t.baseline(), Some(&old[..]));
    assert_eq!(t.actions().len(), 2, "the restart after the fork point is dropped");
    assert_eq!(t.actions()[1].at, SimTime::from_ms(1_000));
    play(&mut t, 3_000);
    let view = t.playback().sim().view();
    let down: Vec<u16> = view.brokers.iter().filter(|b| !b.alive).map(|b| b.id.number).collect();
    assert_eq!(down, [2, 3], "the new branch never restarted broker 2");

    // A rejected action changes nothing.
    let before = t.actions().to_vec();
    let e = t.act(Action::CrashBroker { broker: 9, kind: CrashKind::Process }).unwrap_err();
    assert!(e.to_string().contains("broker"), "{e}");
    assert_eq!(t.actions(), &before[..]);
}

#[test]
fn snapshots_stay_within_budget() {
    let mut t = hello(8);
    play(&mut t, 10_000);
    assert!(t.snapshot_count() <= SNAPSHOTS_MAX, "{}", t.snapshot_count());
    assert!(t.snapshot_count() >= SNAPSHOTS_MAX / 2, "{}", t.snapshot_count());
    let end = seen(&t);
    t.seek(SimTime::ZERO).unwrap();
    assert_eq!(t.playback().now(), SimTime::ZERO);
    t.seek_ticks(0).unwrap();
    assert_eq!(t.ticks(), 0);
    t.seek(SimTime::from_ms(10_000)).unwrap();
    assert_eq!(seen(&t), end);
}

#[test]
fn positions_that_cannot_be_reached_are_errors_not_panics() {
    let s = parse_json(HELLO_JSON).unwrap();
    let far = RecordedAction { steps: 10_000_000, at: SimTime::from_ms(5), action: CRASH };
    let mut t = Timeline::with_actions(&s, 1, vec![far]);
    let e = t.advance_to(SimTime::from_ms(100)).unwrap_err().to_string();
    assert!(e.starts_with("actions[0]: recorded after 10000000 events, but only"), "{e}");

    let twice = vec![
        RecordedAction { steps: 0, at: SimTime::ZERO, action: CRASH },
        RecordedAction { steps: 0, at: SimTime::ZERO, action: Action::RestartBroker { broker: 9 } },
    ];
    let e = Timeline::with_actions(&s, 1, twice).advance_to(SimTime::from_ms(10)).unwrap_err().to_string();
    assert_eq!(e, "actions[1]: no such node: broker-9");

    let mut t = Timeline::new(&s, 1);
    let e = t.goto(u64::MAX / 2, SimTime::from_ms(1)).unwrap_err().to_string();
    assert!(e.starts_with("position: tick"), "{e}");
    let mut t = Timeline::new(&s, 1);
    t.goto(100, SimTime::from_ms(1)).unwrap_err();
    let mut t = Timeline::new(&s, 1);
    t.goto(3, SimTime::from_ms(20_000)).unwrap_err();
}

#[test]
fn a_branch_outcome_is_the_run_played_to_its_end() {
    let s = parse_json(HELLO_JSON).unwrap();
    let clean = run_branch(&s, 1, vec![]).unwrap();
    let summary = {
        let mut sim = crate::sim::Sim::new(&s, 1);
        let stop = sim.run_until(SimTime::from_ms(s.duration_ms), u64::MAX);
        crate::summary::RunSummary::new(&sim, stop)
    };
    assert_eq!(clean.trace_hash, summary.trace_hash);
    assert_eq!(clean.acked, 150, "hello's producer sends 150 records with acks=all");
    assert_eq!((clean.lost, clean.violations), (0, 0));
    assert_eq!(clean.consumed, 150);

    // Two of three brokers down for good with min.insync.replicas=2: acks stop.
    let crash = |steps, broker| RecordedAction {
        steps,
        at: SimTime::ZERO,
        action: Action::CrashBroker { broker, kind: CrashKind::Process },
    };
    let broken = run_branch(&s, 1, vec![crash(0, 2), crash(0, 3)]).unwrap();
    assert!(broken.acked < 150, "acked {}", broken.acked);
    assert_ne!(broken.trace_hash, clean.trace_hash);
}

#[test]
fn an_exported_trace_is_the_cli_trace_to_the_same_time() {
    let s = parse_json(HELLO_JSON).unwrap();
    let mut t = hello(500);
    play(&mut t, 2_000);
    let position = (t.ticks(), t.playback().now());
    let exported = replay_trace(&s, 1, t.actions().to_vec(), position).unwrap();
    // What `brokerscope run hello.json --until-ms 2000 --trace` writes.
    let mut sim = crate::sim::Sim::new(&s, 1);
    sim.run_until(SimTime::from_ms(2_000), u64::MAX);
    let cli: Vec<String> = sim.drain_trace().iter().map(|e| e.to_json_line()).collect();
    let ours: Vec<String> = exported.iter().map(|e| e.to_json_line()).collect();
    assert_eq!(ours.len() as u64, t.playback().sim().trace_len());
    assert_eq!(ours, cli);
}

#[test]
fn advancing_within_small_budgets_reaches_the_same_state_as_one_advance() {
    // Record a crash and a restart, then replay them in one advance and in 37-event slices
    // (a budget that lands inside the gaps between actions and right on them).
    let mut live = hello(1_000);
    play(&mut live, 900);
    live.act(CRASH).unwrap();
    play(&mut live, 2_000);
    live.act(RESTART).unwrap();
    play(&mut live, 3_500);
    let actions = live.actions().to_vec();
    let s = parse_json(HELLO_JSON).unwrap();
    let mut whole = Timeline::with_actions(&s, 1, actions.clone());
    assert_eq!(whole.advance_to(SimTime::from_ms(3_500)).unwrap(), RunStop::Deadline);
    let mut sliced = Timeline::with_actions(&s, 1, actions);
    let mut slices = 0;
    loop {
        let before = sliced.steps();
        let stop = sliced.advance_within(SimTime::from_ms(3_500), 37).unwrap();
        assert!(sliced.steps() - before <= 37, "a slice processed {} events", sliced.steps() - before);
        slices += 1;
        if stop != RunStop::StepsMax {
            assert_eq!(stop, RunStop::Deadline);
            break;
        }
    }
    assert!(slices > 10, "the budget split the run: {slices} slices");
    assert_eq!(sliced.applied(), 2);
    assert_eq!(seen(&sliced), seen(&whole));
    assert_eq!(seen(&sliced), seen(&live));
}
