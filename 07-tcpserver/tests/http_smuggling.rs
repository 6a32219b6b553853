//! Request smuggling: every way to make two parsers disagree on where a
//! request ends is refused with 400 (or 501 for a well-framed coding we do
//! not implement) and a closed connection, before any servlet runs.

#[path = "common/http.rs"]
mod common;

use common::assert_refused;

#[test]
fn content_length_with_transfer_encoding_is_400() {
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn conflicting_or_listed_content_lengths_are_400() {
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        400,
    );
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4, 4\r\n\r\nabcd",
        400,
    );
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4,5\r\n\r\nabcde",
        400,
    );
}

#[test]
fn invalid_content_lengths_are_400() {
    for value in [
        "-1",
        "+4",
        "4a",
        "0x4",
        "4 4",
        "",
        "1e3",
        "99999999999999999999999",
    ] {
        let request = format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {value}\r\n\r\nabcd");
        assert_refused(request.as_bytes(), 400);
    }
}

#[test]
fn transfer_encodings_other_than_chunked_are_refused() {
    for (value, status) in [
        ("gzip", 400),
        ("identity", 400),
        ("chunked, gzip", 400),
        ("chunked, chunked", 400),
        ("chunked;q=1", 400),
        (" chunked-false", 400),
        ("gzip, chunked", 501),
    ] {
        let request =
            format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {value}\r\n\r\n0\r\n\r\n");
        assert_refused(request.as_bytes(), status);
    }
    // Split over two fields, the list is the same.
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
        400,
    );
    // HTTP/1.0 has no Transfer-Encoding: the framing cannot be trusted.
    assert_refused(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn header_names_with_spaces_before_the_colon_are_400() {
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length : 4\r\n\r\nabcd",
        400,
    );
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn bad_chunk_sizes_are_400() {
    for chunks in [
        &b"10000000000000000\r\n"[..],          // 2^64: overflows
        b"fffffffffffffffff\r\nx\r\n0\r\n\r\n", // 17 digits
        b"g\r\nx\r\n0\r\n\r\n",
        b"-1\r\nx\r\n0\r\n\r\n",
        b"0x1\r\nx\r\n0\r\n\r\n",
        b"\r\nx\r\n0\r\n\r\n",
        b"1 1\r\nx\r\n0\r\n\r\n",
    ] {
        let mut request =
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(chunks);
        assert_refused(&request, 400);
    }
}

#[test]
fn bare_lf_in_chunked_framing_is_400() {
    for chunks in [
        &b"3\nabc\r\n0\r\n\r\n"[..],
        b"3\r\nabc\n0\r\n\r\n",
        b"3\r\nabc\r\n0\n\r\n",
        b"3\r\nabc\r\n0\r\n\n",
        b"3;ext\nabc\r\n0\r\n\r\n",
        b"3\r\nabcX\r\n0\r\n\r\n",
    ] {
        let mut request =
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(chunks);
        assert_refused(&request, 400);
    }
}

#[test]
fn obs_fold_is_400() {
    assert_refused(
        b"GET / HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n",
        400,
    );
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
        400,
    );
    assert_refused(b"GET / HTTP/1.1\r\n Host: t\r\n\r\n", 400);
}

#[test]
fn nul_and_control_bytes_in_header_values_are_400() {
    for value in [&b"a\x00b"[..], b"a\x01b", b"a\x1bb", b"a\x7fb", b"a\rb"] {
        let mut request = b"GET / HTTP/1.1\r\nHost: t\r\nX-Value: ".to_vec();
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n\r\n");
        assert_refused(&request, 400);
    }
}
