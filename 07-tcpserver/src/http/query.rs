//! Query strings: `a=1&b=two+words&c=%C3%A9` split into pairs and decoded.

use std::borrow::Cow;

// ANCHOR: percent_decode
/// Decodes `%XX` escapes and, as HTML forms encode spaces, `+`. An invalid
/// escape (`%G1`, a trailing `%`) is kept as written; bytes that are not UTF-8
/// after decoding become U+FFFD. Borrows when there is nothing to decode.
pub fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(err) => Cow::Owned(String::from_utf8_lossy(err.as_bytes()).into_owned()),
    }
}
// ANCHOR_END: percent_decode

/// The value of one hexadecimal digit.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The `&`-separated pairs of a query string, each split at its first `=`
/// (a pair without one has an empty value) and decoded. Empty pairs (`a=1&&b`)
/// are skipped.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(percent_decode("%2f%2F"), "//");
    }

    #[test]
    fn borrows_when_nothing_to_decode() {
        assert!(matches!(percent_decode("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn keeps_invalid_escapes_and_replaces_bad_utf8() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%G1%4"), "%G1%4");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn splits_pairs() {
        let pairs: Vec<_> = query_pairs("a=1&&b&c=x%3Dy=z&d=")
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        let expected = [("a", "1"), ("b", ""), ("c", "x=y=z"), ("d", "")]
            .map(|(n, v)| (n.to_owned(), v.to_owned()));
        assert_eq!(pairs, expected);
    }
}
