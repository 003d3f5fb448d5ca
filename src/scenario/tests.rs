#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use serde_json::json;

fn base() -> Value {
    json!({
        "name": "t", "duration_ms": 1000, "brokers": 3,
        "topics": [{"name": "a", "partitions": 2, "replication_factor": 3},
                   {"name": "b", "partitions": 1, "replication_factor": 1}],
        "producers": [{"id": "p", "workload": {"topic": "a", "records": 10, "rate_per_sec": 100}}],
        "consumers": [{"id": "c", "group": "g", "topics": ["a"]}]
    })
}

fn err(v: Value) -> String {
    from_value(&v).expect_err("should be rejected").to_string()
}

#[test]
fn hello_parses_with_kafka_defaults_where_unset() {
    let s = parse_json(HELLO_JSON).unwrap();
    assert_eq!((s.brokers, s.topics.len(), s.producers.len(), s.consumers.len()), (3, 1, 1, 1));
    assert_eq!(s.topics[0].replication_factor, 3);
    let p = crate::sim::config::ProducerConfig::from_props(&s.producers[0].config);
    assert_eq!(p.in_flight_requests_max, 5, "unset → Kafka default");
}

#[test]
fn replication_factor_above_brokers_names_the_field() {
    let mut v = base();
    v["topics"][1]["replication_factor"] = json!(4);
    assert_eq!(err(v), "topics[1].replication_factor: 4 exceeds brokers (3)");
}

#[test]
fn unknown_keys_get_a_suggestion() {
    let mut v = base();
    v["brokerz"] = json!(3);
    assert_eq!(err(v), "brokerz: unknown field (did you mean \"brokers\"?)");
    let mut v = base();
    v["producers"][0]["workload"]["rate"] = json!(5);
    assert!(err(v).starts_with("producers[0].workload.rate: unknown field"));
}

#[test]
fn unsupported_kafka_properties_are_named() {
    let mut v = base();
    v["producers"][0]["config"] = json!({"compression.type": "lz4"});
    assert_eq!(err(v), "producers[0].config: unsupported: compression.type");
    let mut v = base();
    v["topics"][0]["config"] = json!({"preallocate": "true"});
    assert_eq!(err(v), "topics[0].config: unsupported: preallocate");
    let mut v = base();
    v["broker_config"] = json!({"num.network.threads": 3});
    assert_eq!(err(v), "broker_config: unsupported: num.network.threads", "folded into the request path");
}

#[test]
fn misspelled_properties_get_a_suggestion() {
    let mut v = base();
    v["producers"][0]["config"] = json!({"linger.mss": 5});
    assert_eq!(err(v), "producers[0].config: unknown producer property \"linger.mss\" (did you mean \"linger.ms\"?)");
}

#[test]
fn bad_values_name_the_field_and_range() {
    let mut v = base();
    v["brokers"] = json!(0);
    assert_eq!(err(v), "brokers: 0 is outside [1, 64]");
    let mut v = base();
    v["duration_ms"] = json!("soon");
    assert!(err(v).starts_with("duration_ms: expected an integer"));
    let mut v = base();
    v["producers"][0]["config"] = json!({"acks": 2});
    assert_eq!(err(v), "producers[0].config: acks: invalid value \"2\": expected one of 0, 1, -1, all");
}

#[test]
fn references_to_missing_things_are_rejected() {
    let mut v = base();
    v["producers"][0]["workload"]["topic"] = json!("aa");
    assert_eq!(err(v), "producers[0].workload.topic: no topic \"aa\" (did you mean \"a\"?)");
    let mut v = base();
    v["events"] = json!([{"at_ms": 10, "action": "crash_broker", "broker": 4}]);
    assert_eq!(err(v), "events[0].broker: 4 is outside [1, 3]");
    let mut v = base();
    v["events"] = json!([{"at_ms": 10, "action": "cut_link", "from": "broker-1", "to": "broker-9"}]);
    assert_eq!(err(v), "events[0].to: no node \"broker-9\" in this scenario");
    let mut v = base();
    v["events"] = json!([{"at_ms": 10, "action": "crash_brokr", "broker": 1}]);
    assert_eq!(err(v), "events[0].action: unknown action \"crash_brokr\" (did you mean \"crash_broker\"?)");
}

#[test]
fn a_link_joins_two_nodes_that_exchange_messages() {
    let link = |from: &str, to: &str| json!({"from": from, "to": to, "latency_ms": 50});
    for (from, to, want) in [
        ("broker-2", "broker-2", "no link from broker-2 to broker-2: a link joins a broker and another node"),
        ("p", "c", "no link from producer-1 to consumer-1: a link joins a broker and another node"),
        ("controller-1", "c", "no link from controller-1 to consumer-1: a link joins a broker and another node"),
    ] {
        let mut v = base();
        v["network"] = json!({"links": [link("broker-1", "broker-2"), link(from, to)]});
        assert_eq!(err(v), format!("network.links[1].to: {want}"));
        for action in ["cut_link", "heal_link", "set_link"] {
            let mut v = base();
            v["events"] = json!([{"at_ms": 10, "action": action, "from": from, "to": to}]);
            assert_eq!(err(v), format!("events[0].to: {want}"), "{action}");
        }
    }
    let mut v = base();
    v["network"] = json!({"links": [link("controller-1", "broker-3"), link("c", "broker-1")]});
    assert_eq!(from_value(&v).unwrap().network.links.len(), 2, "every link with a broker at one end");
}

#[test]
fn crash_kinds_parse_and_an_unknown_kind_is_named() {
    let mut v = base();
    v["events"] = json!([{"at_ms": 10, "action": "crash_broker", "broker": 2, "kind": "machine"}]);
    let s = from_value(&v).expect("a leader's machine crash is modelled");
    assert_eq!(s.events[0].action, Action::CrashBroker { broker: 2, kind: CrashKind::Machine });
    let mut v = base();
    v["events"] = json!([{"at_ms": 10, "action": "crash_broker", "broker": 3, "kind": "machine"}]);
    let s = from_value(&v).expect("broker-3 only follows");
    assert_eq!(s.events[0].action, Action::CrashBroker { broker: 3, kind: CrashKind::Machine });
    let mut v = base();
    v["events"] = json!([{"at_ms": 10, "action": "crash_broker", "broker": 3, "kind": "power"}]);
    assert_eq!(err(v), "events[0].kind: unknown crash kind \"power\" (process or machine)");
}

#[test]
fn events_resolve_client_ids_and_check_times() {
    let mut v = base();
    v["events"] = json!([
        {"at_ms": 10, "action": "cut_link", "from": "p", "to": "broker-1", "both": true},
        {"at_ms": 20, "action": "set_link", "from": "broker-2", "to": "broker-3", "latency_ms": 50, "loss": "1/10"},
        {"at_ms": 30, "action": "config_change", "target": "p", "property": "linger.ms", "value": 50},
        {"at_ms": 40, "action": "consumer_leave", "consumer": "c"}
    ]);
    let s = from_value(&v).unwrap();
    assert_eq!(s.events[0].action, Action::CutLink { from: NodeId::producer(1), to: NodeId::broker(1), both: true });
    assert!(matches!(&s.events[1].action, Action::SetLink { link, .. } if link.loss == Ratio::new(1, 10).unwrap()));
    let mut v = base();
    v["events"] = json!([{"at_ms": 5000, "action": "heal_all"}]);
    assert_eq!(err(v), "events[0].at_ms: 5000 is after duration_ms (1000)");
    let mut v = base();
    v["events"] =
        json!([{"at_ms": 5, "action": "config_change", "target": "p", "property": "compression.type", "value": "lz4"}]);
    assert_eq!(err(v), "events[0].property: unsupported: compression.type");
}

#[test]
fn settings_kafka_checks_together_are_checked_together() {
    // The consumer's Heartbeat check and KafkaConfig's replica fetch checks.
    let mut v = base();
    v["consumers"][0]["config"] = json!({"session.timeout.ms": 10000, "heartbeat.interval.ms": 10000});
    assert_eq!(
        err(v),
        "consumers[0].config: heartbeat.interval.ms: invalid value \"10000\": expected below session.timeout.ms (10000)"
    );
    let mut v = base();
    v["broker_config"] = json!({"replica.fetch.wait.max.ms": 5000, "replica.socket.timeout.ms": 2000});
    assert_eq!(
        err(v),
        "broker_config: replica.fetch.wait.max.ms: invalid value \"5000\": expected at most replica.socket.timeout.ms (2000)"
    );
    let mut v = base();
    v["broker_config"] = json!({"replica.fetch.wait.max.ms": 20000, "replica.lag.time.max.ms": 10000});
    assert!(err(v).ends_with("expected at most replica.lag.time.max.ms (10000)"));
    // Scheduled changes are applied in time order: the second one (first in the file) breaks it.
    let mut v = base();
    v["events"] = json!([
        {"at_ms": 20, "action": "config_change", "target": "c", "property": "heartbeat.interval.ms", "value": 50000},
        {"at_ms": 10, "action": "config_change", "target": "c", "property": "session.timeout.ms", "value": 60000},
        {"at_ms": 30, "action": "config_change", "target": "c", "property": "session.timeout.ms", "value": 45000}
    ]);
    assert_eq!(
        err(v),
        "events[2].value: heartbeat.interval.ms: invalid value \"50000\": expected below session.timeout.ms (45000)"
    );
    let mut v = base();
    v["producers"][0]["config"] = json!({"enable.idempotence": true});
    v["events"] = json!([{"at_ms": 10, "action": "config_change", "target": "p", "property": "acks", "value": "1"}]);
    assert!(err(v).starts_with("events[0].value: enable.idempotence: invalid value"), "idempotence needs acks=all");
}

#[test]
fn a_consumers_group_cannot_change_at_run_time() {
    let mut v = base();
    v["events"] =
        json!([{"at_ms": 10, "action": "config_change", "target": "c", "property": "group.id", "value": "h"}]);
    assert_eq!(err(v), format!("events[0].property: {}", crate::sim::GROUP_ID_AT_RUN_TIME));
    let mut v = base();
    v["consumers"] = json!([{"id": "c", "partitions": ["a-0"], "config": {"enable.auto.commit": false}}]);
    v["events"] = json!([{"at_ms": 10, "action": "config_change", "target": "c", "property": "enable.auto.commit", "value": true}]);
    assert_eq!(err(v), format!("events[0].property: {}", crate::sim::AUTO_COMMIT_WITHOUT_GROUP));
}

#[test]
fn consumers_need_exactly_one_source() {
    let mut v = base();
    v["consumers"][0] = json!({"id": "c", "partitions": ["a-1", "b-0"]});
    let s = from_value(&v).unwrap();
    assert!(matches!(&s.consumers[0].source, ConsumerSource::Assigned(tps) if tps.len() == 2));
    v["consumers"][0] = json!({"id": "c", "partitions": ["a-2"]});
    assert_eq!(err(v.clone()), "consumers[0].partitions[0]: a has 2 partitions");
    v["consumers"][0] = json!({"id": "c"});
    assert!(err(v).starts_with("consumers[0].group: required"));
}

#[test]
fn malformed_json_is_one_line_with_a_position() {
    let e = parse_json("{\n \"brokers\": 3,\n}").unwrap_err().to_string();
    assert!(e.starts_with("line 3: invalid JSON"), "{e}");
    assert!(!e.contains('\n'));
    assert_eq!(parse_json("[1]").unwrap_err().to_string(), "(root): expected an object, got an array");
}

#[test]
fn a_minified_scenario_keeps_its_strings_keys_and_numbers_as_written() {
    let text = "{ \"name\" : \"a → \\\" b\\\\\",\n\t\"z\": [1, 2.50, -3e2],\r\n \"a\": { } }\n";
    assert_eq!(minify_json(text), r#"{"name":"a → \" b\\","z":[1,2.50,-3e2],"a":{}}"#);
    let hello = minify_json(HELLO_JSON);
    assert!(hello.len() < HELLO_JSON.len() && minify_json(&hello) == hello);
    let parsed = |t: &str| serde_json::from_str::<Value>(t).unwrap();
    assert_eq!(parsed(&hello), parsed(HELLO_JSON), "the same document");
    assert_eq!(parse_json(&hello).unwrap(), parse_json(HELLO_JSON).unwrap());
}

#[test]
fn narration_steps_parse_in_time_order_and_bad_ones_are_named() {
    let mut v = base();
    v["narration"] = json!([{"at_ms": 0, "text": " Start. "}, {"at_ms": 400, "text": "Look at the HW."}]);
    let s = from_value(&v).unwrap();
    assert_eq!(s.narration.len(), 2);
    assert_eq!((s.narration[0].text.as_str(), s.narration[1].at), ("Start.", SimTime::from_ms(400)));
    let cases = [
        (json!([{"at_ms": 2000, "text": "x"}]), "narration[0].at_ms: 2000 is after duration_ms (1000)"),
        (
            json!([{"at_ms": 500, "text": "x"}, {"at_ms": 400, "text": "y"}]),
            "narration[1].at_ms: 400 is before the previous step's 500 ms: steps go in time order",
        ),
        (json!([{"at_ms": 5, "text": "  "}]), "narration[0].text: needs 1 to 600 characters"),
        (json!([{"at_ms": 5}]), "narration[0].text: required"),
        (
            json!([{"at_ms": 5, "text": "x", "when": 1}]),
            "narration[0].when: unknown field (expected one of: at_ms, text)",
        ),
    ];
    for (narration, want) in cases {
        let mut v = base();
        v["narration"] = narration;
        let e = err(v);
        assert!(e.starts_with(want), "{e}");
    }
}

#[cfg(feature = "embedded-library")]
#[test]
fn the_library_lists_every_built_in_once_in_order() {
    let listed: Vec<&str> = LIBRARY.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
    let built_in: Vec<&str> = BUILT_IN.iter().map(|(id, _)| *id).collect();
    assert_eq!(listed, built_in);
    assert!(BUILT_IN.len() >= 14, "the product asks for at least 14 guided scenarios");
    for (id, json) in BUILT_IN {
        let s = parse_json(json).unwrap();
        assert!(s.narration.len() >= 3, "{id}: a guided tour of at least three steps");
    }
}

#[cfg(feature = "embedded-library")]
#[test]
fn the_catalog_names_each_built_in_as_its_file_does() {
    let catalog: Vec<&str> = CATALOG.iter().map(|(id, _)| *id).collect();
    let built_in: Vec<&str> = BUILT_IN.iter().map(|(id, _)| *id).collect();
    assert_eq!(catalog, built_in, "CATALOG and BUILT_IN list the same ids in the same order");
    assert_eq!(CATALOG[0].0, "hello");
    assert_eq!(BUILT_IN[0].1, HELLO_JSON);
    for ((id, name), (_, json)) in CATALOG.iter().zip(BUILT_IN) {
        assert_eq!(parse_json(json).unwrap().name, *name, "{id}: the catalog's name is the file's");
    }
}

/// The web app fetches `scenarios/<id>.json` for every catalog id: no file may be missing, and
/// none may sit in `www/scenarios/` unlisted.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_file_in_www_scenarios_is_in_the_catalog() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/www/scenarios");
    let mut files: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut wanted: Vec<String> = CATALOG.iter().map(|(id, _)| format!("{id}.json")).collect();
    wanted.sort();
    assert_eq!(files, wanted);
}
