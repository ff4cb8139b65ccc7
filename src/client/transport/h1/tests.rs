//! Tests of the HTTP/1.1 codec: request bytes, heads, framing and body decoding.

use super::*;

fn head(text: &str) -> Head {
    let mut buf = BytesMut::from(text);
    let head = parse_head(&mut buf).expect("valid").expect("complete");
    assert!(buf.is_empty(), "the head is removed from the buffer");
    head
}

/// Decodes `wire` fed in pieces of `step` bytes; returns the body and whether it ended.
fn decode(framing: Framing, wire: &[u8], step: usize) -> Result<(Vec<u8>, bool), ProtoError> {
    let mut dec = Decoder::new(framing);
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    for piece in wire.chunks(step.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match dec.step(&mut buf, true)? {
                Step::Data(b) => body.extend_from_slice(&b),
                Step::NeedMore => break,
                Step::Done => return Ok((body, true)),
            }
        }
    }
    Ok((body, false))
}

#[test]
fn the_request_carries_host_length_and_the_callers_fields() {
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_static("text/event-stream"));
    headers.insert("x-request-id", HeaderValue::from_static("r-1"));
    // Fields the transport sets itself are not taken from the caller.
    headers.insert("host", HeaderValue::from_static("elsewhere"));
    headers.insert("content-length", HeaderValue::from_static("999"));
    let out = Outgoing {
        method: Method::POST,
        uri: "/v1/chat/completions?x=1".parse().expect("uri"),
        headers,
        body: Bytes::from_static(b"{\"a\":1}"),
    };
    let bytes = encode_request(&out, &HeaderValue::from_static("127.0.0.1:8000"));
    let text = String::from_utf8(bytes).expect("utf8");
    assert_eq!(
        text,
        "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8000\r\n\
         accept: text/event-stream\r\nx-request-id: r-1\r\ncontent-length: 7\r\n\r\n{\"a\":1}"
    );
    // The request parses as HTTP/1.1 with exactly one Host and one Content-Length.
    let mut fields = [httparse::EMPTY_HEADER; 16];
    let mut req = httparse::Request::new(&mut fields);
    let len = req.parse(text.as_bytes()).expect("parses");
    assert!(len.is_complete());
    let count = |n: &str| {
        req.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(n))
            .count()
    };
    assert_eq!((count("host"), count("content-length")), (1, 1));
}

#[test]
fn a_get_without_body_has_no_length() {
    let out = Outgoing {
        method: Method::GET,
        uri: "/health".parse().expect("uri"),
        headers: HeaderMap::new(),
        body: Bytes::new(),
    };
    let text =
        String::from_utf8(encode_request(&out, &HeaderValue::from_static("h"))).expect("utf8");
    assert_eq!(text, "GET /health HTTP/1.1\r\nhost: h\r\n\r\n");
}

#[test]
fn heads_parse_across_reads_and_interim_responses_are_skipped() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-a: 1\r\nx-a: 2\r\n\r\nbody";
    let mut buf = BytesMut::new();
    let mut got = None;
    for b in wire {
        buf.extend_from_slice(&[*b]);
        if let Some(h) = parse_head(&mut buf).expect("valid") {
            got = Some(h);
            break;
        }
    }
    let h = got.expect("complete");
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.headers.get_all("x-a").iter().count(), 2);
    assert_eq!(&buf[..], b"", "the head ends where the body starts");
    buf.extend_from_slice(b"body");
    assert_eq!(&buf[..], b"body");
}

#[test]
fn bad_heads_are_invalid_with_a_reason() {
    for (wire, says) in [
        (&b"SSH-2.0-OpenSSH\r\n\r\n"[..], "cannot parse"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "switched protocols",
        ),
    ] {
        let err = parse_head(&mut BytesMut::from(wire)).expect_err("invalid");
        assert!(
            matches!(err, ProtoError::Invalid(_)) && err.to_string().contains(says),
            "{err}"
        );
        assert!(!err.is_closed());
    }
    let mut big = BytesMut::from(&b"HTTP/1.1 200 OK\r\nx-pad: "[..]);
    big.extend_from_slice(&vec![b'p'; MAX_HEAD]);
    let err = parse_head(&mut big).expect_err("too large");
    assert!(err.to_string().contains("larger than 64 KiB"), "{err}");
}

#[test]
fn framing_follows_the_rules() {
    let post = Method::POST;
    let f = |text: &str| framing(&post, &head(text)).expect("valid");
    assert_eq!(
        f("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"),
        (Framing::Chunked, true)
    );
    assert_eq!(
        f("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\nconnection: close\r\n\r\n"),
        (Framing::Chunked, false)
    );
    assert_eq!(
        f("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"),
        (Framing::UntilClose, false)
    );
    assert_eq!(
        f("HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n"),
        (Framing::Length(12), true)
    );
    assert_eq!(
        f("HTTP/1.1 200 OK\r\ncontent-length: 12, 12\r\n\r\n"),
        (Framing::Length(12), true)
    );
    assert_eq!(
        f("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
        (Framing::Empty, true)
    );
    assert_eq!(f("HTTP/1.1 204 No Content\r\n\r\n"), (Framing::Empty, true));
    assert_eq!(f("HTTP/1.1 200 OK\r\n\r\n"), (Framing::UntilClose, false));
    assert_eq!(
        f("HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\n"),
        (Framing::Length(3), false),
        "HTTP/1.0 closes unless it says keep-alive"
    );
    assert_eq!(
        f("HTTP/1.0 200 OK\r\ncontent-length: 3\r\nconnection: Keep-Alive\r\n\r\n"),
        (Framing::Length(3), true)
    );
    assert_eq!(
        framing(
            &Method::HEAD,
            &head("HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n")
        )
        .expect("ok"),
        (Framing::Empty, true)
    );
    for bad in [
        "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
    ] {
        assert!(framing(&post, &head(bad)).is_err(), "{bad}");
    }
}

#[test]
fn chunked_bodies_decode_whatever_the_read_boundaries() {
    let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: t\r\n\r\n";
    for step in [1, 2, 3, 7, 64] {
        let (body, ended) = decode(Framing::Chunked, wire, step).expect("valid");
        assert_eq!(
            (&body[..], ended),
            (&b"hello, world"[..], true),
            "step {step}"
        );
    }
    // LF-only line ends are accepted too.
    let (body, ended) = decode(Framing::Chunked, b"3\nabc\n0\n\n", 1).expect("valid");
    assert_eq!((&body[..], ended), (&b"abc"[..], true));
    // A chunk split across reads comes out in parts.
    let mut dec = Decoder::new(Framing::Chunked);
    let mut buf = BytesMut::from(&b"a\r\n01234"[..]);
    assert_eq!(
        dec.step(&mut buf, true).expect("ok"),
        Step::Data(Bytes::from_static(b"01234"))
    );
    assert_eq!(dec.step(&mut buf, true).expect("ok"), Step::NeedMore);
    assert_eq!(dec, Decoder::ChunkData(5));
}

#[test]
fn settling_stops_before_data_and_finds_a_buffered_end() {
    let mut dec = Decoder::new(Framing::Chunked);
    let mut buf = BytesMut::from(&b"2\r\nhi\r\n2\r\nyo\r\n"[..]);
    assert_eq!(
        dec.step(&mut buf, true).expect("ok"),
        Step::Data(Bytes::from_static(b"hi"))
    );
    assert_eq!(dec.step(&mut buf, false).expect("ok"), Step::NeedMore);
    assert_eq!(
        dec,
        Decoder::ChunkData(2),
        "the next chunk's data is left in the buffer"
    );
    assert_eq!(
        dec.step(&mut buf, true).expect("ok"),
        Step::Data(Bytes::from_static(b"yo"))
    );
    buf.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(dec.step(&mut buf, false).expect("ok"), Step::Done);
    assert!(buf.is_empty());
}

#[test]
fn broken_chunked_framing_is_invalid() {
    for wire in [
        &b"zz\r\n"[..],
        b"5\r\nhello!!\r\n",
        b"12345678901234567\r\n",
    ] {
        let err = decode(Framing::Chunked, wire, 64).expect_err("invalid");
        assert!(matches!(err, ProtoError::Invalid(_)), "{err}");
    }
    let mut long = vec![b'1'; 3];
    long.extend_from_slice(&vec![b' '; MAX_LINE + 1]);
    assert!(decode(Framing::Chunked, &long, 64).is_err());
}

#[test]
fn length_and_until_close_bodies() {
    let (body, ended) = decode(Framing::Length(5), b"hello", 2).expect("ok");
    assert_eq!((&body[..], ended), (&b"hello"[..], true));
    let mut dec = Decoder::new(Framing::Length(5));
    let mut buf = BytesMut::from(&b"hello, next"[..]);
    assert_eq!(
        dec.step(&mut buf, true).expect("ok"),
        Step::Data(Bytes::from_static(b"hello"))
    );
    assert_eq!(dec.step(&mut buf, true).expect("ok"), Step::Done);
    assert_eq!(
        &buf[..],
        b", next",
        "bytes after the body stay in the buffer"
    );

    let (body, ended) = decode(Framing::UntilClose, b"abc", 1).expect("ok");
    assert_eq!((&body[..], ended), (&b"abc"[..], false));
    let mut dec = Decoder::new(Framing::UntilClose);
    assert!(dec.at_eof().is_ok());
    assert_eq!(dec, Decoder::Done);
}

#[test]
fn the_end_of_the_connection_inside_a_framed_body_is_a_close() {
    for mut dec in [
        Decoder::new(Framing::Length(3)),
        Decoder::new(Framing::Chunked),
        Decoder::ChunkData(4),
        Decoder::Trailers,
    ] {
        let err = dec.at_eof().expect_err("incomplete");
        assert!(err.is_closed(), "{err}");
    }
    assert!(ProtoError::ClosedBeforeResponse.is_closed());
    assert!(ProtoError::Io(std::io::ErrorKind::ConnectionReset.into()).is_closed());
    assert!(!ProtoError::Io(std::io::ErrorKind::PermissionDenied.into()).is_closed());
}
