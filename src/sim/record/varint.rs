//! Kafka's variable-length integers (`ByteUtils`): ZigZag + base-128 little-endian groups.
//! Decoding rejects encodings longer than the type allows (Kafka's "varint is too long").

/// Why a varint could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarintError {
    /// The buffer ended inside the varint.
    Truncated,
    /// More continuation bytes than the type can hold.
    TooLong,
}

/// Appends `v` as a ZigZag varint (int32).
pub fn put_varint(out: &mut Vec<u8>, v: i32) {
    put_unsigned(out, ((v << 1) ^ (v >> 31)) as u32 as u64);
}

/// Appends `v` as a ZigZag varlong (int64).
pub fn put_varlong(out: &mut Vec<u8>, v: i64) {
    put_unsigned(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends `v` as an unsigned varint (Kafka writes an int32's bits unsigned).
pub fn put_unsigned_varint(out: &mut Vec<u8>, v: i32) {
    put_unsigned(out, u64::from(v as u32));
}

fn put_unsigned(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_unsigned(buf: &[u8], max_bytes: usize) -> Result<(u64, usize), VarintError> {
    // Most varints in a batch (deltas, key lengths, header counts) are one byte.
    if let Some(&byte) = buf.first().filter(|b| **b & 0x80 == 0) {
        return Ok((u64::from(byte), 1));
    }
    let mut value = 0u64;
    for (i, byte) in buf.iter().enumerate() {
        if i == max_bytes {
            return Err(VarintError::TooLong);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(if buf.len() >= max_bytes { VarintError::TooLong } else { VarintError::Truncated })
}

/// Reads a ZigZag varint; returns the value and the bytes used.
pub fn get_varint(buf: &[u8]) -> Result<(i32, usize), VarintError> {
    let (raw, n) = get_unsigned(buf, 5)?;
    let raw = raw as u32;
    Ok((((raw >> 1) as i32) ^ -((raw & 1) as i32), n))
}

/// Reads a ZigZag varlong; returns the value and the bytes used.
pub fn get_varlong(buf: &[u8]) -> Result<(i64, usize), VarintError> {
    let (raw, n) = get_unsigned(buf, 10)?;
    Ok((((raw >> 1) as i64) ^ -((raw & 1) as i64), n))
}

/// Reads an unsigned varint as Kafka's int32 bits.
pub fn get_unsigned_varint(buf: &[u8]) -> Result<(i32, usize), VarintError> {
    let (raw, n) = get_unsigned(buf, 5)?;
    Ok((raw as u32 as i32, n))
}

/// Bytes a ZigZag varint of `v` takes.
pub fn varint_len(v: i32) -> usize {
    unsigned_len(((v << 1) ^ (v >> 31)) as u32 as u64)
}

/// Bytes a ZigZag varlong of `v` takes.
pub fn varlong_len(v: i64) -> usize {
    unsigned_len(((v << 1) ^ (v >> 63)) as u64)
}

/// One byte per 7 significant bits (at least one): no loop. `(bits * 9 + 64) / 64` is
/// `ceil(bits / 7)` for 1..=64 bits, without a division.
fn unsigned_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    (bits * 9 + 64) / 64
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    // ByteUtilsTest (kafka-vectors-public.json `varint`), a representative subset; the full
    // vector file is checked in tests/kafka_vectors.rs.
    #[test]
    fn varints_match_kafka() {
        for (v, h) in [
            (0, "00"),
            (-1, "01"),
            (1, "02"),
            (63, "7e"),
            (-64, "7f"),
            (64, "8001"),
            (i32::MAX, "feffffff0f"),
            (i32::MIN, "ffffffff0f"),
        ] {
            let mut out = vec![];
            put_varint(&mut out, v);
            assert_eq!(hex(&out), h);
            assert_eq!(get_varint(&out), Ok((v, out.len())));
            assert_eq!(varint_len(v), out.len());
        }
    }

    #[test]
    fn lengths_equal_the_encoded_bytes_at_every_group_boundary() {
        for shift in 0..64 {
            let p = 1i64 << shift;
            for v in [p, p.wrapping_sub(1), p.wrapping_neg(), p.wrapping_neg().wrapping_add(1), i64::MAX, i64::MIN] {
                let mut out = vec![];
                put_varlong(&mut out, v);
                assert_eq!(varlong_len(v), out.len(), "varlong {v}");
                assert_eq!(get_varlong(&out), Ok((v, out.len())));
                let v = v as i32;
                out.clear();
                put_varint(&mut out, v);
                assert_eq!(varint_len(v), out.len(), "varint {v}");
                assert_eq!(get_varint(&out), Ok((v, out.len())));
            }
        }
    }

    #[test]
    fn overlong_and_truncated_are_errors() {
        assert_eq!(get_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), Err(VarintError::TooLong));
        assert_eq!(get_varint(&[0x80, 0x80]), Err(VarintError::Truncated));
        assert_eq!(get_varlong(&[0xff; 11]), Err(VarintError::TooLong));
        assert_eq!(get_varlong(&[]), Err(VarintError::Truncated));
    }
}
