//! The `brokerscope` command line: summaries, JSON keys, trace files and exit codes.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

fn brokerscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brokerscope"))
        .args(args)
        .output()
        .expect("run brokerscope");
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
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["seed"], 1);
    assert_eq!(v["sim_time_ms"], 10_000);
    assert_eq!(
        v["trace_hash"],
        include_str!("golden/hello_seed1.hash").trim()
    );
    assert!(v["messages"]["broker-1"]["received"].as_u64().unwrap() > 0);
    assert_eq!(v["cluster"]["producers"][0]["records_acked"], 150);
}

#[test]
fn seed_and_until_change_the_run() {
    let (_, a, _) = brokerscope(&["run", HELLO, "--json", "--seed", "5", "--until-ms", "800"]);
    let (_, b, _) = brokerscope(&["run", HELLO, "--json", "--seed", "6", "--until-ms", "800"]);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&a).unwrap(),
        serde_json::from_str(&b).unwrap(),
    );
    assert_eq!(
        (a["seed"].as_u64(), a["sim_time_ms"].as_u64()),
        (Some(5), Some(800))
    );
    assert_ne!(a["trace_hash"], b["trace_hash"]);
}

#[test]
fn trace_file_is_json_lines_matching_the_event_count() {
    let path = std::env::temp_dir().join(format!("brokerscope-trace-{}.jsonl", std::process::id()));
    let (code, out, _) = brokerscope(&[
        "run",
        HELLO,
        "--json",
        "--until-ms",
        "500",
        "--trace",
        path.to_str().unwrap(),
    ]);
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
}

#[test]
fn text_summary_is_readable() {
    let (code, out, _) = brokerscope(&["run", HELLO, "--until-ms", "2000"]);
    assert_eq!(code, 0);
    assert!(out.contains("trace hash"), "{out}");
    assert!(out.contains("producer-1 (producer-1)  sent"), "{out}");
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
    assert!(
        err.contains("topics[0].replication_factor: 4 exceeds brokers (3)"),
        "{err}"
    );
    let (code, _, err) = brokerscope(&["run", "/nonexistent/x.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.json"));
}

#[test]
fn every_subcommand_has_help() {
    for args in [&["--help"][..], &["run", "--help"][..]] {
        let (code, out, _) = brokerscope(args);
        assert_eq!(code, 0);
        assert!(out.contains("Usage"), "{out}");
    }
}
