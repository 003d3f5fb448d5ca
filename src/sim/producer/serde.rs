//! Key/value serializers and producer interceptors (the `send()` stages before partitioning).

use crate::sim::record::{Record, RecordHeader};

/// Kafka's common serializers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serializer {
    /// `StringSerializer`: UTF-8 bytes.
    String,
    /// `ByteArraySerializer`: the bytes as given.
    ByteArray,
    /// `IntegerSerializer`: 4 bytes, big-endian.
    Integer,
    /// `LongSerializer`: 8 bytes, big-endian.
    Long,
}

/// Class names accepted for `key.serializer` / `value.serializer`.
pub const SERIALIZERS: &[&str] = &[
    "org.apache.kafka.common.serialization.StringSerializer",
    "org.apache.kafka.common.serialization.ByteArraySerializer",
    "org.apache.kafka.common.serialization.IntegerSerializer",
    "org.apache.kafka.common.serialization.LongSerializer",
];

impl Serializer {
    /// From a class name (validated by the config registry).
    pub fn from_class(class: &str) -> Serializer {
        match class.rsplit('.').next().unwrap_or_default() {
            "ByteArraySerializer" => Serializer::ByteArray,
            "IntegerSerializer" => Serializer::Integer,
            "LongSerializer" => Serializer::Long,
            _ => Serializer::String,
        }
    }

    /// Serializes the workload's text (a key from its pattern, or a value), or says why not.
    /// An owned `String` becomes the bytes without a copy (this runs once per record).
    pub fn serialize(self, text: impl Into<String>) -> Result<Vec<u8>, String> {
        let text = text.into();
        match self {
            Serializer::String | Serializer::ByteArray => Ok(text.into_bytes()),
            Serializer::Integer => text
                .parse::<i32>()
                .map(|n| n.to_be_bytes().to_vec())
                .map_err(|_| format!("IntegerSerializer needs an int, got {text:?}")),
            Serializer::Long => text
                .parse::<i64>()
                .map(|n| n.to_be_bytes().to_vec())
                .map_err(|_| format!("LongSerializer needs a long, got {text:?}")),
        }
    }
}

/// Built-in `interceptor.classes`.
pub const INTERCEPTORS: &[&str] = &["io.brokerscope.CountingInterceptor", "io.brokerscope.HeaderStampingInterceptor"];

/// A producer interceptor (`ProducerInterceptor.onSend` / `onAcknowledgement`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interceptor {
    /// Counts records sent, acknowledged and failed.
    Counting {
        /// `onSend` calls.
        sent: u64,
        /// `onAcknowledgement` without error.
        acked: u64,
        /// `onAcknowledgement` with an error.
        failed: u64,
    },
    /// Adds a `sent-at-ms` header with the send time.
    HeaderStamping,
}

impl Interceptor {
    /// From a class name.
    pub fn from_class(class: &str) -> Option<Interceptor> {
        match class.trim() {
            "io.brokerscope.CountingInterceptor" => Some(Interceptor::Counting { sent: 0, acked: 0, failed: 0 }),
            "io.brokerscope.HeaderStampingInterceptor" => Some(Interceptor::HeaderStamping),
            _ => None,
        }
    }

    /// `onSend`: may change the record.
    pub fn on_send(&mut self, mut record: Record, now_ms: i64) -> Record {
        match self {
            Interceptor::Counting { sent, .. } => *sent += 1,
            Interceptor::HeaderStamping => record
                .headers
                .push(RecordHeader { key: b"sent-at-ms".to_vec(), value: Some(now_ms.to_string().into_bytes()) }),
        }
        record
    }

    /// `onAcknowledgement`.
    pub fn on_acknowledgement(&mut self, ok: bool) {
        if let Interceptor::Counting { acked, failed, .. } = self {
            if ok {
                *acked += 1;
            } else {
                *failed += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn serializers_write_kafka_bytes() {
        assert_eq!(Serializer::from_class(SERIALIZERS[2]).serialize("258"), Ok(vec![0, 0, 1, 2]));
        assert_eq!(Serializer::from_class(SERIALIZERS[3]).serialize("-1"), Ok(vec![0xff; 8]));
        assert_eq!(Serializer::from_class(SERIALIZERS[0]).serialize("ab"), Ok(b"ab".to_vec()));
        assert!(Serializer::Integer.serialize("user-1").unwrap_err().contains("IntegerSerializer"));
    }

    #[test]
    fn interceptors_count_and_stamp() {
        let r = Record { timestamp_ms: 5, key: None, value: None, headers: vec![] };
        let mut stamp = Interceptor::from_class("io.brokerscope.HeaderStampingInterceptor").unwrap();
        assert_eq!(stamp.on_send(r.clone(), 42).headers[0].value.as_deref(), Some(b"42".as_slice()));
        let mut count = Interceptor::from_class(" io.brokerscope.CountingInterceptor").unwrap();
        count.on_send(r, 1);
        count.on_acknowledgement(true);
        count.on_acknowledgement(false);
        assert_eq!(count, Interceptor::Counting { sent: 1, acked: 1, failed: 1 });
        assert_eq!(Interceptor::from_class("com.acme.X"), None);
    }
}
