//! A validated scenario: what the simulator is asked to run. The file formats (JSON, TOML) are
//! parsed and validated in [`crate::scenario`]; this is the typed result the core consumes.

use super::config::Props;
use super::net::LinkConfig;
use super::node::NodeId;
use super::protocol::Tp;
use super::time::SimDuration;
use super::time::SimTime;
use crate::sim::vec_map::VecMap;

/// A scenario after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Short title.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Default seed (the CLI's `--seed` overrides it).
    pub seed: u64,
    /// How long to run.
    pub duration_ms: u64,
    /// Number of brokers (`broker-1` ..= `broker-N`).
    pub brokers: u16,
    /// Broker properties shared by every broker.
    pub broker_config: Props,
    /// How long a broker's request handler works on one request (not a Kafka setting: the
    /// machine's speed).
    pub service_time: ServiceTime,
    /// Network defaults and per-link overrides.
    pub network: NetworkSpec,
    /// Topics to create at start.
    pub topics: Vec<TopicSpec>,
    /// Producer clients.
    pub producers: Vec<ProducerSpec>,
    /// Consumer clients.
    pub consumers: Vec<ConsumerSpec>,
    /// Timed faults and actions.
    pub events: Vec<TimedAction>,
    /// The guided tour: moments worth stopping at, in time order (the viewer's "Next" jumps
    /// from one to the next). The simulation ignores them.
    pub narration: Vec<NarrationStep>,
}

/// One stop of a scenario's guided tour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NarrationStep {
    /// The moment that matters.
    pub at: SimTime,
    /// What to look at then (one or two sentences).
    pub text: String,
}

/// A broker request handler's time per request (`broker_service_time` in scenario files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceTime {
    /// Fixed cost per request.
    pub per_request: SimDuration,
    /// Cost per KiB the request carries.
    pub per_kib: SimDuration,
}

impl Default for ServiceTime {
    /// 50 µs per request plus 2 µs per KiB: a fast broker appending to the page cache.
    fn default() -> ServiceTime {
        ServiceTime { per_request: SimDuration::from_us(50), per_kib: SimDuration::from_us(2) }
    }
}

impl ServiceTime {
    /// Handler time for a request of `bytes`.
    pub fn for_bytes(&self, bytes: u32) -> SimDuration {
        SimDuration::from_ns(self.per_request.as_ns() + self.per_kib.as_ns() * u64::from(bytes) / 1024)
    }
}

/// Default link behaviour plus directed overrides.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NetworkSpec {
    /// Every link not overridden.
    pub default_link: LinkConfig,
    /// Overrides for directed links.
    pub links: Vec<(NodeId, NodeId, LinkConfig)>,
}

/// A topic and its partition layout.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: u32,
    /// Replicas per partition.
    pub replication_factor: u16,
    /// Topic-level overrides.
    pub config: Props,
}

/// A producer client and what it sends.
#[derive(Clone, Debug, PartialEq)]
pub struct ProducerSpec {
    /// The scenario's name for it (its node id is `producer-<position>`).
    pub label: String,
    /// Producer properties.
    pub config: Props,
    /// The records it sends.
    pub workload: Workload,
}

/// A stream of records a producer sends at a steady rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Destination topic.
    pub topic: String,
    /// How many records.
    pub records: u64,
    /// Records per second of simulated time.
    pub rate_per_sec: u64,
    /// Key of record `i`, or none (null keys).
    pub key: Option<KeyPattern>,
    /// Bytes in each value.
    pub value_bytes: u32,
    /// When the first record is sent.
    pub start_ms: u64,
    /// Send every record to this partition (`ProducerRecord.partition`), if set.
    pub partition: Option<u32>,
    /// `send().get()` (wait for each record) instead of a callback.
    pub sync: bool,
}

/// A key template: literal text with `{i}` (the record index) and `{i%N}` (index modulo N).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    parts: Vec<KeyPart>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum KeyPart {
    Text(String),
    Index,
    IndexMod(u64),
}

impl KeyPattern {
    /// Parses a template; the error says what is wrong with it.
    pub fn parse(template: &str) -> Result<KeyPattern, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(KeyPart::Text(rest[..open].to_string()));
            }
            let close = rest[open..].find('}').ok_or("unclosed '{'")? + open;
            parts.push(match &rest[open + 1..close] {
                "i" => KeyPart::Index,
                inner => match inner.strip_prefix("i%").and_then(|n| n.parse::<u64>().ok()) {
                    Some(n) if n > 0 => KeyPart::IndexMod(n),
                    _ => return Err(format!("unknown placeholder {{{inner}}} (use {{i}} or {{i%N}})")),
                },
            });
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(KeyPart::Text(rest.to_string()));
        }
        Ok(KeyPattern { parts })
    }

    /// The key of record `index`.
    pub fn key(&self, index: u64) -> String {
        self.key_of(&RecordIndex::new(index))
    }

    /// The key of a record whose index is already formatted.
    pub fn key_of(&self, index: &RecordIndex) -> String {
        let mut out = Vec::with_capacity(24);
        self.write_key(index, &mut out);
        String::from_utf8(out).expect("a key is the template's text and ASCII digits")
    }

    /// Replaces `out` with the UTF-8 bytes of [`KeyPattern::key`]`(index.get())`, keeping its buffer:
    /// the producer writes every record's key into the same one.
    pub fn write_key(&self, index: &RecordIndex, out: &mut Vec<u8>) {
        out.clear();
        for part in &self.parts {
            match part {
                KeyPart::Text(t) => out.extend_from_slice(t.as_bytes()),
                KeyPart::Index => out.extend_from_slice(index.digits()),
                KeyPart::IndexMod(n) => out.extend_from_slice(decimal(index.get() % n, &mut [0; 20])),
            }
        }
    }
}

/// A record's index with its decimal digits, formatted once for both its key and its value
/// (the second formatting was 1.7% of workload (b)'s instructions).
#[derive(Clone, Copy, Debug)]
pub struct RecordIndex {
    index: u64,
    buf: [u8; 20],
    start: u8,
}

impl RecordIndex {
    /// Record `index`, its digits formatted.
    pub fn new(index: u64) -> RecordIndex {
        let mut buf = [0; 20];
        let start = (buf.len() - decimal(index, &mut buf).len()) as u8;
        RecordIndex { index, buf, start }
    }

    /// The index.
    pub fn get(&self) -> u64 {
        self.index
    }

    /// The index's decimal digits, as [`decimal`] writes them.
    pub fn digits(&self) -> &[u8] {
        &self.buf[usize::from(self.start)..]
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.digits()).expect("ASCII digits")
    }
}

/// The decimal digits of `n`, written at the end of `buf` (a `u64` has at most 20 digits).
/// Workloads format a key and a value per record; this skips `core::fmt`, a tenth of that cost.
/// Two digits per division (a table of "00".."99"): half the divisions of one at a time.
pub fn decimal(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    // Stores the two digits of `pair` (0..100) before `start`, a byte at a time: at the app's
    // opt-level z a two-byte slice copy was a call for each index and the copy.
    #[inline(always)]
    fn put_pair(buf: &mut [u8; 20], start: &mut usize, pair: usize) {
        *start -= 2;
        (buf[*start], buf[*start + 1]) = (PAIRS[pair * 2], PAIRS[pair * 2 + 1]);
    }
    let mut start = buf.len();
    let mut wide = n;
    while wide > u64::from(u32::MAX) {
        put_pair(buf, &mut start, (wide % 100) as usize);
        wide /= 100;
    }
    // The rest in 32 bits: WebAssembly has no 64-bit high multiply, so a 64-bit division by
    // 100 there is a real division instruction, which made this a twelfth of workload (b) in
    // the app's build; a 32-bit one is a multiply and a shift.
    let mut rest = wide as u32;
    while rest >= 100 {
        put_pair(buf, &mut start, (rest % 100) as usize);
        rest /= 100;
    }
    if rest >= 10 {
        put_pair(buf, &mut start, rest as usize);
    } else {
        start -= 1;
        buf[start] = b'0' + rest as u8;
    }
    &buf[start..]
}

/// Which partitions a consumer reads.
#[derive(Clone, Debug, PartialEq)]
pub enum ConsumerSource {
    /// `subscribe(topics)` as a member of this group (`group.id`).
    Group(String),
    /// `assign(partitions)`: these partitions, no group.
    Assigned(Vec<Tp>),
}

/// A consumer client.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerSpec {
    /// The scenario's name for it (its node id is `consumer-<position>`).
    pub label: String,
    /// Group membership or manual assignment.
    pub source: ConsumerSource,
    /// Subscribed topics (group mode).
    pub topics: Vec<String>,
    /// Consumer properties.
    pub config: Props,
    /// When it starts polling.
    pub start_ms: u64,
    /// When it stops, if it does.
    pub stop_ms: Option<u64>,
    /// Assigned mode: the offset to start each partition at (`seek`); others follow
    /// `auto.offset.reset`.
    pub seek: VecMap<Tp, i64>,
    /// The application: processing time per record and manual commits.
    pub app: super::consumer::AppBehaviour,
}

/// How a broker goes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKind {
    /// The process dies; the OS page cache (unflushed writes) survives.
    Process,
    /// The machine dies: every log loses what was not flushed (beyond its recovery point).
    Machine,
}

/// What a property change applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigTarget {
    /// One node (a broker or a client).
    Node(NodeId),
    /// A topic's overrides.
    Topic(String),
}

/// An action: a fault or an operator/client action, applied at the current simulated time.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Crash a broker.
    CrashBroker {
        /// Broker id.
        broker: u16,
        /// Which kind of crash.
        kind: CrashKind,
    },
    /// Restart a crashed broker.
    RestartBroker {
        /// Broker id.
        broker: u16,
    },
    /// Cut `from → to` (and `to → from` when `both`).
    CutLink {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
        /// Cut both directions.
        both: bool,
    },
    /// Heal `from → to` (and back when `both`).
    HealLink {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
        /// Heal both directions.
        both: bool,
    },
    /// Heal every link.
    HealAll,
    /// Set latency, jitter and loss of `from → to` (and back when `both`).
    SetLink {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
        /// Apply to both directions.
        both: bool,
        /// New behaviour.
        link: LinkConfig,
    },
    /// Change a Kafka property at run time.
    ConfigChange {
        /// What it applies to.
        target: ConfigTarget,
        /// Kafka property name.
        property: String,
        /// New value.
        value: String,
    },
    /// A consumer starts polling.
    ConsumerJoin {
        /// The consumer.
        consumer: NodeId,
    },
    /// A consumer stops (`close()`: commit, leave the group).
    ConsumerLeave {
        /// The consumer.
        consumer: NodeId,
    },
    /// A consumer's process dies: no commit, no LeaveGroup (`consumer_join` restarts it).
    ConsumerCrash {
        /// The consumer.
        consumer: NodeId,
    },
}

/// An action scheduled at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedAction {
    /// When.
    pub at: SimTime,
    /// What.
    pub action: Action,
}

/// Replica assignment the way Kafka's `AdminUtils.assignReplicasToBrokers` does it for a
/// rack-unaware cluster with start index 0: partition `p`'s first replica (the preferred
/// leader) is broker index `p % n`, and follower `j` sits `1 + (p / n + j) % (n - 1)` places
/// after it. Returns broker ids (1-based) per partition.
pub fn assign_replicas(brokers: u16, partitions: u32, replication_factor: u16) -> Vec<Vec<u16>> {
    let n = u32::from(brokers);
    let rf = u32::from(replication_factor);
    assert!(rf >= 1 && rf <= n, "replication factor {rf} with {n} brokers");
    (0..partitions)
        .map(|p| {
            let first = p % n;
            let shift = p / n;
            let mut replicas = vec![first];
            for j in 0..rf - 1 {
                replicas.push((first + 1 + (shift + j) % (n - 1).max(1)) % n);
            }
            replicas.into_iter().map(|b| b as u16 + 1).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn decimal_digits_equal_std_formatting() {
        let mut buf = [0u8; 20];
        let mut n = 1u64;
        for v in [0, 1, 9, 10, 99, 100, 4_294_967_295, 4_294_967_296, 429_496_729_599, u64::MAX - 1, u64::MAX] {
            assert_eq!(decimal(v, &mut buf), v.to_string().as_bytes());
            let index = RecordIndex::new(v);
            assert_eq!((index.get(), index.as_str()), (v, v.to_string().as_str()));
            let pattern = KeyPattern::parse("k-{i}/{i%7}").expect("a valid template");
            assert_eq!(pattern.key(v), format!("k-{v}/{}", v % 7));
        }
        for _ in 0..200 {
            n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let v = n >> (n % 64);
            assert_eq!(decimal(v, &mut buf), v.to_string().as_bytes());
            assert_eq!(RecordIndex::new(v).digits(), v.to_string().as_bytes());
        }
        assert_eq!(crate::sim::producer::value_bytes(42, 6), b"42....");
        assert_eq!(crate::sim::producer::value_bytes(123_456, 3), b"123");
    }

    #[test]
    fn key_patterns_expand_index_and_modulo() {
        let p = KeyPattern::parse("user-{i%3}/{i}").unwrap();
        assert_eq!(p.key(7), "user-1/7");
        let mut written = b"an old key, longer".to_vec();
        p.write_key(&RecordIndex::new(12_345), &mut written);
        assert_eq!(written, b"user-0/12345");
        assert_eq!(KeyPattern::parse("fixed").unwrap().key(9), "fixed");
        assert!(KeyPattern::parse("k-{j}").unwrap_err().contains("{j}"));
        assert!(KeyPattern::parse("k-{i").is_err());
        assert!(KeyPattern::parse("k-{i%0}").is_err());
    }

    #[test]
    fn replica_assignment_spreads_leaders_and_followers() {
        // 3 brokers, 6 partitions, RF 3 (start index 0): Kafka's layout.
        let a = assign_replicas(3, 6, 3);
        assert_eq!(a[0], [1, 2, 3]);
        assert_eq!(a[1], [2, 3, 1]);
        assert_eq!(a[2], [3, 1, 2]);
        assert_eq!(a[3], [1, 3, 2]);
        assert_eq!(a[4], [2, 1, 3]);
        assert_eq!(a[5], [3, 2, 1]);
        assert_eq!(assign_replicas(1, 2, 1), [[1], [1]]);
    }
}
