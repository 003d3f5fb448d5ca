//! A run as a link: the recorded actions and the position in the compact text form the app's
//! URL carries (`actions=` and `t=`), and the query string that reopens a run exactly.
//!
//! One action is `STEPS,AT_NS,VERB[,ARG…]` (the events processed before it, the simulated time
//! in ns, what); actions are joined with `~`. Verbs:
//!
//! | verb | arguments | action |
//! |---|---|---|
//! | `crash` | broker, `process`/`machine` | crash a broker |
//! | `restart` | broker | restart it |
//! | `cut` / `heal` | from, to, `both`/`one` | cut or heal a link (node names) |
//! | `healall` | | heal every link |
//! | `link` | from, to, `both`/`one`, latency ns, jitter ns, loss (`n/d`) | set a link's behaviour |
//! | `join` / `leave` / `ccrash` | consumer | a consumer starts, leaves, dies |
//! | `config` | node or `topic:NAME`, property, value | change a Kafka property |
//!
//! Strings are percent-encoded (everything but `A–Z a–z 0–9 . _ -`). The position is
//! `t=TICK,NS`: events processed plus actions applied, and the clock.

use crate::sim::net::LinkConfig;
use crate::sim::node::NodeId;
use crate::sim::rng::Ratio;
use crate::sim::scenario::{Action, ConfigTarget, CrashKind};
use crate::sim::time::{SimDuration, SimTime};
use crate::timeline::RecordedAction;
use std::fmt::Write;

/// Encodes recorded actions for the `actions=` parameter.
pub fn encode_actions(actions: &[RecordedAction]) -> String {
    let items: Vec<String> = actions.iter().map(encode_action).collect();
    items.join("~")
}

fn encode_action(a: &RecordedAction) -> String {
    let both = |b: bool| if b { "both" } else { "one" };
    let what = match &a.action {
        Action::CrashBroker { broker, kind } => {
            format!("crash,{broker},{}", if *kind == CrashKind::Machine { "machine" } else { "process" })
        }
        Action::RestartBroker { broker } => format!("restart,{broker}"),
        Action::CutLink { from, to, both: b } => format!("cut,{from},{to},{}", both(*b)),
        Action::HealLink { from, to, both: b } => format!("heal,{from},{to},{}", both(*b)),
        Action::HealAll => "healall".to_string(),
        Action::SetLink { from, to, both: b, link } => {
            format!("link,{from},{to},{},{},{},{}", both(*b), link.latency.as_ns(), link.jitter.as_ns(), link.loss)
        }
        Action::ConsumerJoin { consumer } => format!("join,{consumer}"),
        Action::ConsumerLeave { consumer } => format!("leave,{consumer}"),
        Action::ConsumerCrash { consumer } => format!("ccrash,{consumer}"),
        Action::ConfigChange { target, property, value } => {
            let target = match target {
                ConfigTarget::Node(n) => n.to_string(),
                ConfigTarget::Topic(t) => format!("topic:{}", escape(t)),
            };
            format!("config,{target},{},{}", escape(property), escape(value))
        }
    };
    format!("{},{},{what}", a.steps, a.at.as_ns())
}

/// Parses the `actions=` parameter; the error names the item (0-based) and its field.
pub fn parse_actions(text: &str) -> Result<Vec<RecordedAction>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split('~').enumerate().map(|(i, item)| parse_action(item).map_err(|e| format!("item {i}: {e}"))).collect()
}

fn parse_action(item: &str) -> Result<RecordedAction, String> {
    let mut f = Fields { parts: item.split(',').collect(), next: 0 };
    let steps = f.number("events before it")?;
    let at = SimTime::from_ns(f.number("time")?);
    let verb = f.text("verb")?;
    let action = match verb {
        "crash" => {
            let broker = f.broker()?;
            let kind = match f.text("crash kind")? {
                "process" => CrashKind::Process,
                "machine" => CrashKind::Machine,
                other => return Err(format!("crash kind {other:?} is not process or machine")),
            };
            Action::CrashBroker { broker, kind }
        }
        "restart" => Action::RestartBroker { broker: f.broker()? },
        "cut" | "heal" => {
            let (from, to, both) = (f.node()?, f.node()?, f.both()?);
            if verb == "cut" {
                Action::CutLink { from, to, both }
            } else {
                Action::HealLink { from, to, both }
            }
        }
        "healall" => Action::HealAll,
        "link" => {
            let (from, to, both) = (f.node()?, f.node()?, f.both()?);
            let latency = SimDuration::from_ns(f.number("latency")?);
            let jitter = SimDuration::from_ns(f.number("jitter")?);
            let loss_text = f.text("loss")?;
            let loss = Ratio::parse(loss_text).ok_or_else(|| format!("loss {loss_text:?} is not a ratio n/d ≤ 1"))?;
            Action::SetLink { from, to, both, link: LinkConfig { latency, jitter, loss } }
        }
        "join" => Action::ConsumerJoin { consumer: f.node()? },
        "leave" => Action::ConsumerLeave { consumer: f.node()? },
        "ccrash" => Action::ConsumerCrash { consumer: f.node()? },
        "config" => {
            let target = f.text("target")?;
            let target = match target.strip_prefix("topic:") {
                Some(topic) => ConfigTarget::Topic(unescape(topic)?),
                None => ConfigTarget::Node(target.parse().map_err(|e| format!("target: {e}"))?),
            };
            let property = unescape(f.text("property")?)?;
            let value = unescape(f.text("value")?)?;
            Action::ConfigChange { target, property, value }
        }
        other => return Err(format!("unknown verb {other:?}")),
    };
    if f.next < f.parts.len() {
        return Err(format!("{} field(s) too many for {verb:?}", f.parts.len() - f.next));
    }
    Ok(RecordedAction { steps, at, action })
}

/// The comma-separated fields of one action, read in order.
struct Fields<'a> {
    parts: Vec<&'a str>,
    next: usize,
}

impl<'a> Fields<'a> {
    fn text(&mut self, what: &str) -> Result<&'a str, String> {
        let part = self.parts.get(self.next).copied().ok_or_else(|| format!("{what} is missing"))?;
        self.next += 1;
        Ok(part)
    }

    fn number(&mut self, what: &str) -> Result<u64, String> {
        let text = self.text(what)?;
        text.parse().map_err(|_| format!("{what} {text:?} is not a whole number"))
    }

    fn broker(&mut self) -> Result<u16, String> {
        let text = self.text("broker")?;
        text.parse().map_err(|_| format!("broker {text:?} is not a broker id"))
    }

    fn node(&mut self) -> Result<NodeId, String> {
        self.text("node")?.parse().map_err(|e: crate::sim::node::ParseNodeIdError| e.to_string())
    }

    fn both(&mut self) -> Result<bool, String> {
        match self.text("direction")? {
            "both" => Ok(true),
            "one" => Ok(false),
            other => Err(format!("direction {other:?} is not both or one")),
        }
    }
}

/// Parses `t=TICK,NS`.
pub fn parse_position(text: &str) -> Result<(u64, SimTime), String> {
    let (tick, ns) = text.split_once(',').ok_or("expected TICK,NS (events processed, clock in ns)")?;
    let tick = tick.parse().map_err(|_| format!("tick {tick:?} is not a whole number"))?;
    let ns = ns.parse().map_err(|_| format!("clock {ns:?} is not a whole number of ns"))?;
    Ok((tick, SimTime::from_ns(ns)))
}

/// Base64url without padding (RFC 4648 §5): how a link carries a scenario file.
pub fn base64url_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes [`base64url_encode`]'s text; the error names the first bad character's position.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>, String> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    };
    if text.len() % 4 == 1 {
        return Err(format!("{} characters is not a base64url length", text.len()));
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for (c, chunk) in text.as_bytes().chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            let v = value(*b).ok_or_else(|| format!("character {} ({:?}) is not base64url", c * 4 + i, *b as char))?;
            n |= u32::from(v) << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Ok(out)
}

/// Everything a link carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunLink {
    /// Built-in scenario id (ignored when `scenario_json` is set).
    pub scenario: String,
    /// A scenario file's JSON (minified), carried whole in the link.
    pub scenario_json: Option<String>,
    /// Seed.
    pub seed: Option<u64>,
    /// Speed slider exponent.
    pub speed_exp: Option<i32>,
    /// Recorded actions.
    pub actions: Vec<RecordedAction>,
    /// Position: ticks and clock.
    pub position: Option<(u64, SimTime)>,
}

impl RunLink {
    /// The query string (with `?`) that reopens this run.
    pub fn to_query(&self) -> String {
        let mut q = match &self.scenario_json {
            Some(json) => format!("?scenario_json={}", base64url_encode(json.as_bytes())),
            None => format!("?scenario={}", escape(&self.scenario)),
        };
        if let Some(seed) = self.seed {
            let _ = write!(q, "&seed={seed}");
        }
        if let Some(speed) = self.speed_exp {
            let _ = write!(q, "&speed={speed}");
        }
        if let Some((tick, at)) = self.position {
            let _ = write!(q, "&t={tick},{}", at.as_ns());
        }
        if !self.actions.is_empty() {
            let _ = write!(q, "&actions={}", encode_actions(&self.actions));
        }
        q
    }
}

fn escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn unescape(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(|| format!("{text:?}: % needs two hex digits"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("{text:?}: %{hex} is not hex"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn rec(steps: u64, ms: u64, action: Action) -> RecordedAction {
        RecordedAction { steps, at: SimTime::from_ms(ms), action }
    }

    #[test]
    fn every_action_round_trips() {
        let (b1, c1) = (NodeId::broker(1), NodeId::consumer(1));
        let link = LinkConfig {
            latency: SimDuration::from_ms(250),
            jitter: SimDuration::from_ns(7),
            loss: Ratio::new(1, 10).unwrap(),
        };
        let actions = vec![
            rec(10, 5, Action::CrashBroker { broker: 2, kind: CrashKind::Machine }),
            rec(11, 5, Action::CrashBroker { broker: 3, kind: CrashKind::Process }),
            rec(500, 900, Action::RestartBroker { broker: 2 }),
            rec(501, 900, Action::CutLink { from: b1, to: NodeId::broker(2), both: true }),
            rec(502, 901, Action::HealLink { from: b1, to: NodeId::broker(2), both: false }),
            rec(503, 902, Action::HealAll),
            rec(504, 903, Action::SetLink { from: NodeId::producer(1), to: b1, both: true, link }),
            rec(505, 904, Action::ConsumerJoin { consumer: c1 }),
            rec(506, 905, Action::ConsumerLeave { consumer: c1 }),
            rec(507, 906, Action::ConsumerCrash { consumer: c1 }),
            rec(
                508,
                907,
                Action::ConfigChange {
                    target: ConfigTarget::Topic("a topic,~%".into()),
                    property: "retention.ms".into(),
                    value: "1 000 ü".into(),
                },
            ),
            rec(
                509,
                908,
                Action::ConfigChange { target: ConfigTarget::Node(b1), property: "x".into(), value: String::new() },
            ),
        ];
        let text = encode_actions(&actions);
        assert!(text.starts_with("10,5000000,crash,2,machine~11,5000000,crash,3,process~"), "{text}");
        assert!(text.contains("topic:a%20topic%2C%7E%25,retention.ms,1%20000%20%C3%BC"), "{text}");
        assert_eq!(parse_actions(&text).unwrap(), actions);
        assert_eq!(parse_actions("").unwrap(), vec![]);
    }

    #[test]
    fn bad_items_are_named() {
        let cases = [
            ("1,2,crash,2,power", "item 0: crash kind \"power\" is not process or machine"),
            ("1,2,restart,2~x,2,healall", "item 1: events before it \"x\" is not a whole number"),
            ("1,2,cut,broker-1,node-2,both", "item 0: not a node name: \"node-2\""),
            ("1,2,healall,extra", "item 0: 1 field(s) too many for \"healall\""),
            ("1,2,link,broker-1,broker-2,both,5,0,3/2", "item 0: loss \"3/2\" is not a ratio"),
            ("1,2,config,topic:t,p,%zz", "item 0: \"%zz\": %zz is not hex"),
            ("1,2,explode", "item 0: unknown verb \"explode\""),
            ("1", "item 0: time is missing"),
        ];
        for (text, start) in cases {
            let e = parse_actions(text).unwrap_err();
            assert!(e.starts_with(start), "{text}: {e}");
        }
    }

    #[test]
    fn base64url_round_trips_and_names_a_bad_character() {
        // RFC 4648 test vectors, without padding.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url_encode(plain.as_bytes()), coded);
            assert_eq!(base64url_decode(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url_decode(&base64url_encode(&all)).unwrap(), all);
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_decode("Zm9v+mE").unwrap_err(), "character 4 ('+') is not base64url");
        assert!(base64url_decode("Zm9vY").unwrap_err().contains("not a base64url length"));
    }

    #[test]
    fn the_link_carries_position_and_actions() {
        let link = RunLink {
            scenario_json: None,
            scenario: "leader-failover".into(),
            seed: Some(7),
            speed_exp: Some(-150),
            actions: vec![rec(3, 4, Action::RestartBroker { broker: 1 })],
            position: Some((1234, SimTime::from_ns(5_000_000_001))),
        };
        assert_eq!(
            link.to_query(),
            "?scenario=leader-failover&seed=7&speed=-150&t=1234,5000000001&actions=3,4000000,restart,1"
        );
        assert_eq!(parse_position("1234,5000000001").unwrap(), (1234, SimTime::from_ns(5_000_000_001)));
        assert!(parse_position("12").unwrap_err().contains("TICK,NS"));
    }
}
