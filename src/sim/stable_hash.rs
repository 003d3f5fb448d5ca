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

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("chunks of 8")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The tail's length in the top byte keeps "ab" and "ab\0" apart.
            self.mix(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
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
    fn every_byte_and_length_matters() {
        let all: Vec<u64> =
            [&b""[..], b"a", b"a\0", b"b", b"abcdefgh", b"abcdefgi", b"abcdefgh\0"].iter().map(hash).collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{all:x?}");
    }
}
