//! A fast, platform-independent 64-bit hasher for fingerprints (the trace hash, record
//! fingerprints). Not for hash tables and not cryptographic: it only has to be the same natively
//! and on wasm32 and to change when any hashed field changes.
//!
//! Words are folded FxHash-style (rotate, xor, multiply) and `finish` applies the splitmix64
//! finaliser so every input bit reaches every output bit. `usize`/`isize` are widened to 64
//! bits, so `#[derive(Hash)]` (which writes lengths and enum discriminants as `usize`/`isize`)
//! gives the same value on 32- and 64-bit targets.

use std::hash::Hasher;

/// See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StableHasher {
    state: u64,
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher { state: 0xcbf2_9ce4_8422_2325 }
    }
}

impl StableHasher {
    fn mix(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// Bytes [`StableHasher::write_wide`] folds per round: one word for each of four lanes.
const WIDE_ROUND: usize = 32;

/// The little-endian value of a tail of 1 to 7 bytes, in at most two loads (a byte at a time
/// was a loop; a copy of a variable length into a word buffer was a call to `memcpy`). Every
/// hashed string ends in such a tail: a trace event's topic name, a record's key. Two loads
/// that overlap put the same bytes at the same places, so or-ing them is exact.
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    debug_assert!((1..8).contains(&n), "a tail of 1 to 7 bytes");
    if n >= 4 {
        let low = u64::from(u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")));
        let high = u64::from(u32::from_le_bytes(rest[n - 4..].try_into().expect("4 bytes")));
        low | (high << (8 * (n - 4)))
    } else {
        u64::from(rest[0]) | (u64::from(rest[n / 2]) << (8 * (n / 2))) | (u64::from(rest[n - 1]) << (8 * (n - 1)))
    }
}

impl StableHasher {
    /// Folds `bytes` like [`Hasher::write`] but, from 32 bytes on, in four independent lanes that
    /// meet at the end. Each fold waits for the previous one's multiply, so one lane is bound by
    /// that latency; four lanes run side by side. Record fingerprints (at least two per record: the
    /// producer's and the consumer's; the end-of-run checks add one per replica) spent a tenth of
    /// the pipeline's wall time in that chain.
    /// A different hash from `write` of the same bytes, and just as stable across targets.
    pub fn write_wide(&mut self, bytes: &[u8]) {
        if bytes.len() < WIDE_ROUND {
            self.write(bytes);
            return;
        }
        let seed = self.state;
        let mut lanes = [seed, seed.rotate_left(16), seed.rotate_left(32), seed.rotate_left(48)];
        // Arrays, not slices, of 8 bytes: a slice's conversion to one is a call at the app's
        // opt-level z.
        let (rounds, rest) = bytes.as_chunks::<WIDE_ROUND>();
        for round in rounds {
            for (lane, word) in lanes.iter_mut().zip(round.as_chunks::<8>().0) {
                *lane = (lane.rotate_left(5) ^ u64::from_le_bytes(*word)).wrapping_mul(0x517c_c1b7_2722_0a95);
            }
        }
        for lane in lanes {
            self.mix(lane);
        }
        self.write(rest);
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        let (words, rest) = bytes.as_chunks::<8>();
        for word in words {
            self.mix(u64::from_le_bytes(*word));
        }
        if !rest.is_empty() {
            let word = tail_word(rest);
            // The tail's length in the top byte keeps "ab" and "ab\0" apart.
            self.mix(word ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    fn write_i8(&mut self, i: i8) {
        self.mix(i64::from(i) as u64);
    }
    fn write_i16(&mut self, i: i16) {
        self.mix(i64::from(i) as u64);
    }
    fn write_i32(&mut self, i: i32) {
        self.mix(i64::from(i) as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64);
    }
    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }
    fn write_isize(&mut self, i: isize) {
        self.mix(i as i64 as u64);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use std::hash::Hash;

    fn hash(value: impl Hash) -> u64 {
        let mut h = StableHasher::default();
        value.hash(&mut h);
        h.finish()
    }

    #[test]
    fn same_on_every_target() {
        // Fixed value computed natively (x86_64); the wasm32 run of this test checks that
        // usize widening (lengths, discriminants) and byte order give the same result.
        let value = hash((vec![1u32, 2, 3], "orders", 7usize, -1isize, Some(3u8)));
        assert_eq!(value, 0xc112_edb9_bad1_57f7, "{value:#x}");
    }

    #[test]
    fn a_tail_is_its_bytes_as_a_little_endian_word() {
        let bytes = [0x01u8, 0x82, 0x03, 0xf4, 0x05, 0x96, 0x07];
        for n in 1..8 {
            let byte_at_a_time = bytes[..n].iter().rev().fold(0u64, |word, b| (word << 8) | u64::from(*b));
            assert_eq!(tail_word(&bytes[..n]), byte_at_a_time, "a tail of {n} bytes");
        }
        assert_eq!(tail_word(&[0xff; 7]), 0x00ff_ffff_ffff_ffff);
    }

    #[test]
    fn wide_writes_are_stable_and_every_byte_matters() {
        let wide = |bytes: &[u8]| {
            let mut h = StableHasher::default();
            h.write_wide(bytes);
            h.finish()
        };
        let base: Vec<u8> = (0..100u8).collect();
        // Fixed value computed natively (x86_64); the wasm32 run checks the same.
        assert_eq!(wide(&base), WIDE_100, "{:#x}", wide(&base));
        let mut all = vec![wide(&base), wide(&base[..99]), wide(&base[..32]), wide(&base[..31])];
        for at in [0, 7, 8, 31, 32, 63, 95, 96, 99] {
            let mut changed = base.clone();
            changed[at] ^= 1;
            all.push(wide(&changed));
        }
        let mut swapped = base.clone();
        swapped.swap(0, 8); // two lanes' words exchanged
        all.push(wide(&swapped));
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{all:x?}");
    }

    const WIDE_100: u64 = 0xf39f_e8bd_954b_5e44;

    #[test]
    fn every_byte_and_length_matters() {
        let all: Vec<u64> =
            [&b""[..], b"a", b"a\0", b"b", b"abcdefgh", b"abcdefgi", b"abcdefgh\0"].iter().map(hash).collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{all:x?}");
    }
}
