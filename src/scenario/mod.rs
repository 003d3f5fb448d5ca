//! Scenario files: JSON with Kafka's own property names, validated into a [`Scenario`].
//!
//! Every error is one line that starts with the exact field path, e.g.
//! `topics[1].replication_factor: 4 exceeds brokers (3)`. Unknown keys are rejected with a
//! "did you mean" suggestion; a real Kafka property the model does not implement yet is rejected
//! as `unsupported: <name>`. The format is documented in the README ("Scenario files").

mod walk;

use crate::sim::config::{Props, Scope};
use crate::sim::net::{link_exists, no_link_reason, LinkConfig, LINK_DELAY_MS_MAX};
use crate::sim::node::NodeId;
use crate::sim::protocol::Tp;
use crate::sim::rng::Ratio;
pub use crate::sim::scenario::Scenario;
use crate::sim::scenario::*;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::vec_map::{VecMap, VecSet};
use crate::suggest::closest;
use serde_json::Value;
use walk::Obj;

/// A scenario file error: the field path and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ScenarioError {
    /// Dotted path of the offending field, e.g. `topics[1].replication_factor`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ScenarioError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> ScenarioError {
        ScenarioError { path: path.into(), message: message.into() }
    }
}

/// Result of parsing.
pub type Result<T> = std::result::Result<T, ScenarioError>;

/// Longest run a scenario may ask for: one simulated day.
pub const DURATION_MS_MAX: u64 = 86_400_000;
/// Most brokers in a cluster.
pub const BROKERS_MAX: u64 = 64;
/// Most partitions per topic.
pub const PARTITIONS_MAX: u64 = 1000;
/// Most records one producer may send.
pub const RECORDS_MAX: u64 = 100_000_000;

/// The scenario every new user sees first.
pub const HELLO_JSON: &str = include_str!("../../www/scenarios/hello.json");

/// The built-in scenarios as (id, name), in the library's order (a course: the producer, then
/// replication and failures, storage, consumer groups); the first is [`HELLO_JSON`]. Each one's
/// JSON is `www/scenarios/<id>.json`: compiled in as `BUILT_IN` with the `embedded-library`
/// feature (the default; the tests read it), and fetched by the web app's build when it is
/// opened, so the app's download carries only hello. A test checks the names against the files.
pub const CATALOG: &[(&str, &str)] = &[
    ("hello", "Hello Kafka"),
    ("keys-and-partitions", "Keys and partitions: murmur2 for keys, sticky without"),
    ("batching", "Batching: linger.ms waits, a full batch.size leaves at once"),
    ("adaptive-partitioning", "Sticky and adaptive partitioning with a slow broker"),
    ("bufferpool-exhaustion", "BufferPool exhaustion: send() blocks for max.block.ms, then fails"),
    ("in-flight-ordering", "In-flight and ordering: retries without idempotence duplicate and reorder"),
    ("idempotent-dedup", "Idempotent producer: a retried batch is written once"),
    ("acks-levels", "acks=0, acks=1, acks=all: what an isolated leader takes with it"),
    ("slow-follower", "Slow follower: ISR shrink and expand"),
    ("min-insync-replicas", "min.insync.replicas: acks=all refuses writes rather than keep one copy"),
    ("follower-machine-crash", "Machine crash of a follower"),
    ("leader-failover", "Leader failover: acks=all loses nothing"),
    ("follower-truncation", "Follower truncation by leader epoch"),
    ("unclean-election", "Unclean leader election loses acknowledged records"),
    ("last-replica-standing", "Last replica standing: acks=all still loses records"),
    ("segments-retention-compaction", "Segments, retention and compaction"),
    ("group-rebalance", "Consumer group rebalance"),
    ("cooperative-rebalance", "Cooperative rebalance"),
    ("auto-commit-redelivery", "Auto-commit: a crashed consumer's records are read again"),
];

/// The built-in scenarios as (id, JSON), in [`CATALOG`] order.
#[cfg(feature = "embedded-library")]
pub const BUILT_IN: &[(&str, &str)] = &[
    ("hello", HELLO_JSON),
    ("keys-and-partitions", include_str!("../../www/scenarios/keys-and-partitions.json")),
    ("batching", include_str!("../../www/scenarios/batching.json")),
    ("adaptive-partitioning", include_str!("../../www/scenarios/adaptive-partitioning.json")),
    ("bufferpool-exhaustion", include_str!("../../www/scenarios/bufferpool-exhaustion.json")),
    ("in-flight-ordering", include_str!("../../www/scenarios/in-flight-ordering.json")),
    ("idempotent-dedup", include_str!("../../www/scenarios/idempotent-dedup.json")),
    ("acks-levels", include_str!("../../www/scenarios/acks-levels.json")),
    ("slow-follower", include_str!("../../www/scenarios/slow-follower.json")),
    ("min-insync-replicas", include_str!("../../www/scenarios/min-insync-replicas.json")),
    ("follower-machine-crash", include_str!("../../www/scenarios/follower-machine-crash.json")),
    ("leader-failover", include_str!("../../www/scenarios/leader-failover.json")),
    ("follower-truncation", include_str!("../../www/scenarios/follower-truncation.json")),
    ("unclean-election", include_str!("../../www/scenarios/unclean-election.json")),
    ("last-replica-standing", include_str!("../../www/scenarios/last-replica-standing.json")),
    ("segments-retention-compaction", include_str!("../../www/scenarios/segments-retention-compaction.json")),
    ("group-rebalance", include_str!("../../www/scenarios/group-rebalance.json")),
    ("cooperative-rebalance", include_str!("../../www/scenarios/cooperative-rebalance.json")),
    ("auto-commit-redelivery", include_str!("../../www/scenarios/auto-commit-redelivery.json")),
];

/// The library's chapters: (title, built-in ids in [`CATALOG`] order).
pub const LIBRARY: &[(&str, &[&str])] = &[
    (
        "Producer",
        &[
            "hello",
            "keys-and-partitions",
            "batching",
            "adaptive-partitioning",
            "bufferpool-exhaustion",
            "in-flight-ordering",
            "idempotent-dedup",
        ],
    ),
    (
        "Replication and failures",
        &[
            "acks-levels",
            "slow-follower",
            "min-insync-replicas",
            "follower-machine-crash",
            "leader-failover",
            "follower-truncation",
            "unclean-election",
            "last-replica-standing",
        ],
    ),
    ("Storage", &["segments-retention-compaction"]),
    ("Consumer groups", &["group-rebalance", "cooperative-rebalance", "auto-commit-redelivery"]),
];

/// Parses and validates scenario JSON.
pub fn parse_json(text: &str) -> Result<Scenario> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ScenarioError::new(format!("line {}", e.line()), format!("invalid JSON: {e}")))?;
    from_value(&value)
}

/// `text` (valid JSON) without the whitespace between its tokens: the same document, keys in
/// their order and numbers as written, for a link that carries a scenario file whole.
pub fn minify_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    out
}

/// Validates an already-parsed JSON value.
pub fn from_value(value: &Value) -> Result<Scenario> {
    let mut root = Obj::root(value)?;
    let name = root.opt_str("name")?.unwrap_or("untitled").to_string();
    let description = root.opt_str("description")?.unwrap_or_default().to_string();
    let seed = root.opt_u64("seed", 0, u64::MAX)?.unwrap_or(1);
    let duration_ms = root.req_u64("duration_ms", 1, DURATION_MS_MAX)?;
    let brokers = root.req_u64("brokers", 1, BROKERS_MAX)? as u16;
    let broker_config = root.opt_props("broker_config", Scope::Broker)?;
    crate::sim::config::BrokerConfig::validate(&broker_config)
        .map_err(|e| ScenarioError::new("broker_config", e.to_string()))?;
    let service_time = parse_service_time(&mut root)?;
    let network = parse_network(&mut root)?;
    let topics = parse_topics(&mut root, brokers)?;
    let producers = parse_producers(&mut root, &topics)?;
    let consumers = parse_consumers(&mut root, &topics)?;
    check_offsets_topic(&broker_config, brokers, &consumers)?;
    let mut scenario = Scenario {
        name,
        description,
        seed,
        duration_ms,
        brokers,
        broker_config,
        service_time,
        network,
        topics,
        producers,
        consumers,
        events: vec![],
        narration: vec![],
    };
    scenario.network.links = parse_links(&mut root, &scenario)?;
    scenario.events = parse_events(&mut root, &scenario)?;
    scenario.narration = parse_narration(&mut root, &scenario)?;
    root.finish()?;
    Ok(scenario)
}

fn parse_service_time(root: &mut Obj) -> Result<ServiceTime> {
    let Some(mut obj) = root.opt_obj("broker_service_time")? else {
        return Ok(ServiceTime::default());
    };
    let base = ServiceTime::default();
    let per_request = obj.opt_u64("per_request_us", 0, 60_000_000)?.map_or(base.per_request, SimDuration::from_us);
    let per_kib = obj.opt_u64("per_kib_us", 0, 60_000_000)?.map_or(base.per_kib, SimDuration::from_us);
    obj.finish()?;
    Ok(ServiceTime { per_request, per_kib })
}

fn parse_link_config(obj: &mut Obj, base: LinkConfig) -> Result<LinkConfig> {
    let latency = obj.opt_u64("latency_ms", 0, LINK_DELAY_MS_MAX)?.map_or(base.latency, SimDuration::from_ms);
    let jitter = obj.opt_u64("jitter_ms", 0, LINK_DELAY_MS_MAX)?.map_or(base.jitter, SimDuration::from_ms);
    let loss = match obj.opt("loss") {
        None => base.loss,
        Some(v) => parse_ratio(v, &obj.path_of("loss"))?,
    };
    Ok(LinkConfig { latency, jitter, loss })
}

fn parse_ratio(v: &Value, path: &str) -> Result<Ratio> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        _ => return Err(ScenarioError::new(path, "expected a ratio like \"1/10\" or \"5%\"")),
    };
    Ratio::parse(&text)
        .ok_or_else(|| ScenarioError::new(path, format!("{text:?} is not a probability (use \"1/10\" or \"5%\")")))
}

fn parse_network(root: &mut Obj) -> Result<NetworkSpec> {
    let Some(mut net) = root.opt_obj("network")? else {
        return Ok(NetworkSpec::default());
    };
    let default_link = parse_link_config(&mut net, LinkConfig::default())?;
    net.skip("links");
    net.finish()?;
    Ok(NetworkSpec { default_link, links: vec![] })
}

fn parse_links(root: &mut Obj, s: &Scenario) -> Result<Vec<(NodeId, NodeId, LinkConfig)>> {
    let Some(mut net) = root.reopen_obj("network")? else {
        return Ok(vec![]);
    };
    let mut out = vec![];
    for mut link in net.opt_array_of_obj("links")? {
        let (from, to) = resolve_link(&mut link, s)?;
        let both = link.opt_bool("both")?.unwrap_or(false);
        let config = parse_link_config(&mut link, s.network.default_link)?;
        link.finish()?;
        out.push((from, to, config));
        if both {
            out.push((to, from, config));
        }
    }
    Ok(out)
}

fn parse_topics(root: &mut Obj, brokers: u16) -> Result<Vec<TopicSpec>> {
    let mut topics: Vec<TopicSpec> = vec![];
    for mut t in root.opt_array_of_obj("topics")? {
        let name = t.req_str("name")?.to_string();
        check_topic_name(&name, &t.path_of("name"))?;
        if name == crate::sim::broker::OFFSETS_TOPIC {
            return Err(ScenarioError::new(
                t.path_of("name"),
                "__consumer_offsets is internal: the cluster creates it",
            ));
        }
        if topics.iter().any(|x| x.name == name) {
            return Err(ScenarioError::new(t.path_of("name"), format!("duplicate topic {name:?}")));
        }
        let partitions = t.req_u64("partitions", 1, PARTITIONS_MAX)? as u32;
        let replication_factor = t.req_u64("replication_factor", 1, BROKERS_MAX)?;
        if replication_factor > u64::from(brokers) {
            return Err(ScenarioError::new(
                t.path_of("replication_factor"),
                format!("{replication_factor} exceeds brokers ({brokers})"),
            ));
        }
        let config = t.opt_props("config", Scope::Topic)?;
        t.finish()?;
        topics.push(TopicSpec { name, partitions, replication_factor: replication_factor as u16, config });
    }
    Ok(topics)
}

fn check_topic_name(name: &str, path: &str) -> Result<()> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > 249 || !name.chars().all(legal) || name == "." || name == ".." {
        return Err(ScenarioError::new(
            path,
            format!("{name:?} is not a legal Kafka topic name (1-249 of [a-zA-Z0-9._-])"),
        ));
    }
    Ok(())
}

fn topic_ref(obj: &mut Obj, key: &str, topics: &[TopicSpec]) -> Result<String> {
    let name = obj.req_str(key)?.to_string();
    known_topic(&name, &obj.path_of(key), topics)
}

fn known_topic(name: &str, path: &str, topics: &[TopicSpec]) -> Result<String> {
    if topics.iter().any(|t| t.name == name) {
        return Ok(name.to_string());
    }
    let hint = closest(name, topics.iter().map(|t| t.name.as_str()))
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default();
    Err(ScenarioError::new(path, format!("no topic {name:?}{hint}")))
}

fn client_id(obj: &mut Obj, seen: &mut VecSet<String>, fallback: String) -> Result<String> {
    let id = obj.opt_str("id")?.map(str::to_string).unwrap_or(fallback);
    if id.is_empty() || !seen.insert(id.clone()) {
        return Err(ScenarioError::new(obj.path_of("id"), format!("duplicate or empty id {id:?}")));
    }
    Ok(id)
}

fn parse_producers(root: &mut Obj, topics: &[TopicSpec]) -> Result<Vec<ProducerSpec>> {
    let mut seen = VecSet::new();
    let mut out = vec![];
    for (i, mut p) in root.opt_array_of_obj("producers")?.into_iter().enumerate() {
        let label = client_id(&mut p, &mut seen, format!("producer-{}", i + 1))?;
        let config = p.opt_props("config", Scope::Producer)?;
        crate::sim::config::ProducerConfig::validate(&config)
            .map_err(|e| ScenarioError::new(p.path_of("config"), e.to_string()))?;
        let mut w = p.req_obj("workload")?;
        let workload = Workload {
            topic: topic_ref(&mut w, "topic", topics)?,
            records: w.req_u64("records", 0, RECORDS_MAX)?,
            rate_per_sec: w.req_u64("rate_per_sec", 1, 10_000_000)?,
            key: match w.opt("key") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => {
                    Some(KeyPattern::parse(t).map_err(|e| ScenarioError::new(w.path_of("key"), e))?)
                }
                Some(_) => {
                    return Err(ScenarioError::new(
                        w.path_of("key"),
                        "expected null or a key pattern like \"user-{i%10}\"",
                    ))
                }
            },
            value_bytes: w.opt_u64("value_bytes", 0, 1_000_000)?.unwrap_or(100) as u32,
            start_ms: w.opt_u64("start_ms", 0, DURATION_MS_MAX)?.unwrap_or(0),
            partition: w.opt_u64("partition", 0, PARTITIONS_MAX)?.map(|p| p as u32),
            sync: match w.opt_str("send")? {
                None | Some("callback") => false,
                Some("sync") => true,
                Some(other) => {
                    return Err(ScenarioError::new(
                        w.path_of("send"),
                        format!("{other:?}: expected \"callback\" or \"sync\""),
                    ))
                }
            },
        };
        let producer_config = crate::sim::config::ProducerConfig::from_props(&config);
        if let Some(k) = &workload.key {
            for i in [0, 1, workload.records.saturating_sub(1)] {
                producer_config
                    .key_serializer
                    .serialize(k.key(i))
                    .map_err(|e| ScenarioError::new(w.path_of("key"), format!("key.serializer: {e}")))?;
            }
        }
        if let (Some(p), Some(t)) = (workload.partition, topics.iter().find(|t| t.name == workload.topic)) {
            if p >= t.partitions {
                return Err(ScenarioError::new(
                    w.path_of("partition"),
                    format!("{} has {} partitions", t.name, t.partitions),
                ));
            }
        }
        w.finish()?;
        p.finish()?;
        out.push(ProducerSpec { label, config, workload });
    }
    Ok(out)
}

/// Kafka cannot create `__consumer_offsets` with more replicas than brokers: groups would never
/// find a coordinator. Said up front instead.
fn check_offsets_topic(broker_config: &Props, brokers: u16, consumers: &[ConsumerSpec]) -> Result<()> {
    if !consumers.iter().any(|c| matches!(c.source, ConsumerSource::Group(_))) {
        return Ok(());
    }
    let rf: u64 = broker_config.get("offsets.topic.replication.factor").and_then(|v| v.parse().ok()).unwrap_or(3);
    if rf > u64::from(brokers) {
        return Err(ScenarioError::new(
            "broker_config.offsets.topic.replication.factor",
            format!("{rf} exceeds brokers ({brokers}): __consumer_offsets cannot be created, so groups cannot form"),
        ));
    }
    Ok(())
}

fn parse_consumers(root: &mut Obj, topics: &[TopicSpec]) -> Result<Vec<ConsumerSpec>> {
    let mut seen = VecSet::new();
    let mut out = vec![];
    for (i, mut c) in root.opt_array_of_obj("consumers")?.into_iter().enumerate() {
        let label = client_id(&mut c, &mut seen, format!("consumer-{}", i + 1))?;
        let config = c.opt_props("config", Scope::Consumer)?;
        crate::sim::config::ConsumerConfig::validate(&config)
            .map_err(|e| ScenarioError::new(c.path_of("config"), e.to_string()))?;
        let group = match (c.opt_str("group")?, config.get("group.id")) {
            (Some(g), Some(id)) if g != id => {
                return Err(ScenarioError::new(
                    c.path_of("config.group.id"),
                    format!("{id:?} differs from group {g:?} (give one)"),
                ))
            }
            (Some(g), _) | (None, Some(g)) => Some(g.to_string()),
            (None, None) => None,
        };
        let assigned = parse_assigned(&mut c, topics)?;
        let source = match (group, assigned) {
            (Some(_), Some(_)) => {
                return Err(ScenarioError::new(
                    c.path_of("partitions"),
                    "give either group (subscribe) or partitions (assign), not both",
                ))
            }
            (None, None) => {
                return Err(ScenarioError::new(
                    c.path_of("group"),
                    "required: a group to subscribe with, or partitions to assign",
                ))
            }
            (Some(g), None) => {
                if g.is_empty() || g.len() > 32767 {
                    return Err(ScenarioError::new(c.path_of("group"), "a group id has 1 to 32767 bytes"));
                }
                ConsumerSource::Group(g)
            }
            (None, Some(tps)) => ConsumerSource::Assigned(tps),
        };
        let mut subscribed = vec![];
        for (j, v) in c.opt_array("topics")?.iter().enumerate() {
            let path = format!("{}[{j}]", c.path_of("topics"));
            let name = v.as_str().ok_or_else(|| ScenarioError::new(&path, "expected a topic name"))?;
            subscribed.push(known_topic(name, &path, topics)?);
        }
        if matches!(source, ConsumerSource::Group(_)) && subscribed.is_empty() {
            return Err(ScenarioError::new(
                c.path_of("topics"),
                "a group member needs at least one topic to subscribe to",
            ));
        }
        let app = parse_app(&mut c, &source, &config)?;
        let start_ms = c.opt_u64("start_ms", 0, DURATION_MS_MAX)?.unwrap_or(0);
        let stop_ms = c.opt_u64("stop_ms", 0, DURATION_MS_MAX)?;
        if stop_ms.is_some_and(|s| s <= start_ms) {
            return Err(ScenarioError::new(c.path_of("stop_ms"), format!("must be after start_ms ({start_ms})")));
        }
        let seek = parse_seek(&mut c, &source)?;
        c.finish()?;
        out.push(ConsumerSpec { label, source, topics: subscribed, config, start_ms, stop_ms, seek, app });
    }
    Ok(out)
}

/// `processing_ms_per_record` (the application's work per record) and `commit`
/// (`none`, `sync` = `commitSync()` after each poll's records, `async` = `commitAsync()`).
fn parse_app(c: &mut Obj, source: &ConsumerSource, config: &Props) -> Result<crate::sim::consumer::AppBehaviour> {
    use crate::sim::consumer::{AppBehaviour, CommitMode};
    let path = c.path_of("processing_ms_per_record");
    let processing_per_record = match c.opt("processing_ms_per_record") {
        None => SimDuration::ZERO,
        Some(v) => match v.as_f64() {
            Some(ms) if (0.0..=3_600_000.0).contains(&ms) => SimDuration::from_ns((ms * 1e6).round() as u64),
            _ => return Err(ScenarioError::new(path, "expected milliseconds in [0, 3600000], e.g. 2.5")),
        },
    };
    let commit = match c.opt_str("commit")? {
        None | Some("none") => CommitMode::None,
        Some("sync") => CommitMode::Sync,
        Some("async") => CommitMode::Async,
        Some(other) => {
            return Err(ScenarioError::new(
                c.path_of("commit"),
                format!("unknown commit {other:?} (none, sync, async)"),
            ))
        }
    };
    let grouped = matches!(source, ConsumerSource::Group(_));
    if commit != CommitMode::None && !grouped {
        return Err(ScenarioError::new(c.path_of("commit"), "commits need a group (this consumer has no group.id)"));
    }
    if !grouped && config.get("enable.auto.commit") == Some("true") {
        return Err(ScenarioError::new(
            c.path_of("config.enable.auto.commit"),
            "auto-commit needs a group.id (Kafka's InvalidConfigurationException)",
        ));
    }
    Ok(AppBehaviour { processing_per_record, commit })
}

/// `seek: {"orders-0": 100}`: where an assigned consumer starts (`KafkaConsumer.seek`).
fn parse_seek(c: &mut Obj, source: &ConsumerSource) -> Result<VecMap<Tp, i64>> {
    let Some(mut obj) = c.opt_obj("seek")? else { return Ok(VecMap::new()) };
    let ConsumerSource::Assigned(assigned) = source else {
        return Err(ScenarioError::new(c.path_of("seek"), "seek needs assigned partitions (not a group)"));
    };
    let mut out = VecMap::new();
    for tp in assigned {
        let key = tp.to_string();
        if let Some(offset) = obj.opt_u64(&key, 0, i64::MAX as u64)? {
            out.insert(tp.clone(), offset as i64);
        }
    }
    obj.finish()?;
    Ok(out)
}

fn parse_assigned(c: &mut Obj, topics: &[TopicSpec]) -> Result<Option<Vec<Tp>>> {
    if c.opt("partitions").is_none() {
        return Ok(None);
    }
    let mut out = vec![];
    for (j, v) in c.opt_array("partitions")?.iter().enumerate() {
        let path = format!("{}[{j}]", c.path_of("partitions"));
        let text =
            v.as_str().ok_or_else(|| ScenarioError::new(&path, "expected \"topic-partition\", e.g. \"orders-0\""))?;
        let (topic, part) = text
            .rsplit_once('-')
            .ok_or_else(|| ScenarioError::new(&path, format!("{text:?} is not \"topic-partition\"")))?;
        let spec = topics
            .iter()
            .find(|t| t.name == topic)
            .ok_or_else(|| ScenarioError::new(&path, format!("no topic {topic:?}")))?;
        let p: u32 =
            part.parse().map_err(|_| ScenarioError::new(&path, format!("{part:?} is not a partition number")))?;
        if p >= spec.partitions {
            return Err(ScenarioError::new(&path, format!("{topic} has {} partitions", spec.partitions)));
        }
        out.push(Tp::new(&crate::sim::protocol::topic_name(topic), p));
    }
    Ok(Some(out))
}

/// Resolves a node reference: `broker-N`, `producer-N`, `consumer-N`, or a client's `id`.
fn resolve_node(obj: &mut Obj, key: &str, s: &Scenario) -> Result<NodeId> {
    let path = obj.path_of(key);
    let name = obj.req_str(key)?.to_string();
    let by_label = s
        .producers
        .iter()
        .position(|p| p.label == name)
        .map(|i| NodeId::producer(i as u16 + 1))
        .or_else(|| s.consumers.iter().position(|c| c.label == name).map(|i| NodeId::consumer(i as u16 + 1)));
    let id = match by_label {
        Some(id) => id,
        None => name.parse::<NodeId>().map_err(|e| ScenarioError::new(&path, e.to_string()))?,
    };
    let count = match id.kind {
        crate::sim::node::NodeKind::Broker => usize::from(s.brokers),
        crate::sim::node::NodeKind::Producer => s.producers.len(),
        crate::sim::node::NodeKind::Consumer => s.consumers.len(),
        crate::sim::node::NodeKind::Controller => 1,
    };
    if usize::from(id.number) > count {
        return Err(ScenarioError::new(&path, format!("no node {name:?} in this scenario")));
    }
    Ok(id)
}

/// A link's `from` and `to` nodes: two that exchange messages ([`link_exists`]).
fn resolve_link(obj: &mut Obj, s: &Scenario) -> Result<(NodeId, NodeId)> {
    let from = resolve_node(obj, "from", s)?;
    let to = resolve_node(obj, "to", s)?;
    if !link_exists(from, to) {
        return Err(ScenarioError::new(obj.path_of("to"), no_link_reason(from, to)));
    }
    Ok((from, to))
}

const ACTIONS: &[&str] = &[
    "crash_broker",
    "restart_broker",
    "cut_link",
    "heal_link",
    "heal_all",
    "set_link",
    "config_change",
    "consumer_join",
    "consumer_leave",
    "consumer_crash",
];

fn parse_events(root: &mut Obj, s: &Scenario) -> Result<Vec<TimedAction>> {
    let mut out = vec![];
    let mut paths = vec![];
    for mut e in root.opt_array_of_obj("events")? {
        let at_ms = e.req_u64("at_ms", 0, DURATION_MS_MAX)?;
        if at_ms > s.duration_ms {
            return Err(ScenarioError::new(
                e.path_of("at_ms"),
                format!("{at_ms} is after duration_ms ({})", s.duration_ms),
            ));
        }
        let action = parse_action(&mut e, s)?;
        paths.push(e.path_of("value"));
        e.finish()?;
        out.push(TimedAction { at: SimTime::from_ms(at_ms), action });
    }
    check_config_events(&out, &paths, s)?;
    Ok(out)
}

/// Scheduled config changes, applied in time order to each node's properties, leave them valid
/// together: the checks of a change made at run time (`Sim::check_action`).
fn check_config_events(events: &[TimedAction], paths: &[String], s: &Scenario) -> Result<()> {
    use crate::sim::config::{BrokerConfig, ConsumerConfig, ProducerConfig};
    use crate::sim::node::NodeKind;
    let mut order: Vec<usize> = (0..events.len()).collect();
    crate::sim::collections::sort_by_key(&mut order, |i| events[*i].at);
    let mut props: VecMap<NodeId, Props> = VecMap::new();
    for i in order {
        let Action::ConfigChange { target: ConfigTarget::Node(id), property, value } = &events[i].action else {
            continue;
        };
        let index = usize::from(id.number).saturating_sub(1);
        let current = props.entry(*id).or_insert_with(|| match id.kind {
            NodeKind::Producer => s.producers[index].config.clone(),
            NodeKind::Consumer => s.consumers[index].config.clone(),
            NodeKind::Broker | NodeKind::Controller => s.broker_config.clone(),
        });
        let error = |e: crate::sim::config::PropertyError| ScenarioError::new(&paths[i], e.to_string());
        current.set(property, value).map_err(error)?;
        match id.kind {
            NodeKind::Producer => ProducerConfig::validate(current),
            NodeKind::Consumer => ConsumerConfig::validate(current),
            NodeKind::Broker | NodeKind::Controller => BrokerConfig::validate(current),
        }
        .map_err(error)?;
    }
    Ok(())
}

/// Longest narration text.
pub const NARRATION_CHARS_MAX: usize = 600;

fn parse_narration(root: &mut Obj, s: &Scenario) -> Result<Vec<NarrationStep>> {
    let mut out: Vec<NarrationStep> = vec![];
    for mut step in root.opt_array_of_obj("narration")? {
        let at_ms = step.req_u64("at_ms", 0, DURATION_MS_MAX)?;
        if at_ms > s.duration_ms {
            return Err(ScenarioError::new(
                step.path_of("at_ms"),
                format!("{at_ms} is after duration_ms ({})", s.duration_ms),
            ));
        }
        if let Some(previous) = out.last().filter(|p| p.at > SimTime::from_ms(at_ms)) {
            return Err(ScenarioError::new(
                step.path_of("at_ms"),
                format!("{at_ms} is before the previous step's {} ms: steps go in time order", previous.at.as_ms()),
            ));
        }
        let text = step.req_str("text")?.trim().to_string();
        if text.is_empty() || text.chars().count() > NARRATION_CHARS_MAX {
            return Err(ScenarioError::new(
                step.path_of("text"),
                format!("needs 1 to {NARRATION_CHARS_MAX} characters"),
            ));
        }
        step.finish()?;
        out.push(NarrationStep { at: SimTime::from_ms(at_ms), text });
    }
    Ok(out)
}

fn parse_action(e: &mut Obj, s: &Scenario) -> Result<Action> {
    let path = e.path_of("action");
    let name = e.req_str("action")?.to_string();
    let broker = |e: &mut Obj| -> Result<u16> { Ok(e.req_u64("broker", 1, u64::from(s.brokers))? as u16) };
    Ok(match name.as_str() {
        "crash_broker" => {
            let kind = match e.opt_str("kind")? {
                None | Some("process") => CrashKind::Process,
                Some("machine") => CrashKind::Machine,
                Some(k) => {
                    return Err(ScenarioError::new(
                        e.path_of("kind"),
                        format!("unknown crash kind {k:?} (process or machine)"),
                    ))
                }
            };
            Action::CrashBroker { broker: broker(e)?, kind }
        }
        "restart_broker" => Action::RestartBroker { broker: broker(e)? },
        "cut_link" | "heal_link" | "set_link" => {
            let (from, to) = resolve_link(e, s)?;
            let both = e.opt_bool("both")?.unwrap_or(false);
            match name.as_str() {
                "cut_link" => Action::CutLink { from, to, both },
                "heal_link" => Action::HealLink { from, to, both },
                _ => Action::SetLink { from, to, both, link: parse_link_config(e, s.network.default_link)? },
            }
        }
        "heal_all" => Action::HealAll,
        "config_change" => parse_config_change(e, s)?,
        "consumer_join" | "consumer_leave" | "consumer_crash" => {
            let consumer = resolve_node(e, "consumer", s)?;
            if consumer.kind != crate::sim::node::NodeKind::Consumer {
                return Err(ScenarioError::new(e.path_of("consumer"), format!("{consumer} is not a consumer")));
            }
            match name.as_str() {
                "consumer_join" => Action::ConsumerJoin { consumer },
                "consumer_leave" => Action::ConsumerLeave { consumer },
                _ => Action::ConsumerCrash { consumer },
            }
        }
        other => {
            let hint =
                closest(other, ACTIONS.iter().copied()).map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default();
            return Err(ScenarioError::new(path, format!("unknown action {other:?}{hint}")));
        }
    })
}

fn parse_config_change(e: &mut Obj, s: &Scenario) -> Result<Action> {
    let target_path = e.path_of("target");
    let target_name = e.req_str("target")?.to_string();
    let property = e.req_str("property")?.to_string();
    let value = walk::scalar_text(e.req("value")?, &e.path_of("value"))?;
    let (target, scope) = match target_name.strip_prefix("topic:") {
        Some(topic) => {
            if !s.topics.iter().any(|t| t.name == topic) {
                return Err(ScenarioError::new(&target_path, format!("no topic {topic:?}")));
            }
            (ConfigTarget::Topic(topic.to_string()), Scope::Topic)
        }
        None => {
            let id = resolve_node(e, "target", s)?;
            let scope = match id.kind {
                crate::sim::node::NodeKind::Broker | crate::sim::node::NodeKind::Controller => Scope::Broker,
                crate::sim::node::NodeKind::Producer => Scope::Producer,
                crate::sim::node::NodeKind::Consumer => Scope::Consumer,
            };
            (ConfigTarget::Node(id), scope)
        }
    };
    Props::empty(scope)
        .set(&property, &value)
        .map_err(|err| ScenarioError::new(e.path_of("property"), err.to_string()))?;
    if let ConfigTarget::Node(id) = &target {
        check_consumer_change(*id, &property, &value, s).map_err(|m| ScenarioError::new(e.path_of("property"), m))?;
    }
    Ok(Action::ConfigChange { target, property, value })
}

/// A consumer's group is fixed when it is created, and only a member of one auto-commits.
fn check_consumer_change(id: NodeId, property: &str, value: &str, s: &Scenario) -> std::result::Result<(), String> {
    if id.kind != crate::sim::node::NodeKind::Consumer {
        return Ok(());
    }
    let grouped = matches!(s.consumers[usize::from(id.number) - 1].source, ConsumerSource::Group(_));
    match crate::sim::consumer_change_refusal(property, value, grouped) {
        Some(refusal) => Err(refusal.to_string()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
