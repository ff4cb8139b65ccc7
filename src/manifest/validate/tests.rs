//! Tests of manifest validation (see the module docs of `crate::manifest::validate`).

use super::endpoint::check_url;

#[test]
fn urls() {
    for ok in [
        "http://localhost:8000/v1",
        "https://api.example.com/openai/v1",
        "http://[::1]:8000/v1",
        "http://10.0.0.2",
    ] {
        assert_eq!(check_url(ok), Ok(()), "{ok}");
    }
    for (bad, needle) in [
        ("localhost:8000/v1", "no scheme"),
        ("ftp://host/v1", "unsupported scheme"),
        ("http://", "no host"),
        ("http://host:0/v1", "invalid port"),
        ("http://host:99999/v1", "invalid port"),
        ("http://host/v1?x=1", "query"),
        ("http://user:secret@host/v1", "credentials"),
        ("http://ho st/v1", "whitespace"),
        ("http://[::1/v1", "IPv6"),
    ] {
        let (msg, _) = check_url(bad).expect_err(bad);
        assert!(msg.contains(needle), "{bad}: {msg}");
    }
}
