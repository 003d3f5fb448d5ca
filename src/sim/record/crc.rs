//! CRC-32C (Castagnoli), the checksum of record batch v2 (Kafka's `Crc32C`).
//!
//! Natively this is the `crc32c` crate, which uses the CPU's CRC instruction. In the browser
//! there is no such instruction and the crate's software path carries an 8 KB table (slicing by
//! eight); the web build instead uses the classic table of 256 entries, built at compile time,
//! one byte per step. The browser's (b) benchmark stays well above its target ratio to native,
//! and the bundle is 8 KB smaller. Both paths are checked against each other and Kafka's
//! vectors.

/// The reflected Castagnoli polynomial.
#[cfg(any(target_arch = "wasm32", test))]
const POLY: u32 = 0x82F6_3B78;

/// `TABLE[b]`: the CRC register after shifting the byte `b` through it.
#[cfg(any(target_arch = "wasm32", test))]
const TABLE: [u32; 256] = table();

#[cfg(any(target_arch = "wasm32", test))]
const fn table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// CRC-32C of `bytes`, one byte at a time through [`TABLE`].
#[cfg(any(target_arch = "wasm32", test))]
fn bytewise(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8))
}

/// CRC-32C of `bytes`.
#[cfg(target_arch = "wasm32")]
pub fn crc32c(bytes: &[u8]) -> u32 {
    bytewise(bytes)
}

/// CRC-32C of `bytes`.
#[cfg(not(target_arch = "wasm32"))]
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::{bytewise, crc32c};

    #[test]
    fn the_check_value_of_the_castagnoli_polynomial() {
        // The standard check: CRC-32C("123456789") (RFC 3720, appendix B.4).
        assert_eq!(bytewise(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(bytewise(b""), 0);
        // RFC 3720 B.4: 32 bytes of zeros, and of 0xFF.
        assert_eq!(bytewise(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(bytewise(&[0xFFu8; 32]), 0x62A8_AB43);
    }

    #[test]
    fn bytewise_equals_the_platform_crc_for_every_length() {
        let bytes: Vec<u8> = (0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for len in 0..bytes.len() {
            assert_eq!(bytewise(&bytes[..len]), crc32c(&bytes[..len]), "length {len}");
        }
    }
}
