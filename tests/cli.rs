//! The `brokerscope` command line: summaries, JSON keys, trace files and exit codes.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

fn brokerscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brokerscope")).args(args).output().expect("run brokerscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn temp(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("brokerscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

const HELLO: &str = "www/scenarios/hello.json";

#[test]
fn run_json_has_the_documented_keys_and_the_golden_hash() {
    let (code, out, err) = brokerscope(&["run", HELLO, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "seed",
        "sim_time_ms",
        "events",
        "trace_hash",
        "messages",
        "cluster",
        "steps",
        "stopped",
        "checks",
        "brokers",
        "groups",
        "consumers",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["seed"], 1);
    assert_eq!(v["sim_time_ms"], 10_000);
    assert_eq!(v["trace_hash"], include_str!("golden/hello_seed1.hash").trim());
    assert!(v["messages"]["broker-1"]["received"].as_u64().unwrap() > 0);
    assert_eq!(v["cluster"]["producers"][0]["records_acked"], 150);
    assert_eq!(v["checks"]["acked"], 150);
    assert_eq!(v["checks"]["acked_lost"], 0);
    let leaders: f64 =
        (1..=3).map(|b| v["brokers"][format!("broker-{b}")]["metrics"]["LeaderCount"].as_f64().unwrap()).sum();
    assert_eq!(leaders, 3.0 + 50.0, "each partition led once: orders-0..2 and __consumer_offsets-0..49");
    // The group: one member owning all three partitions, offsets committed, lag per partition.
    let g = &v["groups"][0];
    assert_eq!(
        (g["group"].as_str(), g["state"].as_str(), g["generation"].as_i64()),
        (Some("order-readers"), Some("Stable"), Some(1))
    );
    assert_eq!(g["protocol"], "range");
    assert_eq!(g["offsets_partition"], 15, "abs(\"order-readers\".hashCode()) % 50");
    assert_eq!(g["members"][0]["assignment"], serde_json::json!(["orders-0", "orders-1", "orders-2"]));
    assert_eq!(g["committed"].as_array().unwrap().len(), 3);
    assert_eq!(g["lag"].as_array().unwrap().len(), 3);
    let c = &v["consumers"]["consumer-1"];
    assert_eq!((c["records_consumed"].as_u64(), c["redelivered"].as_u64()), (Some(150), Some(0)));
    assert_eq!(v["brokers"]["broker-1"]["request_queue_depth"], 0);
    let m = &v["producer_metrics"]["producer-1"];
    for name in [
        "record-send-rate",
        "record-queue-time-avg",
        "request-latency-avg",
        "batch-size-avg",
        "records-per-request-avg",
        "record-retry-rate",
        "record-error-rate",
        "bufferpool-wait-ratio",
        "buffer-available-bytes",
    ] {
        assert!(m[name].is_number(), "missing metric {name}");
    }
    assert_eq!(m["record-send-rate"], 15.0, "150 records over 10 s");
    assert_eq!(m["records-per-request-avg"], 1.0, "20 rec/s with linger 5 ms: one record per request");
    assert_eq!(m["buffer-available-bytes"], 33554432.0, "every buffer returned");
    assert_eq!(m["record-error-rate"], 0.0);
    assert_eq!(m["record-queue-time-avg"], 5.0, "each single-record batch waits linger.ms in the accumulator");
}

#[test]
fn seed_and_until_change_the_run() {
    let (_, a, _) = brokerscope(&["run", HELLO, "--json", "--seed", "5", "--until-ms", "800"]);
    let (_, b, _) = brokerscope(&["run", HELLO, "--json", "--seed", "6", "--until-ms", "800"]);
    let (a, b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&a).unwrap(), serde_json::from_str(&b).unwrap());
    assert_eq!((a["seed"].as_u64(), a["sim_time_ms"].as_u64()), (Some(5), Some(800)));
    assert_ne!(a["trace_hash"], b["trace_hash"]);
}

#[test]
fn trace_file_is_json_lines_matching_the_event_count() {
    let path = std::env::temp_dir().join(format!("brokerscope-trace-{}.jsonl", std::process::id()));
    let (code, out, _) = brokerscope(&["run", HELLO, "--json", "--until-ms", "500", "--trace", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, v["events"].as_u64().unwrap());
    for (i, line) in lines.iter().enumerate() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(e["seq"], i as u64);
        assert!(e["node"].is_string() && e["kind"].is_string() && e["at_ns"].is_u64());
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn text_summary_is_readable() {
    let (code, out, _) = brokerscope(&["run", HELLO, "--until-ms", "2000"]);
    assert_eq!(code, 0);
    assert!(out.contains("trace hash"), "{out}");
    assert!(out.contains("producer-1 (producer-1)  sent"), "{out}");
}

#[test]
fn run_json_reports_each_partition_with_every_replicas_leo() {
    // broker-3 follows both partitions and crashes at 500 ms for good: the leaders drop it from
    // the ISR, keep acknowledging (min ISR 1), and its LEO stays where the crash left it.
    let scenario = serde_json::json!({
        "name": "follower-down", "duration_ms": 8000, "brokers": 3,
        "broker_config": {"replica.lag.time.max.ms": 2000},
        "network": {"latency_ms": 1},
        "topics": [{"name": "t", "partitions": 2, "replication_factor": 3}],
        "producers": [{"id": "p", "workload": {"topic": "t", "records": 200, "rate_per_sec": 100, "key": "k{i}", "value_bytes": 50}}],
        "events": [{"at_ms": 500, "action": "crash_broker", "broker": 3}]
    });
    let path = temp("follower-down.json", &scenario.to_string());
    let (code, out, err) = brokerscope(&["run", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let parts = v["partitions"].as_array().unwrap();
    assert_eq!(parts.iter().map(|p| p["tp"].as_str().unwrap()).collect::<Vec<_>>(), ["t-0", "t-1"]);
    let mut acked_total = 0;
    for (p, (leader, follower)) in parts.iter().zip([(1, 2), (2, 1)]) {
        // Kafka's assignment with 3 brokers: t-0 → [1, 2, 3], t-1 → [2, 3, 1].
        assert_eq!(p["leader"], leader, "{p}");
        assert_eq!(p["leader_epoch"], 0, "no election happened: {p}");
        let isr: Vec<u64> = p["isr"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap()).collect();
        assert!(!isr.contains(&3), "broker-3 left the ISR of {}: {p}", p["tp"]);
        let hw = p["hw"].as_i64().unwrap();
        assert_eq!(p["leo"][format!("broker-{leader}")], hw, "everything is committed at the end: {p}");
        assert_eq!(p["leo"][format!("broker-{follower}")], hw, "the live follower caught up: {p}");
        assert!(p["leo"]["broker-3"].as_i64().unwrap() < hw, "the crashed replica lags: {p}");
        assert_eq!(p["log_start_offset"], 0);
        acked_total += hw;
    }
    assert_eq!(acked_total, 200, "all 200 records are committed across the two partitions");
    let (_, text, _) = brokerscope(&["run", path.to_str().unwrap()]);
    assert!(text.contains("broker-3  DOWN"), "{text}");
    assert!(text.contains("t-0            leader broker-1 (epoch 0)  isr [1, 2]"), "{text}");
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_field() {
    let bad = temp(
        "bad.json",
        r#"{"duration_ms": 1000, "brokers": 3, "topics": [{"name": "a", "partitions": 1, "replication_factor": 4}]}"#,
    );
    let (code, out, err) = brokerscope(&["run", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("topics[0].replication_factor: 4 exceeds brokers (3)"), "{err}");
    let (code, _, err) = brokerscope(&["run", "/nonexistent/x.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.json"));
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["batch", "--help"],
        &["dump-log", "--help"],
        &["export", "--help"],
        &["partition", "--help"],
        &["assign", "--help"],
        &["coordinator", "--help"],
    ] {
        let (code, out, _) = brokerscope(args);
        assert_eq!(code, 0);
        assert!(out.contains("Usage"), "{out}");
    }
}

fn vector_case() -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(include_str!("vectors/kafka-vectors-public.json")).unwrap();
    v["record_batch_v2"]["cases"][0].clone()
}

#[test]
fn batch_encode_reads_the_vector_input_form() {
    let case = vector_case();
    let input = temp("batch.json", &case["input"].to_string());
    let (code, out, err) = brokerscope(&["batch", "encode", "--input", input.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), case["hex"].as_str().unwrap());
}

#[test]
fn batch_decode_prints_header_and_records() {
    let case = vector_case();
    let (code, out, err) = brokerscope(&["batch", "decode", case["hex"].as_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["header"], case["header"]);
    assert_eq!(v["records"], case["records"]);
    let mut bad = case["hex"].as_str().unwrap().to_string();
    bad.replace_range(40..42, "00");
    let (code, _, err) = brokerscope(&["batch", "decode", &bad]);
    assert_eq!(code, 2);
    assert!(err.contains("byte 17 (crc)"), "{err}");
}

#[test]
fn dump_log_wraps_sequences_past_the_largest_int_as_kafka_does() {
    // Two records from baseSequence 2^31 - 1: the second's sequence wraps to 0
    // (`DefaultRecordBatch.incrementSequence`); it overflowed before.
    let input = temp(
        "seq.json",
        &serde_json::json!({"producerId": 7, "producerEpoch": 0, "baseSequence": i32::MAX,
            "records": [{"timestamp": 1}, {"timestamp": 2}]})
        .to_string(),
    );
    let (code, hex, err) = brokerscope(&["batch", "encode", "--input", input.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Its own file name: the tests of this file run side by side in one directory.
    let log = temp("00000000000000000042.log", "");
    std::fs::write(&log, brokerscope::batch_json::parse_hex(hex.trim()).unwrap()).unwrap();
    let (code, dump, err) = brokerscope(&["dump-log", log.to_str().unwrap(), "--print-data"]);
    assert_eq!(code, 0, "{err}");
    let sequences: Vec<&str> =
        dump.lines().filter_map(|l| l.split(" sequence: ").nth(1)).map(|s| s.split(' ').next().unwrap()).collect();
    assert_eq!(sequences, ["2147483647", "0"], "{dump}");
    assert!(dump.contains("baseSequence: 2147483647 lastSequence: 0"), "{dump}");
}

#[test]
fn an_exported_segment_decodes_with_dump_log() {
    let dir = std::env::temp_dir().join(format!("brokerscope-export-{}", std::process::id()));
    let (code, out, err) = brokerscope(&["export", HELLO, "--dir", dir.to_str().unwrap(), "--broker", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("broker-1/orders-0/00000000000000000000.log"), "{out}");
    let log = dir.join("broker-1/orders-0/00000000000000000000.log");
    let (code, dump, err) = brokerscope(&["dump-log", log.to_str().unwrap(), "--print-data"]);
    assert_eq!(code, 0, "{err}");
    assert!(dump.starts_with(&format!("Dumping {}\nLog starting offset: 0\n", log.display())), "{dump}");
    let batches: Vec<&str> = dump.lines().filter(|l| l.starts_with("baseOffset:")).collect();
    assert!(!batches.is_empty());
    assert!(batches.iter().all(|l| l.ends_with("isvalid: true") && l.contains("magic: 2 compresscodec: none")));
    assert!(batches[0].starts_with("baseOffset: 0 "), "{}", batches[0]);
    let records = dump.lines().filter(|l| l.starts_with("| offset:")).count();
    let summary: serde_json::Value = serde_json::from_str(&brokerscope(&["run", HELLO, "--json"]).1).unwrap();
    let leo = summary["cluster"]["brokers"][0]["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tp"] == "orders-0")
        .unwrap()["log_end_offset"]
        .as_u64()
        .unwrap();
    assert_eq!(records as u64, leo, "every record of the partition is in the exported segment");
    assert!(dump.contains("key: order-"), "keys printed");

    // A torn tail: the valid batches are listed, then a one-line error naming the position.
    let bytes = std::fs::read(&log).unwrap();
    let torn = temp("00000000000000000000.log", "");
    std::fs::write(&torn, &bytes[..bytes.len() - 5]).unwrap();
    let (code, out, err) = brokerscope(&["dump-log", torn.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(out.lines().filter(|l| l.starts_with("baseOffset:")).count(), batches.len() - 1);
    assert!(err.contains("(batchLength)") && err.contains("torn write"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn partition_answers_where_a_key_goes() {
    // kafka-vectors murmur2: "foobar" → -790332482, partition 166 of 1000.
    let (code, out, err) = brokerscope(&["partition", "--partitions", "1000", "--key", "foobar", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["murmur2"].as_i64(), v["partition"].as_u64()), (Some(-790332482), Some(166)));
    let (_, out, _) = brokerscope(&["partition", "--partitions", "16", "--key-hex", "3231"]);
    assert_eq!(out.trim(), "partition 12 of 16 (murmur2 -973932308, toPositive 1173551340)");
    let (code, out, _) = brokerscope(&["partition", "--partitions", "3", "--no-key"]);
    assert_eq!(code, 0);
    assert!(out.contains("sticky"));
    let (code, _, err) = brokerscope(&["partition", "--partitions", "0", "--key", "a"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = brokerscope(&["partition", "--partitions", "3"]);
    assert_eq!(code, 2, "a key source is required");
}

#[test]
fn assign_reads_the_vector_shape_and_prints_each_members_partitions() {
    let v: serde_json::Value = serde_json::from_str(include_str!("vectors/kafka-vectors-public.json")).unwrap();
    for (kind, assignor) in [
        ("roundrobin_assignor", "roundrobin"),
        ("sticky_assignor", "sticky"),
        ("cooperative_sticky_assignor", "cooperative-sticky"),
    ] {
        for case in v[kind]["cases"].as_array().unwrap() {
            let input =
                serde_json::json!({"partitions_per_topic": case["partitions_per_topic"], "members": case["members"]});
            let path = temp("assign.json", &input.to_string());
            let (code, out, err) =
                brokerscope(&["assign", "--assignor", assignor, "--input", path.to_str().unwrap(), "--json"]);
            assert_eq!(code, 0, "{err}");
            let got: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(got, case["assignment"], "{assignor} {}", case["name"]);
        }
    }
    let path = temp(
        "assign-text.json",
        r#"{"partitions_per_topic": {"t": 5}, "members": [{"member_id": "b", "topics": ["t"]}, {"member_id": "a", "topics": ["t"]}, {"member_id": "c", "topics": ["x"]}]}"#,
    );
    let (code, out, _) = brokerscope(&["assign", "--assignor", "range", "--input", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(out, "a: t-0, t-1, t-2\nb: t-3, t-4\nc: (nothing)\n");
}

#[test]
fn assign_rejects_bad_input_and_unsupported_assignors_in_one_line() {
    let good = temp("assign-ok.json", r#"{"partitions_per_topic": {"t": 1}, "members": []}"#);
    for (assignor, input, want) in [
        (
            "sticky",
            temp(
                "owned.json",
                r#"{"partitions_per_topic": {"t": 1}, "members": [{"member_id": "a", "topics": ["t"], "owned_partitions": ["t0"]}]}"#,
            ),
            "members[0].owned_partitions[0]: expected \"topic-partition\"",
        ),
        (
            "cooperative-sticky",
            temp(
                "gen.json",
                r#"{"partitions_per_topic": {"t": 1}, "members": [{"member_id": "a", "topics": ["t"], "generation": -2}]}"#,
            ),
            "members[0].generation: expected an integer ≥ -1",
        ),
        ("rnage", good.clone(), "--assignor: unknown assignor \"rnage\""),
        (
            "range",
            temp(
                "dup.json",
                r#"{"partitions_per_topic": {}, "members": [{"member_id": "a", "topics": []}, {"member_id": "a", "topics": []}]}"#,
            ),
            "members[1].member_id: duplicate \"a\"",
        ),
        ("range", temp("neg.json", r#"{"partitions_per_topic": {"t": -1}, "members": []}"#), "partitions_per_topic.t:"),
        (
            "range",
            temp("typo.json", r#"{"partitions_per_topic": {}, "members": [{"member_id": "a", "topic": []}]}"#),
            "members[0].topic: unknown field",
        ),
    ] {
        let (code, _, err) = brokerscope(&["assign", "--assignor", assignor, "--input", input.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(want), "{err} should contain {want}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn coordinator_uses_java_string_hash_code_and_utils_abs() {
    let (code, out, _) = brokerscope(&["coordinator", "--group", "my-group"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("__consumer_offsets-12 (of 50)"), "{out}");
    let (_, out, _) = brokerscope(&["coordinator", "--group", "group", "--partitions", "3"]);
    assert!(out.starts_with("__consumer_offsets-2 (of 3)"), "{out}");
    let (code, _, _) = brokerscope(&["coordinator", "--group", "g", "--partitions", "0"]);
    assert_eq!(code, 2, "clap rejects 0 partitions");
}

#[test]
fn a_swarm_seed_that_only_failed_to_converge_is_reported_as_liveness_not_safety() {
    // group-rebalance crashes a consumer 2 s into the swarm's liveness phase; with seed 5's faults
    // its group has not settled when the run ends: no record lost, no safety rule broken.
    let args = ["seeds", "--scenario", "www/scenarios/group-rebalance.json", "--swarm", "--from", "5", "--count", "1"];
    let (code, out, err) = brokerscope(&args);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("first: Liveness at event "), "{out}");
    assert!(out.contains("lost 0 of "), "{out}");
    assert!(out.contains("no safety rule broke: the cluster did not converge within the liveness phase"), "{out}");
    assert!(out.contains("the scenario's own events in it (from 20000 ms): consumer_crash at 22000 ms"), "{out}");
    assert!(!out.contains("a safety violation"), "{out}");
    assert!(err.contains("1 of 1 seeds did not converge after the heal (liveness; no safety rule broke)"), "{err}");
}

#[test]
fn seeds_reports_lost_acknowledged_records_with_a_replay_command_and_exit_1() {
    let (code, out, err) =
        brokerscope(&["seeds", "--scenario", "www/scenarios/unclean-election.json", "--count", "3", "--jobs", "2"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("3 seeds from 1: 3 with violations (3 with acknowledged records lost)"), "{out}");
    assert!(out.contains("first: AckedLost at event "), "each failing seed's first violation: {out}");
    assert!(out.contains("replay: brokerscope run www/scenarios/unclean-election.json --seed 2 --trace out.jsonl"));
    assert!(out.contains("the configuration allows it:") && out.contains("unclean.leader.election.enable"), "{out}");
    assert!(err.contains("3/3 seeds") && err.contains("3 of 3 seeds broke a safety rule"), "{err}");
    let (code, out, err) = brokerscope(&["seeds", "--scenario", "www/scenarios/leader-failover.json", "--count", "4"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(
            "4 seeds from 1: 0 with violations (0 with acknowledged records lost), 6400 acknowledged in all"
        ),
        "{out}"
    );
    let (code, _, err) = brokerscope(&["seeds", "--scenario", "www/scenarios/hello.json", "--count", "0"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn seeds_swarm_adds_faults_heals_them_and_checks_convergence() {
    let (code, out, err) =
        brokerscope(&["seeds", "--scenario", "tests/scenarios/swarm-safe.json", "--swarm", "--count", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("3 seeds from 1: 0 with violations"), "{out}");
    let (code, _, err) =
        brokerscope(&["seeds", "--scenario", "tests/scenarios/swarm-safe.json", "--swarm", "--liveness-ms", "60000"]);
    assert_eq!(code, 2);
    assert!(err.contains("leaves no time for faults before the 60000 ms liveness phase"), "{err}");
}

#[test]
fn bench_prints_figures_of_each_workload_and_the_threaded_swarm() {
    // Debug builds are slow: tiny workloads; only that the figures are measured is checked.
    let (code, out, err) = brokerscope(&[
        "bench",
        "--workload",
        "a",
        "--workload",
        "d",
        "--records",
        "3000",
        "--seeds",
        "3",
        "--jobs",
        "2",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let w = v["workloads"].as_array().unwrap();
    let names: Vec<(&str, u64)> =
        w.iter().map(|f| (f["workload"].as_str().unwrap(), f["threads"].as_u64().unwrap())).collect();
    assert_eq!(names, [("a", 1), ("d", 1), ("d", 2)]);
    assert_eq!(w[0]["records"], 3000);
    assert!(w[0]["steps"].as_u64().unwrap() > 3000 / 100, "queue events of (a) counted");
    for swarm in &w[1..] {
        assert_eq!(swarm["records"], 3 * 1000, "3 seeds of 1,000 records");
        assert!(swarm["seeds_per_sec"].as_f64().unwrap() > 0.0);
        assert!(swarm["peak_heap_bytes"].as_u64().unwrap() > 0);
    }
    let (code, table, _) = brokerscope(&["bench", "--workload", "d", "--seeds", "2", "--jobs", "2"]);
    assert_eq!(code, 0);
    assert!(table.contains("(d) swarm, faults on, 2 threads"), "{table}");
}

#[test]
fn bench_repeat_reports_the_median_run_within_the_range_of_all() {
    let (code, out, err) =
        brokerscope(&["bench", "--workload", "a", "--records", "2000", "--repeat", "3", "--jobs", "1", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let a = &v["workloads"][0];
    assert_eq!(a["runs"], 3);
    let (seconds, fast, slow) = (
        a["seconds"].as_f64().unwrap(),
        a["seconds_range"][0].as_f64().unwrap(),
        a["seconds_range"][1].as_f64().unwrap(),
    );
    assert!(fast <= seconds && seconds <= slow, "{fast} <= {seconds} <= {slow}");
    let (code, table, _) = brokerscope(&["bench", "--workload", "a", "--records", "2000", "--repeat", "2"]);
    assert_eq!(code, 0);
    assert!(table.contains("median of 2: "), "{table}");
    let (code, _, err) = brokerscope(&["bench", "--workload", "a", "--repeat", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("'--repeat <REPEAT>'"), "{err}");
}

#[test]
fn bench_refuses_more_records_than_a_scenario_holds_naming_the_flag() {
    let (code, out, err) = brokerscope(&["bench", "--workload", "a", "--records", "100000001"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("'--records <RECORDS>'") && err.contains("100000001"), "{err}");
    assert!(out.is_empty(), "nothing ran: {out}");
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_not_a_crash() {
    // Our end of the pipe is closed before the run finishes, so its write meets a closed pipe,
    // as `brokerscope run … --json | head -1` does.
    let mut child = Command::new(env!("CARGO_BIN_EXE_brokerscope"))
        .args(["run", HELLO, "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run brokerscope");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for brokerscope");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
