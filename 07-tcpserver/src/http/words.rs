//! Short byte strings read a machine word at a time.
//!
//! The strings of a request head (a path, a header value) are a few dozen
//! bytes at most. std's byte searches read whole words only once they have
//! aligned, and check the odd bytes one by one; here the last word overlaps
//! the one before when the length is not a multiple of eight, so every byte
//! is in a word from the start. A byte may be looked at twice, which a test
//! for "any byte such that ..." does not mind.

/// True if `test` holds for one of a few words that together hold every byte
/// of `bytes`: whole 8-byte words, the last overlapping the one before; for
/// 4 to 7 bytes, the first four and the last four side by side in one word;
/// below 4, the bytes followed by zero bytes. `test` must be false for a word
/// of zero bytes alone, or the padding could make it true.
#[inline]
pub(crate) fn any_word(bytes: &[u8], mut test: impl FnMut(u64) -> bool) -> bool {
    if let Some(&last) = bytes.last_chunk::<8>() {
        let (words, _) = bytes.as_chunks::<8>();
        return test(u64::from_ne_bytes(last))
            || words.iter().any(|word| test(u64::from_ne_bytes(*word)));
    }
    if let (Some(&first), Some(&last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        return test(
            u64::from(u32::from_ne_bytes(first)) | u64::from(u32::from_ne_bytes(last)) << 32,
        );
    }
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    test(u64::from_ne_bytes(word))
}

/// Calls `f` on each of the words [`any_word`] reads (all of them: for a
/// hash, which must see every byte).
#[inline]
pub(crate) fn for_each_word(bytes: &[u8], mut f: impl FnMut(u64)) {
    any_word(bytes, |word| {
        f(word);
        false
    });
}
