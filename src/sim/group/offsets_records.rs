//! The records a group coordinator writes to `__consumer_offsets`, in Kafka's schemas
//! (`OffsetCommitKey` v1 / `OffsetCommitValue` v3, `GroupMetadataKey` v2 / `GroupMetadataValue`
//! v3; member subscriptions as `ConsumerProtocolSubscription` v2 and assignments as
//! `ConsumerProtocolAssignment` v0). A new coordinator replays them to rebuild its groups.

use super::assignor::Subscription;
use crate::sim::protocol::{topic_name, Tp};
use crate::sim::vec_map::VecMap;

/// One committed offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommit {
    /// `group.id`.
    pub group: String,
    /// The partition.
    pub tp: Tp,
    /// The next offset to consume.
    pub offset: i64,
    /// When it was committed (ms).
    pub commit_timestamp: i64,
}

/// A member as stored with its group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMember {
    /// Member id.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// `max.poll.interval.ms`.
    pub rebalance_timeout_ms: i32,
    /// `session.timeout.ms`.
    pub session_timeout_ms: i32,
    /// Subscription under the group's protocol.
    pub subscription: Subscription,
    /// Assigned partitions.
    pub assignment: Vec<Tp>,
}

/// A group's state after a completed rebalance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMetadata {
    /// `group.id`.
    pub group: String,
    /// Generation.
    pub generation: i32,
    /// The chosen assignor.
    pub protocol: Option<String>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// When it was written (ms).
    pub timestamp: i64,
    /// Members (empty for an Empty group).
    pub members: Vec<StoredMember>,
}

/// A decoded `__consumer_offsets` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffsetsRecord {
    /// An offset commit (value `None`: a tombstone).
    Commit {
        /// Group.
        group: String,
        /// Partition.
        tp: Tp,
        /// The commit, unless deleted.
        value: Option<OffsetCommit>,
    },
    /// Group metadata (value `None`: the group was deleted).
    Group {
        /// Group.
        group: String,
        /// The metadata, unless deleted.
        value: Option<GroupMetadata>,
    },
}

/// Why a stored record could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("__consumer_offsets record: {0}")]
pub struct OffsetsRecordError(String);

// ----- writing -----

struct W(Vec<u8>);

impl W {
    fn i16(&mut self, v: i16) -> &mut W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i32(&mut self, v: i32) -> &mut W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i64(&mut self, v: i64) -> &mut W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn str(&mut self, s: &str) -> &mut W {
        self.i16(s.len() as i16);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn nullable_str(&mut self, s: Option<&str>) -> &mut W {
        match s {
            Some(s) => self.str(s),
            None => self.i16(-1),
        }
    }
    fn bytes(&mut self, b: Option<&[u8]>) -> &mut W {
        match b {
            Some(b) => {
                self.i32(b.len() as i32);
                self.0.extend_from_slice(b);
                self
            }
            None => self.i32(-1),
        }
    }
    fn topic_partitions(&mut self, tps: &[(String, u32)]) -> &mut W {
        let mut by_topic: VecMap<&str, Vec<u32>> = VecMap::new();
        for (t, p) in tps {
            by_topic.entry(t).or_default().push(*p);
        }
        self.i32(by_topic.len() as i32);
        for (t, ps) in by_topic {
            self.str(t).i32(ps.len() as i32);
            for p in ps {
                self.i32(p as i32);
            }
        }
        self
    }
}

/// The key of an offset commit.
pub fn commit_key(group: &str, tp: &Tp) -> Vec<u8> {
    let mut w = W(Vec::new());
    w.i16(1).str(group).str(&tp.topic).i32(tp.partition as i32);
    w.0
}

/// The value of an offset commit (leader epoch unknown: -1; no metadata).
pub fn commit_value(c: &OffsetCommit) -> Vec<u8> {
    let mut w = W(Vec::new());
    w.i16(3).i64(c.offset).i32(-1).str("").i64(c.commit_timestamp);
    w.0
}

/// The key of a group's metadata.
pub fn group_key(group: &str) -> Vec<u8> {
    let mut w = W(Vec::new());
    w.i16(2).str(group);
    w.0
}

/// The value of a group's metadata.
pub fn group_value(g: &GroupMetadata) -> Vec<u8> {
    let mut w = W(Vec::new());
    w.i16(3).str("consumer").i32(g.generation).nullable_str(g.protocol.as_deref());
    w.nullable_str(g.leader.as_deref()).i64(g.timestamp).i32(g.members.len() as i32);
    for m in &g.members {
        w.str(&m.member_id).nullable_str(m.group_instance_id.as_deref()).str(&m.client_id).str("/sim");
        w.i32(m.rebalance_timeout_ms).i32(m.session_timeout_ms);
        w.bytes(Some(&subscription_bytes(&m.subscription)));
        w.bytes(Some(&assignment_bytes(&m.assignment)));
    }
    w.0
}

/// `ConsumerProtocolSubscription` v2: topics, no user data, owned partitions, generation.
pub fn subscription_bytes(s: &Subscription) -> Vec<u8> {
    let mut w = W(Vec::new());
    w.i16(2).i32(s.topics.len() as i32);
    for t in &s.topics {
        w.str(t);
    }
    w.bytes(None).topic_partitions(&s.owned_partitions).i32(s.generation);
    w.0
}

/// `ConsumerProtocolAssignment` v0: partitions per topic, no user data.
pub fn assignment_bytes(tps: &[Tp]) -> Vec<u8> {
    let pairs: Vec<(String, u32)> = tps.iter().map(|tp| (tp.topic.to_string(), tp.partition)).collect();
    let mut w = W(Vec::new());
    w.i16(0).topic_partitions(&pairs).bytes(None);
    w.0
}

// ----- reading -----

struct R<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> R<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], OffsetsRecordError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| OffsetsRecordError(format!("{what} at byte {} runs past the end", self.pos)))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn i16(&mut self, what: &str) -> Result<i16, OffsetsRecordError> {
        Ok(i16::from_be_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    fn i32(&mut self, what: &str) -> Result<i32, OffsetsRecordError> {
        Ok(i32::from_be_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn i64(&mut self, what: &str) -> Result<i64, OffsetsRecordError> {
        Ok(i64::from_be_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    fn nullable_str(&mut self, what: &str) -> Result<Option<String>, OffsetsRecordError> {
        let at = self.pos;
        let len = self.i16(what)?;
        if len < 0 {
            return Ok(None);
        }
        let bytes = self.take(len as usize, what)?;
        let s =
            std::str::from_utf8(bytes).map_err(|_| OffsetsRecordError(format!("{what} at byte {at}: not UTF-8")))?;
        Ok(Some(s.to_string()))
    }
    fn str(&mut self, what: &str) -> Result<String, OffsetsRecordError> {
        let at = self.pos;
        self.nullable_str(what)?.ok_or_else(|| OffsetsRecordError(format!("{what} at byte {at} is null")))
    }
    fn count(&mut self, what: &str) -> Result<usize, OffsetsRecordError> {
        let at = self.pos;
        let n = self.i32(what)?;
        // Every element takes at least two bytes: a larger count cannot fit.
        if n < 0 || n as usize > self.buf.len() {
            return Err(OffsetsRecordError(format!("{what} count {n} at byte {at} is impossible")));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>, OffsetsRecordError> {
        let n = self.i32(what)?;
        if n < 0 {
            return Ok(None);
        }
        self.take(n as usize, what).map(Some)
    }
    fn topic_partitions(&mut self) -> Result<Vec<(String, u32)>, OffsetsRecordError> {
        let mut out = Vec::new();
        for _ in 0..self.count("topics")? {
            let topic = self.str("topic")?;
            for _ in 0..self.count("partitions")? {
                out.push((topic.clone(), self.i32("partition")?.max(0) as u32));
            }
        }
        Ok(out)
    }
    fn version(&mut self, allowed: &[i16], what: &str) -> Result<i16, OffsetsRecordError> {
        let v = self.i16(what)?;
        if allowed.contains(&v) {
            Ok(v)
        } else {
            Err(OffsetsRecordError(format!("{what} version {v} is not supported")))
        }
    }
}

/// Decodes one `__consumer_offsets` record.
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<OffsetsRecord, OffsetsRecordError> {
    let mut k = R { buf: key, pos: 0 };
    match k.version(&[0, 1, 2], "key")? {
        0 | 1 => {
            let group = k.str("group")?;
            let topic = topic_name(k.str("topic")?.as_str());
            let tp = Tp::new(&topic, k.i32("partition")?.max(0) as u32);
            let value = value.map(|v| decode_commit(&group, &tp, v)).transpose()?;
            Ok(OffsetsRecord::Commit { group, tp, value })
        }
        _ => {
            let group = k.str("group")?;
            let value = value.map(|v| decode_group(&group, v)).transpose()?;
            Ok(OffsetsRecord::Group { group, value })
        }
    }
}

fn decode_commit(group: &str, tp: &Tp, value: &[u8]) -> Result<OffsetCommit, OffsetsRecordError> {
    let mut r = R { buf: value, pos: 0 };
    r.version(&[3], "offset commit value")?;
    let offset = r.i64("offset")?;
    let _leader_epoch = r.i32("leader epoch")?;
    let _metadata = r.str("metadata")?;
    let commit_timestamp = r.i64("commit timestamp")?;
    Ok(OffsetCommit { group: group.to_string(), tp: tp.clone(), offset, commit_timestamp })
}

fn decode_group(group: &str, value: &[u8]) -> Result<GroupMetadata, OffsetsRecordError> {
    let mut r = R { buf: value, pos: 0 };
    r.version(&[3], "group metadata value")?;
    let _protocol_type = r.str("protocol type")?;
    let generation = r.i32("generation")?;
    let protocol = r.nullable_str("protocol")?;
    let leader = r.nullable_str("leader")?;
    let timestamp = r.i64("timestamp")?;
    let mut members = Vec::new();
    for _ in 0..r.count("members")? {
        let member_id = r.str("member id")?;
        let group_instance_id = r.nullable_str("group instance id")?;
        let client_id = r.str("client id")?;
        let _host = r.str("client host")?;
        let rebalance_timeout_ms = r.i32("rebalance timeout")?;
        let session_timeout_ms = r.i32("session timeout")?;
        let sub = r.bytes("subscription")?.unwrap_or_default();
        let assignment = r.bytes("assignment")?.unwrap_or_default();
        let mut subscription = decode_subscription(sub)?;
        subscription.member_id = member_id.clone();
        subscription.group_instance_id = group_instance_id.clone();
        let assignment = decode_assignment(assignment)?;
        members.push(StoredMember {
            member_id,
            group_instance_id,
            client_id,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    Ok(GroupMetadata { group: group.to_string(), generation, protocol, leader, timestamp, members })
}

fn decode_subscription(bytes: &[u8]) -> Result<Subscription, OffsetsRecordError> {
    let mut r = R { buf: bytes, pos: 0 };
    r.version(&[2], "subscription")?;
    let mut topics = Vec::new();
    for _ in 0..r.count("topics")? {
        topics.push(r.str("topic")?);
    }
    let _user_data = r.bytes("user data")?;
    let owned_partitions = r.topic_partitions()?;
    let generation = r.i32("generation")?;
    Ok(Subscription { member_id: String::new(), group_instance_id: None, topics, owned_partitions, generation })
}

fn decode_assignment(bytes: &[u8]) -> Result<Vec<Tp>, OffsetsRecordError> {
    let mut r = R { buf: bytes, pos: 0 };
    r.version(&[0], "assignment")?;
    let tps = r.topic_partitions()?;
    Ok(tps.into_iter().map(|(t, p)| Tp::new(&topic_name(&t), p)).collect())
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn commit_key_matches_kafkas_layout() {
        let tp = Tp::new(&"t".into(), 2);
        // version 1, "g", "t", partition 2: the bytes of OffsetCommitKey v1.
        assert_eq!(commit_key("g", &tp), [0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 2]);
        let c = OffsetCommit { group: "g".into(), tp: tp.clone(), offset: 42, commit_timestamp: 7 };
        let v = commit_value(&c);
        assert_eq!(&v[..10], [0, 3, 0, 0, 0, 0, 0, 0, 0, 42]);
        let back = decode(&commit_key("g", &tp), Some(&v)).unwrap();
        assert_eq!(back, OffsetsRecord::Commit { group: "g".into(), tp, value: Some(c) });
    }

    #[test]
    fn group_metadata_round_trips() {
        let mut sub = Subscription::new("c-1", None, &["orders"]);
        sub.owned_partitions = vec![("orders".into(), 0), ("orders".into(), 3)];
        sub.generation = 4;
        let g = GroupMetadata {
            group: "readers".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("c-1".into()),
            timestamp: 99,
            members: vec![StoredMember {
                member_id: "c-1".into(),
                group_instance_id: None,
                client_id: "c".into(),
                rebalance_timeout_ms: 300000,
                session_timeout_ms: 45000,
                subscription: sub,
                assignment: vec![Tp::new(&"orders".into(), 1)],
            }],
        };
        let back = decode(&group_key("readers"), Some(&group_value(&g))).unwrap();
        assert_eq!(back, OffsetsRecord::Group { group: "readers".into(), value: Some(g) });
    }

    #[test]
    fn truncated_or_unknown_records_are_errors_naming_the_field() {
        let tp = Tp::new(&"t".into(), 0);
        let key = commit_key("g", &tp);
        let e = decode(&key[..5], None).unwrap_err().to_string();
        assert!(e.contains("topic at byte 5 runs past the end"), "{e}");
        assert!(decode(&[0, 9], None).unwrap_err().to_string().contains("version 9"));
        let bad = group_value(&GroupMetadata {
            group: "g".into(),
            generation: 1,
            protocol: None,
            leader: None,
            timestamp: 0,
            members: vec![],
        });
        let e = decode(&group_key("g"), Some(&bad[..bad.len() - 2])).unwrap_err().to_string();
        assert!(e.contains("members"), "{e}");
    }
}
