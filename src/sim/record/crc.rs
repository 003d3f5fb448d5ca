//! CRC-32C (Castagnoli), the checksum of record batch v2 (Kafka's `Crc32C`).
//!
//! Natively this is the `crc32c` crate, which uses the CPU's CRC instruction. In the browser
//! there is no such instruction, so the web build computes it in software, eight bytes per step
//! ("slicing by eight", the usual software method). Its eight 256-entry tables (8 KB) are
//! built on first use rather than compiled in, so they cost the bundle nothing. Why this is
//! worth the tables: a batch is checksummed when it is built and checked again where it is
//! appended and read, and one byte per step made the checksum 15% of workload (b)'s time in
//! Chromium (a CPU profile of the page); eight bytes per step make it 6%. Both paths
//! are checked against a bit-at-a-time reference and Kafka's vectors.

/// The reflected Castagnoli polynomial.
#[cfg(any(target_arch = "wasm32", test))]
const POLY: u32 = 0x82F6_3B78;

/// `tables()[k][b]`: the CRC register after shifting the byte `b` and then `k` zero bytes
/// through it. Built once, on first use.
#[cfg(any(target_arch = "wasm32", test))]
fn tables() -> &'static [[u32; 256]; 8] {
    static TABLES: std::sync::OnceLock<Box<[[u32; 256]; 8]>> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[0u32; 256]; 8]);
        for b in 0..256 {
            t[0][b] = (0..8).fold(b as u32, |c, _| if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 });
        }
        for k in 1..8 {
            for b in 0..256 {
                let c = t[k - 1][b];
                t[k][b] = (c >> 8) ^ t[0][(c & 0xFF) as usize];
            }
        }
        t
    })
}

/// CRC-32C of `bytes` in software: eight bytes per step through [`tables`], then the last
/// few one at a time.
#[cfg(any(target_arch = "wasm32", test))]
fn software(bytes: &[u8]) -> u32 {
    let t = tables();
    let byte = |crc: u32, shift: u32| ((crc >> shift) & 0xFF) as usize;
    let mut crc = !0u32;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let lo = crc ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
        crc = t[7][byte(lo, 0)]
            ^ t[6][byte(lo, 8)]
            ^ t[5][byte(lo, 16)]
            ^ t[4][byte(lo, 24)]
            ^ t[3][byte(hi, 0)]
            ^ t[2][byte(hi, 8)]
            ^ t[1][byte(hi, 16)]
            ^ t[0][byte(hi, 24)];
    }
    for &b in words.remainder() {
        crc = t[0][byte(crc ^ u32::from(b), 0)] ^ (crc >> 8);
    }
    !crc
}

/// CRC-32C of `bytes`.
#[cfg(target_arch = "wasm32")]
pub fn crc32c(bytes: &[u8]) -> u32 {
    software(bytes)
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

    use super::{crc32c, software, POLY};

    /// The definition, one bit at a time, with no table: the reference for both paths.
    fn bitwise(bytes: &[u8]) -> u32 {
        let step = |c: u32| if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
        !bytes.iter().fold(!0u32, |crc, &b| (0..8).fold(crc ^ u32::from(b), |c, _| step(c)))
    }

    #[test]
    fn the_check_value_of_the_castagnoli_polynomial() {
        // The standard check: CRC-32C("123456789") (RFC 3720, appendix B.4).
        for f in [software, crc32c, bitwise] {
            assert_eq!(f(b"123456789"), 0xE306_9283);
            assert_eq!(f(b""), 0);
            // RFC 3720 B.4: 32 bytes of zeros, and of 0xFF.
            assert_eq!(f(&[0u8; 32]), 0x8A91_36AA);
            assert_eq!(f(&[0xFFu8; 32]), 0x62A8_AB43);
        }
    }

    #[test]
    fn software_and_platform_crc_equal_the_definition_for_every_length_and_offset() {
        let bytes: Vec<u8> = (0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for start in 0..8 {
            for end in start..bytes.len() {
                let want = bitwise(&bytes[start..end]);
                assert_eq!(software(&bytes[start..end]), want, "bytes {start}..{end}");
                assert_eq!(crc32c(&bytes[start..end]), want, "bytes {start}..{end}");
            }
        }
    }
}
