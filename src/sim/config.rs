//! Kafka configuration properties, by their real names, with Kafka 4.0 defaults.
//!
//! Every property a scenario may name is in [`PROPERTIES`]. A property is either *modelled*
//! (the simulation honours it) or *unsupported* (a real Kafka property the model does not
//! implement yet: naming it is an error `unsupported: <name>`, never silently ignored). A name
//! that is not a Kafka property at all is *unknown*, and the error suggests the closest one.
//! Typed configs ([`ProducerConfig`], [`BrokerConfig`], [`TopicConfig`], [`ConsumerConfig`]) are
//! read from validated [`Props`] and fall back to the defaults here (shared/reference §8).

use super::group::assignor::Assignor;
use super::log::{CleanupPolicy, LogConfig};
use super::protocol::Acks;
use super::time::SimDuration;
use crate::sim::vec_map::VecMap;

/// Where a property applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Broker (`server.properties`).
    Broker,
    /// Topic-level override.
    Topic,
    /// Producer client.
    Producer,
    /// Consumer client.
    Consumer,
}

impl Scope {
    /// Lower-case name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Broker => "broker",
            Scope::Topic => "topic",
            Scope::Producer => "producer",
            Scope::Consumer => "consumer",
        }
    }
}

/// The type of a property's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// `true` or `false`.
    Bool,
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// A decimal in `[0, 1]`, kept exactly as a ratio of integers.
    Fraction,
    /// A comma-separated list of the listed class names (possibly empty).
    ClassList(&'static [&'static str]),
    /// Free text.
    Text,
}

/// Whether the model honours a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Honoured by the simulation.
    Modelled,
    /// A real Kafka property that the model does not implement yet.
    Unsupported,
}

/// One property's definition.
#[derive(Clone, Copy, Debug)]
pub struct PropertySpec {
    /// Kafka's name for it.
    pub name: &'static str,
    /// Where it applies.
    pub scope: Scope,
    /// Kafka 4.0 default, as Kafka would print it.
    pub default: &'static str,
    /// Value type.
    pub kind: Kind,
    /// Modelled or not.
    pub support: Support,
}

const I32: i64 = i32::MAX as i64;
const I64: i64 = i64::MAX;
const I16: i64 = i16::MAX as i64;
const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn m(name: &'static str, scope: Scope, default: &'static str, kind: Kind) -> PropertySpec {
    PropertySpec { name, scope, default, kind, support: Support::Modelled }
}
const fn u(name: &'static str, scope: Scope, default: &'static str) -> PropertySpec {
    PropertySpec { name, scope, default, kind: Kind::Text, support: Support::Unsupported }
}

use Scope::{Broker as B, Consumer as C, Producer as P, Topic as T};

/// `partition.assignment.strategy` classes the model runs (Kafka's four assignors).
pub const ASSIGNORS: &[&str] = &[
    "org.apache.kafka.clients.consumer.RangeAssignor",
    "org.apache.kafka.clients.consumer.RoundRobinAssignor",
    "org.apache.kafka.clients.consumer.StickyAssignor",
    "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
];

/// Every property a scenario may name.
pub const PROPERTIES: &[PropertySpec] = &[
    // Producer — modelled.
    m("acks", P, "all", Kind::Choice(&["0", "1", "-1", "all"])),
    m("batch.size", P, "16384", int(0, I32)),
    m("linger.ms", P, "5", int(0, I64)),
    m("max.in.flight.requests.per.connection", P, "5", int(1, I32)),
    m("request.timeout.ms", P, "30000", int(0, I32)),
    m("retry.backoff.ms", P, "100", int(0, I64)),
    m("client.id", P, "", Kind::Text),
    // Producer — real Kafka properties not modelled yet.
    m("buffer.memory", P, "33554432", int(0, I64)),
    m("max.block.ms", P, "60000", int(0, I64)),
    m("max.request.size", P, "1048576", int(0, I32)),
    m("enable.idempotence", P, "true", Kind::Bool),
    m("retries", P, "2147483647", int(0, I32)),
    m("delivery.timeout.ms", P, "120000", int(0, I32)),
    m("retry.backoff.max.ms", P, "1000", int(0, I64)),
    m("reconnect.backoff.ms", P, "50", int(0, I64)),
    m("reconnect.backoff.max.ms", P, "1000", int(0, I64)),
    u("compression.type", P, "none"),
    m("partitioner.class", P, "", Kind::Choice(&["", "org.apache.kafka.clients.producer.RoundRobinPartitioner"])),
    m("partitioner.adaptive.partitioning.enable", P, "true", Kind::Bool),
    m("partitioner.availability.timeout.ms", P, "0", int(0, I64)),
    m("partitioner.ignore.keys", P, "false", Kind::Bool),
    m("metadata.max.age.ms", P, "300000", int(0, I64)),
    u("metadata.max.idle.ms", P, "300000"),
    u("transaction.timeout.ms", P, "60000"),
    u("transactional.id", P, ""),
    m(
        "key.serializer",
        P,
        "org.apache.kafka.common.serialization.StringSerializer",
        Kind::Choice(super::producer::serde::SERIALIZERS),
    ),
    m(
        "value.serializer",
        P,
        "org.apache.kafka.common.serialization.StringSerializer",
        Kind::Choice(super::producer::serde::SERIALIZERS),
    ),
    m("interceptor.classes", P, "", Kind::ClassList(super::producer::serde::INTERCEPTORS)),
    u("bootstrap.servers", P, ""),
    u("send.buffer.bytes", P, "131072"),
    u("receive.buffer.bytes", P, "32768"),
    u("connections.max.idle.ms", P, "540000"),
    u("compression.gzip.level", P, "-1"),
    u("compression.lz4.level", P, "9"),
    u("compression.zstd.level", P, "3"),
    u("socket.connection.setup.timeout.ms", P, "10000"),
    u("socket.connection.setup.timeout.max.ms", P, "30000"),
    u("security.protocol", P, "PLAINTEXT"),
    // Broker — modelled.
    m("replica.lag.time.max.ms", B, "30000", int(1, I64)),
    m("replica.fetch.wait.max.ms", B, "500", int(0, I32)),
    m("replica.fetch.min.bytes", B, "1", int(1, I32)),
    m("replica.fetch.backoff.ms", B, "1000", int(0, I32)),
    m("replica.socket.timeout.ms", B, "30000", int(1, I32)),
    m("min.insync.replicas", B, "1", int(1, I32)),
    m("unclean.leader.election.enable", B, "false", Kind::Bool),
    m("auto.leader.rebalance.enable", B, "true", Kind::Bool),
    m("leader.imbalance.check.interval.seconds", B, "300", int(1, I64)),
    m("broker.session.timeout.ms", B, "9000", int(1, I32)),
    m("broker.heartbeat.interval.ms", B, "2000", int(1, I32)),
    m("num.io.threads", B, "8", int(1, 256)),
    m("queued.max.requests", B, "500", int(1, I32)),
    // Broker — not modelled yet.
    u("default.replication.factor", B, "1"),
    u("num.partitions", B, "1"),
    m("replica.fetch.max.bytes", B, "1048576", int(0, I32)),
    m("replica.fetch.response.max.bytes", B, "10485760", int(0, I32)),
    m("message.max.bytes", B, "1048588", int(0, I32)),
    m("log.segment.bytes", B, "1073741824", int(1_048_576, I32)),
    m("log.roll.ms", B, "604800000", int(1, I64)),
    m("log.retention.ms", B, "604800000", int(-1, I64)),
    u("log.retention.hours", B, "168"),
    m("log.retention.bytes", B, "-1", int(-1, I64)),
    m("log.retention.check.interval.ms", B, "300000", int(1, I64)),
    m("log.initial.task.delay.ms", B, "30000", int(0, I64)),
    m("log.index.interval.bytes", B, "4096", int(0, I32)),
    m("log.index.size.max.bytes", B, "10485760", int(4, I32)),
    m("log.cleanup.policy", B, "delete", Kind::Choice(&["delete", "compact", "delete,compact", "compact,delete"])),
    m("log.cleaner.backoff.ms", B, "15000", int(0, I64)),
    m("log.cleaner.delete.retention.ms", B, "86400000", int(0, I64)),
    m("log.cleaner.min.cleanable.ratio", B, "0.5", Kind::Fraction),
    m("log.cleaner.min.compaction.lag.ms", B, "0", int(0, I64)),
    m("log.flush.interval.messages", B, "9223372036854775807", int(1, I64)),
    m("log.flush.interval.ms", B, "9223372036854775807", int(0, I64)),
    m("log.flush.scheduler.interval.ms", B, "9223372036854775807", int(1, I64)),
    u("num.network.threads", B, "3"),
    m("offsets.topic.num.partitions", B, "50", int(1, 1000)),
    m("offsets.topic.replication.factor", B, "3", int(1, I16)),
    m("offsets.commit.timeout.ms", B, "5000", int(1, I32)),
    u("offsets.retention.minutes", B, "10080"),
    m("group.initial.rebalance.delay.ms", B, "3000", int(0, I32)),
    m("group.min.session.timeout.ms", B, "6000", int(0, I32)),
    m("group.max.session.timeout.ms", B, "1800000", int(0, I32)),
    u("producer.id.expiration.ms", B, "86400000"),
    u("auto.create.topics.enable", B, "true"),
    u("log.message.timestamp.type", B, "CreateTime"),
    u("log.message.timestamp.after.max.ms", B, "3600000"),
    u("log.retention.minutes", B, ""),
    u("log.roll.hours", B, "168"),
    u("log.roll.jitter.ms", B, ""),
    u("log.cleaner.enable", B, "true"),
    u("log.cleaner.threads", B, "1"),
    u("log.cleaner.max.compaction.lag.ms", B, "9223372036854775807"),
    u("log.segment.delete.delay.ms", B, "60000"),
    u("log.preallocate", B, "false"),
    u("num.replica.fetchers", B, "1"),
    u("replica.high.watermark.checkpoint.interval.ms", B, "5000"),
    u("request.timeout.ms", B, "30000"),
    u("security.inter.broker.protocol", B, "PLAINTEXT"),
    // Topic — modelled.
    m("min.insync.replicas", T, "1", int(1, I32)),
    // Topic — not modelled yet.
    m("cleanup.policy", T, "delete", Kind::Choice(&["delete", "compact", "delete,compact", "compact,delete"])),
    u("compression.type", T, "producer"),
    m("delete.retention.ms", T, "86400000", int(0, I64)),
    m("flush.messages", T, "9223372036854775807", int(1, I64)),
    m("flush.ms", T, "9223372036854775807", int(0, I64)),
    m("index.interval.bytes", T, "4096", int(0, I32)),
    u("max.compaction.lag.ms", T, "9223372036854775807"),
    m("max.message.bytes", T, "1048588", int(0, I32)),
    u("message.timestamp.type", T, "CreateTime"),
    u("message.timestamp.after.max.ms", T, "3600000"),
    u("file.delete.delay.ms", T, "60000"),
    u("leader.replication.throttled.replicas", T, ""),
    u("follower.replication.throttled.replicas", T, ""),
    u("local.retention.ms", T, "-2"),
    u("local.retention.bytes", T, "-2"),
    u("remote.storage.enable", T, "false"),
    u("message.timestamp.before.max.ms", T, "9223372036854775807"),
    m("min.cleanable.dirty.ratio", T, "0.5", Kind::Fraction),
    m("min.compaction.lag.ms", T, "0", int(0, I64)),
    m("retention.bytes", T, "-1", int(-1, I64)),
    m("retention.ms", T, "604800000", int(-1, I64)),
    m("segment.bytes", T, "1073741824", int(1_048_576, I32)),
    m("segment.index.bytes", T, "10485760", int(4, I32)),
    u("segment.jitter.ms", T, "0"),
    m("segment.ms", T, "604800000", int(1, I64)),
    m("unclean.leader.election.enable", T, "false", Kind::Bool),
    u("preallocate", T, "false"),
    // Consumer — modelled.
    m("fetch.min.bytes", C, "1", int(0, I32)),
    m("fetch.max.wait.ms", C, "500", int(0, I32)),
    m("auto.offset.reset", C, "latest", Kind::Choice(&["earliest", "latest", "none"])),
    m("request.timeout.ms", C, "30000", int(0, I32)),
    m("retry.backoff.ms", C, "100", int(0, I64)),
    m("reconnect.backoff.ms", C, "50", int(0, I64)),
    m("fetch.max.bytes", C, "52428800", int(0, I32)),
    m("max.partition.fetch.bytes", C, "1048576", int(0, I32)),
    m("reconnect.backoff.max.ms", C, "1000", int(0, I64)),
    m("client.id", C, "", Kind::Text),
    m("group.id", C, "", Kind::Text),
    m("group.protocol", C, "classic", Kind::Choice(&["classic"])),
    m("session.timeout.ms", C, "45000", int(1, I32)),
    m("heartbeat.interval.ms", C, "3000", int(1, I32)),
    m("max.poll.interval.ms", C, "300000", int(1, I32)),
    m("max.poll.records", C, "500", int(1, I32)),
    m("enable.auto.commit", C, "true", Kind::Bool),
    m("auto.commit.interval.ms", C, "5000", int(1, I32)),
    m(
        "partition.assignment.strategy",
        C,
        "org.apache.kafka.clients.consumer.RangeAssignor,org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
        Kind::ClassList(ASSIGNORS),
    ),
    m("check.crcs", C, "true", Kind::Bool),
    // Consumer — not modelled yet.
    u("group.instance.id", C, ""),
    u("isolation.level", C, "read_uncommitted"),
    u("key.deserializer", C, ""),
    u("value.deserializer", C, ""),
    u("bootstrap.servers", C, ""),
    u("interceptor.classes", C, ""),
    u("default.api.timeout.ms", C, "60000"),
    u("allow.auto.create.topics", C, "true"),
    u("exclude.internal.topics", C, "true"),
    u("client.rack", C, ""),
    u("security.protocol", C, "PLAINTEXT"),
    u("socket.connection.setup.timeout.ms", C, "10000"),
    u("metadata.max.age.ms", C, "300000"),
];

/// The definition of `name` in `scope`, if Kafka has one.
pub fn spec(scope: Scope, name: &str) -> Option<&'static PropertySpec> {
    PROPERTIES.iter().find(|p| p.scope == scope && p.name == name)
}

/// Names of every property in `scope`.
pub fn names(scope: Scope) -> impl Iterator<Item = &'static str> {
    PROPERTIES.iter().filter(move |p| p.scope == scope).map(|p| p.name)
}

/// Why a property was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// Not a Kafka property of this scope.
    #[error("unknown {scope} property \"{name}\"{}", suggestion.as_ref().map(|s| format!(" (did you mean \"{s}\"?)")).unwrap_or_default())]
    Unknown {
        /// Scope name.
        scope: &'static str,
        /// The name given.
        name: String,
        /// The closest real name, if any is close.
        suggestion: Option<&'static str>,
    },
    /// A real Kafka property the model does not implement.
    #[error("unsupported: {name}")]
    Unsupported {
        /// The name given.
        name: String,
    },
    /// The value does not fit the property's type.
    #[error("{name}: invalid value {value:?}: expected {expected}")]
    InvalidValue {
        /// Property name.
        name: String,
        /// Value given.
        value: String,
        /// What was expected.
        expected: String,
    },
}

/// Validated properties of one scope: name → value as Kafka would print it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Props {
    scope: Option<Scope>,
    values: VecMap<String, String>,
}

impl Props {
    /// No properties set: every default applies.
    pub fn empty(scope: Scope) -> Props {
        Props { scope: Some(scope), values: VecMap::new() }
    }

    /// Sets `name = value` after checking that Kafka knows it, the model honours it, and the
    /// value has the right type.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), PropertyError> {
        let scope = self.scope.expect("Props built with Props::empty");
        let spec = spec(scope, name).ok_or_else(|| PropertyError::Unknown {
            scope: scope.name(),
            name: name.to_string(),
            suggestion: crate::suggest::closest(name, names(scope)),
        })?;
        if spec.support == Support::Unsupported {
            return Err(PropertyError::Unsupported { name: name.to_string() });
        }
        let value = check_value(spec, value.trim())?;
        self.values.insert(name.to_string(), value);
        Ok(())
    }

    /// The explicitly set value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every explicitly set property, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn raw(&self, name: &str) -> &str {
        let scope = self.scope.expect("Props built with Props::empty");
        let spec = spec(scope, name).unwrap_or_else(|| panic!("{name} is not a {} property", scope.name()));
        assert_eq!(spec.support, Support::Modelled, "{name} is read but not marked modelled");
        self.get(name).unwrap_or(spec.default)
    }

    fn int(&self, name: &str) -> i64 {
        self.raw(name).parse().unwrap_or_else(|_| panic!("{name} was validated as an integer"))
    }

    fn flag(&self, name: &str) -> bool {
        self.raw(name) == "true"
    }

    fn ms(&self, name: &str) -> SimDuration {
        SimDuration::from_ms(self.int(name).max(0) as u64)
    }
}

fn check_value(spec: &PropertySpec, value: &str) -> Result<String, PropertyError> {
    let invalid =
        |expected: String| PropertyError::InvalidValue { name: spec.name.into(), value: value.into(), expected };
    match spec.kind {
        Kind::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
            _ => Err(invalid(format!("an integer in [{min}, {max}]"))),
        },
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            v @ ("true" | "false") => Ok(v.to_string()),
            _ => Err(invalid("true or false".into())),
        },
        Kind::Choice(words) => match words.iter().find(|w| w.eq_ignore_ascii_case(value)) {
            Some(w) => Ok((*w).to_string()),
            None => Err(invalid(format!("one of {}", words.join(", ")))),
        },
        Kind::ClassList(known) => {
            let classes: Vec<&str> = value.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
            match classes.iter().find(|c| !known.contains(c)) {
                Some(bad) => Err(invalid(format!("a list of: {} (not {bad})", known.join(", ")))),
                None => Ok(classes.join(",")),
            }
        }
        Kind::Fraction => match parse_fraction(value) {
            Some(_) => Ok(value.to_string()),
            None => Err(invalid("a decimal between 0 and 1, e.g. 0.5".into())),
        },
        Kind::Text => Ok(value.to_string()),
    }
}

/// Parses a decimal such as `0.5` or `1` in `[0, 1]` into `(numerator, denominator)` exactly.
pub fn parse_fraction(text: &str) -> Option<(u64, u64)> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 9
        || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let den = 10u64.pow(frac.len() as u32);
    let num = whole.parse::<u64>().unwrap_or(0).checked_mul(den)? + frac.parse::<u64>().unwrap_or(0);
    let gcd = gcd(num, den);
    (num <= den).then_some((num / gcd, den / gcd))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// Producer settings the model honours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerConfig {
    /// `acks`.
    pub acks: Acks,
    /// `batch.size` as set (0 is allowed; batches then hold what their first buffer fits).
    pub batch_size_bytes: u32,
    /// `linger.ms`.
    pub linger: SimDuration,
    /// `max.in.flight.requests.per.connection`.
    pub in_flight_requests_max: u32,
    /// `request.timeout.ms`.
    pub request_timeout: SimDuration,
    /// `retry.backoff.ms`.
    pub retry_backoff: SimDuration,
    /// `retry.backoff.max.ms`.
    pub retry_backoff_max: SimDuration,
    /// `reconnect.backoff.ms`: a node whose connection failed is avoided this long, doubling
    /// with each further failure.
    pub reconnect_backoff: SimDuration,
    /// `reconnect.backoff.max.ms`: the cap of that doubling.
    pub reconnect_backoff_max: SimDuration,
    /// `buffer.memory`.
    pub buffer_memory: u64,
    /// `max.block.ms`.
    pub max_block: SimDuration,
    /// `max.request.size`.
    pub max_request_size: u32,
    /// Effective `enable.idempotence` (after Kafka's silent disabling).
    pub idempotence: bool,
    /// `retries`.
    pub retries: u32,
    /// Effective `delivery.timeout.ms` (raised to `linger.ms + request.timeout.ms` when unset).
    pub delivery_timeout: SimDuration,
    /// `partitioner.class` = RoundRobinPartitioner.
    pub round_robin: bool,
    /// `partitioner.adaptive.partitioning.enable`.
    pub adaptive_partitioning: bool,
    /// `partitioner.availability.timeout.ms`.
    pub availability_timeout: SimDuration,
    /// `partitioner.ignore.keys`.
    pub ignore_keys: bool,
    /// `metadata.max.age.ms`.
    pub metadata_max_age: SimDuration,
    /// `key.serializer`.
    pub key_serializer: super::producer::serde::Serializer,
    /// `value.serializer`.
    pub value_serializer: super::producer::serde::Serializer,
    /// `interceptor.classes`.
    pub interceptors: Vec<String>,
}

/// Kafka's `MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE`.
pub const IN_FLIGHT_MAX_FOR_IDEMPOTENCE: i64 = 5;

impl ProducerConfig {
    /// Kafka's producer config checks (`postProcessAndValidateIdempotenceConfigs`,
    /// `configureDeliveryTimeout`): explicit conflicts are errors, named by property.
    pub fn validate(props: &Props) -> Result<(), PropertyError> {
        let conflict = |expected: &str| PropertyError::InvalidValue {
            name: "enable.idempotence".into(),
            value: "true".into(),
            expected: expected.into(),
        };
        if props.get("enable.idempotence") == Some("true") {
            if !matches!(props.raw("acks"), "all" | "-1") {
                return Err(conflict("acks=all (acks is not all)"));
            }
            if props.int("retries") == 0 {
                return Err(conflict("retries > 0 (retries is 0)"));
            }
            if props.int("max.in.flight.requests.per.connection") > IN_FLIGHT_MAX_FOR_IDEMPOTENCE {
                return Err(conflict("max.in.flight.requests.per.connection <= 5"));
            }
        }
        if let Some(delivery) = props.get("delivery.timeout.ms") {
            let floor = props.int("linger.ms").saturating_add(props.int("request.timeout.ms"));
            if delivery.parse::<i64>().unwrap_or(0) < floor {
                return Err(PropertyError::InvalidValue {
                    name: "delivery.timeout.ms".into(),
                    value: delivery.into(),
                    expected: format!("at least linger.ms + request.timeout.ms ({floor})"),
                });
            }
        }
        Ok(())
    }

    /// Reads validated producer properties, with defaults.
    pub fn from_props(props: &Props) -> ProducerConfig {
        let acks = match props.raw("acks") {
            "0" => Acks::None,
            "1" => Acks::Leader,
            _ => Acks::All,
        };
        let in_flight = props.int("max.in.flight.requests.per.connection");
        let retries = props.int("retries");
        let conflicts = acks != Acks::All || retries == 0 || in_flight > IN_FLIGHT_MAX_FOR_IDEMPOTENCE;
        let idempotence = match props.get("enable.idempotence") {
            Some(v) => v == "true",
            None => !conflicts,
        };
        let floor = props.int("linger.ms").saturating_add(props.int("request.timeout.ms"));
        let delivery = match props.get("delivery.timeout.ms") {
            Some(_) => props.int("delivery.timeout.ms"),
            None => props.int("delivery.timeout.ms").max(floor),
        };
        ProducerConfig {
            acks,
            batch_size_bytes: props.int("batch.size") as u32,
            linger: props.ms("linger.ms"),
            in_flight_requests_max: in_flight as u32,
            request_timeout: props.ms("request.timeout.ms"),
            retry_backoff: props.ms("retry.backoff.ms"),
            retry_backoff_max: props.ms("retry.backoff.max.ms"),
            reconnect_backoff: props.ms("reconnect.backoff.ms"),
            reconnect_backoff_max: props.ms("reconnect.backoff.max.ms"),
            buffer_memory: props.int("buffer.memory") as u64,
            max_block: props.ms("max.block.ms"),
            max_request_size: props.int("max.request.size") as u32,
            idempotence,
            retries: retries as u32,
            delivery_timeout: SimDuration::from_ms(delivery.max(0) as u64),
            round_robin: !props.raw("partitioner.class").is_empty(),
            adaptive_partitioning: props.raw("partitioner.adaptive.partitioning.enable") == "true",
            availability_timeout: props.ms("partitioner.availability.timeout.ms"),
            ignore_keys: props.raw("partitioner.ignore.keys") == "true",
            metadata_max_age: props.ms("metadata.max.age.ms"),
            key_serializer: super::producer::serde::Serializer::from_class(props.raw("key.serializer")),
            value_serializer: super::producer::serde::Serializer::from_class(props.raw("value.serializer")),
            interceptors: props
                .raw("interceptor.classes")
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

/// Broker settings the model honours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerConfig {
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max: SimDuration,
    /// `replica.fetch.wait.max.ms`.
    pub replica_fetch_wait_max: SimDuration,
    /// `replica.fetch.min.bytes`.
    pub replica_fetch_min_bytes: u32,
    /// `replica.fetch.backoff.ms`.
    pub replica_fetch_backoff: SimDuration,
    /// `replica.socket.timeout.ms`.
    pub replica_socket_timeout: SimDuration,
    /// `min.insync.replicas` (broker default; topics may override).
    pub min_insync_replicas: u32,
    /// `log.retention.check.interval.ms`.
    pub log_retention_check_interval: SimDuration,
    /// `log.initial.task.delay.ms`: how long after start the log manager's periodic tasks
    /// (retention, the flusher) first run.
    pub log_initial_task_delay: SimDuration,
    /// `log.cleaner.backoff.ms`: how often the cleaner looks for dirty logs.
    pub log_cleaner_backoff: SimDuration,
    /// `broker.heartbeat.interval.ms`: how often the broker heartbeats to the controller.
    pub heartbeat_interval: SimDuration,
    /// `replica.fetch.max.bytes`: per partition in a follower fetch.
    pub replica_fetch_max_bytes: u32,
    /// `replica.fetch.response.max.bytes`: per follower fetch response.
    pub replica_fetch_response_max_bytes: u32,
    /// `log.flush.scheduler.interval.ms`: how often the log flusher checks `flush.ms`
    /// (`None`: the default, `Long.MAX_VALUE`, never).
    pub log_flush_scheduler_interval: Option<SimDuration>,
    /// `num.io.threads`: request handler threads.
    pub num_io_threads: u32,
    /// `queued.max.requests`: the request queue's capacity; when full, connections are not read.
    pub queued_max_requests: usize,
}

/// Kafka's check that one property's value is not above another's (or, `strict`, below it).
fn not_above(props: &Props, name: &str, limit: &str, strict: bool) -> Result<(), PropertyError> {
    let (value, bound) = (props.int(name), props.int(limit));
    if value < bound || (!strict && value == bound) {
        return Ok(());
    }
    let relation = if strict { "below" } else { "at most" };
    Err(PropertyError::InvalidValue {
        name: name.into(),
        value: value.to_string(),
        expected: format!("{relation} {limit} ({bound})"),
    })
}

impl BrokerConfig {
    /// `KafkaConfig`'s cross-property checks: a follower's fetch wait fits within its socket
    /// timeout and within the ISR's lag bound.
    pub fn validate(props: &Props) -> Result<(), PropertyError> {
        not_above(props, "replica.fetch.wait.max.ms", "replica.socket.timeout.ms", false)?;
        not_above(props, "replica.fetch.wait.max.ms", "replica.lag.time.max.ms", false)
    }

    /// Reads validated broker properties, with defaults.
    pub fn from_props(props: &Props) -> BrokerConfig {
        BrokerConfig {
            replica_lag_time_max: props.ms("replica.lag.time.max.ms"),
            replica_fetch_wait_max: props.ms("replica.fetch.wait.max.ms"),
            replica_fetch_min_bytes: props.int("replica.fetch.min.bytes") as u32,
            replica_fetch_backoff: props.ms("replica.fetch.backoff.ms"),
            replica_socket_timeout: props.ms("replica.socket.timeout.ms"),
            min_insync_replicas: props.int("min.insync.replicas") as u32,
            log_retention_check_interval: props.ms("log.retention.check.interval.ms"),
            log_initial_task_delay: props.ms("log.initial.task.delay.ms"),
            log_cleaner_backoff: props.ms("log.cleaner.backoff.ms"),
            heartbeat_interval: props.ms("broker.heartbeat.interval.ms"),
            replica_fetch_max_bytes: props.int("replica.fetch.max.bytes") as u32,
            replica_fetch_response_max_bytes: props.int("replica.fetch.response.max.bytes") as u32,
            log_flush_scheduler_interval: match props.int("log.flush.scheduler.interval.ms") {
                i64::MAX => None,
                ms => Some(SimDuration::from_ms(ms as u64)),
            },
            num_io_threads: props.int("num.io.threads") as u32,
            queued_max_requests: props.int("queued.max.requests") as usize,
        }
    }
}

/// The controller's settings, read from the brokers' properties (the controller of a combined
/// KRaft node shares them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// `broker.session.timeout.ms`: a broker silent this long is fenced.
    pub session_timeout: SimDuration,
    /// `unclean.leader.election.enable` (the broker default; topics may override).
    pub unclean_leader_election: bool,
    /// `auto.leader.rebalance.enable`.
    pub auto_leader_rebalance: bool,
    /// `leader.imbalance.check.interval.seconds`.
    pub leader_imbalance_check_interval: SimDuration,
}

/// How long after it is sent a client's request expires, for a `request.timeout.ms` of
/// `timeout`: the timeout itself, but at least a millisecond. The simulator expires a request
/// exactly `timeout` after it left; Kafka's `NetworkClient` does once *more than* the timeout
/// has passed, on a millisecond clock, up to a millisecond later (kept as it is for every other
/// value, so their runs do not change). For 0 the difference matters: expiring at the instant
/// it left, a timed-out metadata request was sent again and expired again forever without the
/// clock moving, until the event queue's bound stopped the run.
pub fn request_expiry(timeout: SimDuration) -> SimDuration {
    timeout.max(SimDuration::from_ms(1))
}

impl ControllerConfig {
    /// Reads validated broker properties, with defaults.
    pub fn from_props(props: &Props) -> ControllerConfig {
        ControllerConfig {
            session_timeout: props.ms("broker.session.timeout.ms"),
            unclean_leader_election: props.flag("unclean.leader.election.enable"),
            auto_leader_rebalance: props.flag("auto.leader.rebalance.enable"),
            leader_imbalance_check_interval: SimDuration::from_ms(
                // Saturating, as `from_ms` is: the largest accepted value means never.
                (props.int("leader.imbalance.check.interval.seconds").max(1) as u64).saturating_mul(1000),
            ),
        }
    }
}

/// Topic-level log property → the broker `log.*` property that supplies its default.
const LOG_PROPERTIES: &[(&str, &str)] = &[
    ("segment.bytes", "log.segment.bytes"),
    ("segment.ms", "log.roll.ms"),
    ("segment.index.bytes", "log.index.size.max.bytes"),
    ("index.interval.bytes", "log.index.interval.bytes"),
    ("retention.ms", "log.retention.ms"),
    ("retention.bytes", "log.retention.bytes"),
    ("cleanup.policy", "log.cleanup.policy"),
    ("delete.retention.ms", "log.cleaner.delete.retention.ms"),
    ("min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio"),
    ("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms"),
    ("max.message.bytes", "message.max.bytes"),
    ("flush.messages", "log.flush.interval.messages"),
];

/// The effective value of a topic log property: the topic's override, else the broker's
/// `log.*` setting, else the default. `flush.ms` falls back to `log.flush.interval.ms` and, when
/// that is not set either, to `log.flush.scheduler.interval.ms` (Kafka's documented fallback).
fn log_value<'a>(topic: &'a Props, broker: &'a Props, name: &str) -> &'a str {
    if name == "flush.ms" {
        let broker_value =
            broker.get("log.flush.interval.ms").unwrap_or_else(|| broker.raw("log.flush.scheduler.interval.ms"));
        return topic.get(name).unwrap_or(broker_value);
    }
    let broker_name = LOG_PROPERTIES.iter().find(|(t, _)| *t == name).map(|(_, b)| *b).expect("a log property");
    topic.get(name).unwrap_or_else(|| broker.raw(broker_name))
}

/// Log settings of a topic on a broker (shared/reference §5, §8).
pub fn log_config(topic: &Props, broker: &Props) -> LogConfig {
    let int = |name: &str| log_value(topic, broker, name).parse::<i64>().expect("validated integer");
    let policy = log_value(topic, broker, "cleanup.policy");
    LogConfig {
        segment_bytes: int("segment.bytes") as u32,
        segment_ms: int("segment.ms"),
        segment_index_bytes: int("segment.index.bytes") as u32,
        index_interval_bytes: int("index.interval.bytes") as u32,
        retention_ms: int("retention.ms"),
        retention_bytes: int("retention.bytes"),
        cleanup_policy: CleanupPolicy { delete: policy.contains("delete"), compact: policy.contains("compact") },
        delete_retention_ms: int("delete.retention.ms"),
        min_cleanable_dirty_ratio: parse_fraction(log_value(topic, broker, "min.cleanable.dirty.ratio"))
            .expect("validated fraction"),
        min_compaction_lag_ms: int("min.compaction.lag.ms"),
        max_message_bytes: int("max.message.bytes") as u32,
        flush_messages: int("flush.messages"),
        flush_ms: int("flush.ms"),
    }
}

/// Topic settings the model honours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicConfig {
    /// `min.insync.replicas`, when the topic overrides the broker's.
    pub min_insync_replicas: Option<u32>,
    /// `unclean.leader.election.enable`, when the topic overrides the broker's.
    pub unclean_leader_election: Option<bool>,
}

impl TopicConfig {
    /// Reads validated topic properties.
    pub fn from_props(props: &Props) -> TopicConfig {
        TopicConfig {
            min_insync_replicas: props.get("min.insync.replicas").map(|_| props.int("min.insync.replicas") as u32),
            unclean_leader_election: props
                .get("unclean.leader.election.enable")
                .map(|_| props.flag("unclean.leader.election.enable")),
        }
    }
}

/// Where a consumer starts when it has no position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetReset {
    /// `earliest`: the log start.
    Earliest,
    /// `latest`: the high watermark.
    Latest,
    /// `none`: `NoOffsetForPartitionException`.
    None,
}

/// Consumer settings the model honours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// `fetch.min.bytes`.
    pub fetch_min_bytes: u32,
    /// `fetch.max.wait.ms`.
    pub fetch_max_wait: SimDuration,
    /// `auto.offset.reset`.
    pub auto_offset_reset: OffsetReset,
    /// `request.timeout.ms`.
    pub request_timeout: SimDuration,
    /// `retry.backoff.ms`.
    pub retry_backoff: SimDuration,
    /// `reconnect.backoff.ms`.
    pub reconnect_backoff: SimDuration,
    /// `reconnect.backoff.max.ms`.
    pub reconnect_backoff_max: SimDuration,
    /// `fetch.max.bytes`: per fetch response.
    pub fetch_max_bytes: u32,
    /// `max.partition.fetch.bytes`: per partition.
    pub max_partition_fetch_bytes: u32,
    /// `group.id`, if set.
    pub group_id: Option<String>,
    /// `client.id` (the node name when not set).
    pub client_id: String,
    /// `session.timeout.ms`.
    pub session_timeout: SimDuration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: SimDuration,
    /// `max.poll.interval.ms`.
    pub max_poll_interval: SimDuration,
    /// `max.poll.records`.
    pub max_poll_records: u32,
    /// `enable.auto.commit`.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval: SimDuration,
    /// `partition.assignment.strategy`, in preference order.
    pub assignors: Vec<Assignor>,
    /// `check.crcs`.
    pub check_crcs: bool,
}

impl ConsumerConfig {
    /// The consumer's cross-property check (`GroupRebalanceConfig`, Kafka's `Heartbeat`):
    /// heartbeats come more often than the session times out.
    pub fn validate(props: &Props) -> Result<(), PropertyError> {
        not_above(props, "heartbeat.interval.ms", "session.timeout.ms", true)
    }

    /// Reads validated consumer properties, with defaults.
    pub fn from_props(props: &Props) -> ConsumerConfig {
        ConsumerConfig {
            fetch_min_bytes: props.int("fetch.min.bytes") as u32,
            fetch_max_wait: props.ms("fetch.max.wait.ms"),
            auto_offset_reset: match props.raw("auto.offset.reset") {
                "earliest" => OffsetReset::Earliest,
                "none" => OffsetReset::None,
                _ => OffsetReset::Latest,
            },
            request_timeout: props.ms("request.timeout.ms"),
            retry_backoff: props.ms("retry.backoff.ms"),
            reconnect_backoff: props.ms("reconnect.backoff.ms"),
            reconnect_backoff_max: props.ms("reconnect.backoff.max.ms"),
            fetch_max_bytes: props.int("fetch.max.bytes") as u32,
            max_partition_fetch_bytes: props.int("max.partition.fetch.bytes") as u32,
            group_id: Some(props.raw("group.id")).filter(|g| !g.is_empty()).map(str::to_string),
            client_id: props.raw("client.id").to_string(),
            session_timeout: props.ms("session.timeout.ms"),
            heartbeat_interval: props.ms("heartbeat.interval.ms"),
            max_poll_interval: props.ms("max.poll.interval.ms"),
            max_poll_records: props.int("max.poll.records") as u32,
            enable_auto_commit: props.flag("enable.auto.commit"),
            auto_commit_interval: props.ms("auto.commit.interval.ms"),
            assignors: props.raw("partition.assignment.strategy").split(',').filter_map(assignor_of_class).collect(),
            check_crcs: props.flag("check.crcs"),
        }
    }
}

/// The assignor a `partition.assignment.strategy` class names.
pub fn assignor_of_class(class: &str) -> Option<Assignor> {
    match class.trim().rsplit('.').next()? {
        "RangeAssignor" => Some(Assignor::Range),
        "RoundRobinAssignor" => Some(Assignor::RoundRobin),
        "StickyAssignor" => Some(Assignor::Sticky),
        "CooperativeStickyAssignor" => Some(Assignor::CooperativeSticky),
        _ => None,
    }
}

impl super::group::coordinator::CoordinatorConfig {
    /// Reads the group coordinator's broker properties.
    pub fn from_props(props: &Props) -> Self {
        Self {
            offsets_partitions: props.int("offsets.topic.num.partitions") as u32,
            initial_rebalance_delay: props.ms("group.initial.rebalance.delay.ms"),
            min_session_timeout: props.ms("group.min.session.timeout.ms"),
            max_session_timeout: props.ms("group.max.session.timeout.ms"),
            commit_timeout: props.ms("offsets.commit.timeout.ms"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn defaults_are_kafka_4_0() {
        let p = ProducerConfig::from_props(&Props::empty(Scope::Producer));
        assert_eq!(p.acks, Acks::All);
        assert_eq!(p.batch_size_bytes, 16384);
        assert_eq!(p.linger, SimDuration::from_ms(5));
        assert_eq!(p.in_flight_requests_max, 5);
        let b = BrokerConfig::from_props(&Props::empty(Scope::Broker));
        assert_eq!(b.replica_lag_time_max, SimDuration::from_ms(30000));
        assert_eq!(b.min_insync_replicas, 1);
        let c = ConsumerConfig::from_props(&Props::empty(Scope::Consumer));
        assert_eq!(c.auto_offset_reset, OffsetReset::Latest);
        assert_eq!(c.fetch_max_wait, SimDuration::from_ms(500));
    }

    #[test]
    fn set_values_are_typed_and_normalised() {
        let mut p = Props::empty(Scope::Producer);
        p.set("acks", "ALL").unwrap();
        p.set("linger.ms", " 20 ").unwrap();
        p.set("batch.size", "0").unwrap();
        let c = ProducerConfig::from_props(&p);
        assert_eq!((c.acks, c.linger, c.batch_size_bytes), (Acks::All, SimDuration::from_ms(20), 0));
        assert_eq!(p.get("acks"), Some("all"));
    }

    #[test]
    fn refusals_name_the_property() {
        let mut p = Props::empty(Scope::Producer);
        assert_eq!(p.set("compression.type", "lz4").unwrap_err().to_string(), "unsupported: compression.type");
        assert!(p.set("interceptor.classes", "x").unwrap_err().to_string().contains("not x"));
        assert_eq!(p.set("value.serializer", "x").unwrap_err().to_string().split(':').next(), Some("value.serializer"));
        assert_eq!(
            p.set("lingr.ms", "5").unwrap_err().to_string(),
            "unknown producer property \"lingr.ms\" (did you mean \"linger.ms\"?)"
        );
        assert_eq!(
            p.set("acks", "2").unwrap_err().to_string(),
            "acks: invalid value \"2\": expected one of 0, 1, -1, all"
        );
        assert!(p.set("linger.ms", "-1").unwrap_err().to_string().contains("an integer in [0, "));
    }

    #[test]
    fn the_largest_imbalance_interval_in_seconds_saturates() {
        // Found by replacing every scenario value with extremes: seconds × 1000 overflowed.
        let mut p = Props::empty(Scope::Broker);
        p.set("leader.imbalance.check.interval.seconds", &i64::MAX.to_string()).unwrap();
        assert_eq!(ControllerConfig::from_props(&p).leader_imbalance_check_interval, SimDuration::from_ms(u64::MAX));
        // 2^61 s × 1000 is exactly 2^64 ms: a wrapping product would be 0.
        p.set("leader.imbalance.check.interval.seconds", &(1u64 << 61).to_string()).unwrap();
        assert_eq!(ControllerConfig::from_props(&p).leader_imbalance_check_interval, SimDuration::from_ms(u64::MAX));
        p.set("leader.imbalance.check.interval.seconds", "300").unwrap();
        assert_eq!(ControllerConfig::from_props(&p).leader_imbalance_check_interval, SimDuration::from_ms(300_000));
    }

    #[test]
    fn log_config_prefers_topic_then_broker_then_default() {
        let mut topic = Props::empty(Scope::Topic);
        let mut broker = Props::empty(Scope::Broker);
        assert_eq!(log_config(&topic, &broker), LogConfig::default());
        broker.set("log.retention.ms", "1000").unwrap();
        broker.set("log.segment.bytes", "2000000").unwrap();
        topic.set("retention.ms", "5").unwrap();
        topic.set("cleanup.policy", "compact,delete").unwrap();
        topic.set("min.cleanable.dirty.ratio", "0.25").unwrap();
        let c = log_config(&topic, &broker);
        assert_eq!((c.retention_ms, c.segment_bytes), (5, 2_000_000));
        assert_eq!(c.cleanup_policy, CleanupPolicy { delete: true, compact: true });
        assert_eq!(c.min_cleanable_dirty_ratio, (1, 4));
        assert_eq!(
            topic.set("segment.bytes", "1000").unwrap_err().to_string(),
            "segment.bytes: invalid value \"1000\": expected an integer in [1048576, 2147483647]"
        );
    }

    #[test]
    fn idempotence_is_validated_like_kafka() {
        let with = |pairs: &[(&str, &str)]| {
            let mut p = Props::empty(Scope::Producer);
            for (k, v) in pairs {
                p.set(k, v).unwrap();
            }
            (ProducerConfig::validate(&p), ProducerConfig::from_props(&p))
        };
        assert!(with(&[]).1.idempotence, "on by default");
        let (ok, c) = with(&[("acks", "1")]);
        assert!(ok.is_ok() && !c.idempotence, "silently disabled when not set explicitly");
        let (err, _) = with(&[("acks", "1"), ("enable.idempotence", "true")]);
        assert_eq!(
            err.unwrap_err().to_string(),
            "enable.idempotence: invalid value \"true\": expected acks=all (acks is not all)"
        );
        assert!(with(&[("max.in.flight.requests.per.connection", "6"), ("enable.idempotence", "true")]).0.is_err());
        assert!(!with(&[("max.in.flight.requests.per.connection", "6")]).1.idempotence);
        let (err, _) = with(&[("delivery.timeout.ms", "1000"), ("linger.ms", "500"), ("request.timeout.ms", "600")]);
        assert!(err.unwrap_err().to_string().contains("at least linger.ms + request.timeout.ms (1100)"));
        let (_, c) = with(&[("linger.ms", "100000"), ("request.timeout.ms", "50000")]);
        assert_eq!(c.delivery_timeout, SimDuration::from_ms(150_000), "raised silently when unset");
    }

    #[test]
    fn fractions_are_exact() {
        assert_eq!(parse_fraction("0.5"), Some((1, 2)));
        assert_eq!(parse_fraction("1"), Some((1, 1)));
        assert_eq!(parse_fraction("0"), Some((0, 1)));
        assert_eq!(parse_fraction(".75"), Some((3, 4)));
        assert_eq!(parse_fraction("1.5"), None);
        assert_eq!(parse_fraction("-0.1"), None);
        assert_eq!(parse_fraction("abc"), None);
    }

    #[test]
    fn every_modelled_property_has_a_valid_default() {
        for spec in PROPERTIES.iter().filter(|p| p.support == Support::Modelled) {
            check_value(spec, spec.default).unwrap_or_else(|e| panic!("default of {}: {e}", spec.name));
        }
    }

    #[test]
    fn each_property_is_defined_once_per_scope() {
        for (i, a) in PROPERTIES.iter().enumerate() {
            assert!(
                !PROPERTIES[i + 1..].iter().any(|b| b.name == a.name && b.scope == a.scope),
                "{} twice in one scope",
                a.name
            );
        }
    }

    #[test]
    fn real_kafka_properties_the_model_lacks_are_unsupported_not_unknown() {
        let cases = [
            (Scope::Broker, "log.retention.minutes"),
            (Scope::Broker, "num.replica.fetchers"),
            (Scope::Broker, "request.timeout.ms"),
            (Scope::Topic, "remote.storage.enable"),
            (Scope::Topic, "follower.replication.throttled.replicas"),
            (Scope::Producer, "compression.gzip.level"),
            (Scope::Producer, "security.protocol"),
            (Scope::Consumer, "metadata.max.age.ms"),
        ];
        for (scope, name) in cases {
            let err = Props::empty(scope).set(name, "1").unwrap_err().to_string();
            assert_eq!(err, format!("unsupported: {name}"));
        }
    }
}
