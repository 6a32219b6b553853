//! Decimal integers straight into a byte buffer, without going through `fmt`.

/// Appends `value` in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, value: u64) {
    push_padded(out, value, 1);
}

/// Appends `value` in decimal, left-padded with zeros to at least `width` digits (at most
/// 20, the length of `u64::MAX`).
pub(crate) fn push_padded(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let digits = value.checked_ilog10().map_or(1, |log| log as usize + 1);
    let len = digits.max(width.min(20));
    // Digits left-aligned in a fixed array, written from the last one...
    let mut text = [b'0'; 20];
    for slot in text[..len].iter_mut().rev() {
        // `value % 10` is below 10, so the cast cannot truncate.
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // ...then copied whole and the surplus cut off: a fixed-size copy compiles to two
    // vector moves, where a variable-length one is a `memcpy` call that costs more than
    // the digits themselves.
    let start = out.len();
    out.extend_from_slice(&text);
    out.truncate(start + len);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(value: u64, width: usize) -> String {
        let mut out = Vec::new();
        push_padded(&mut out, value, width);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_std_formatting_for_edge_values() {
        for v in [0, 1, 9, 10, 99, 100, 12345, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }

    #[test]
    fn pads_to_the_requested_width_but_never_truncates() {
        assert_eq!(s(7, 3), "007");
        assert_eq!(s(42, 3), "042");
        assert_eq!(s(999, 3), "999");
        assert_eq!(s(12345, 3), "12345");
        assert_eq!(s(5, 0), "5");
        assert_eq!(s(5, 99), "00000000000000000005");
    }
}
