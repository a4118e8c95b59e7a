//! CRC-32C for TFRecord framing, fast on short inputs.
//!
//! Every TFRecord has two checksums: one of its 8-byte length and one of its
//! data, which for a scalar event is about 40 bytes. The `crc32c` crate uses
//! the SSE 4.2 `crc32` instruction, but its per-call setup (splitting off
//! unaligned head and tail bytes a byte at a time, then two table-driven
//! three-way interleaved passes meant for long inputs) cost ~150
//! instructions per call here, about as much as decoding the event. Short
//! inputs are therefore done with the same instruction, 8 bytes at a time
//! in one plain loop (unaligned loads are fine on x86-64); long ones, and
//! other targets, still go to the crate, whose interleaving wins there. The
//! tests check both paths against the crate.

/// Inputs up to this many bytes take the short path.
const SHORT: usize = 256;

/// CRC-32C (Castagnoli) of `data`, as `crc32c::crc32c` computes it.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if data.len() <= SHORT && std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the CPU has SSE 4.2, checked just above.
            return unsafe { short_sse42(data) };
        }
    }
    crc32c::crc32c(data)
}

/// Masked CRC-32C, as TFRecord stores it.
#[inline]
pub fn masked_crc32c(data: &[u8]) -> u32 {
    crc32c(data).rotate_right(15).wrapping_add(0xa282_ead8)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
#[inline]
unsafe fn short_sse42(data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut crc = u64::from(!0u32);
    let (words, rest) = data.as_chunks::<8>();
    for w in words {
        crc = _mm_crc32_u64(crc, u64::from_le_bytes(*w));
    }
    let mut crc = crc as u32;
    for &b in rest {
        crc = _mm_crc32_u8(crc, b);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_crate_at_every_length_and_offset() {
        let bytes: Vec<u8> = (0..2 * SHORT as u32 + 64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for start in 0..8 {
            for len in 0..=2 * SHORT + 1 {
                let d = &bytes[start..start + len];
                assert_eq!(crc32c(d), crc32c::crc32c(d), "start {start} len {len}");
            }
        }
    }

    #[test]
    fn test_vectors() {
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(masked_crc32c(&24u64.to_le_bytes()), 0x224b_7fa3);
    }
}
