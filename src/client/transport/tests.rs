//! Tests of the transport and its pool (see the module docs of `crate::client::transport`).

use super::*;

#[test]
fn keep_alive_header_values() {
    let s = Duration::from_secs;
    assert_eq!(
        parse_keep_alive("timeout=5, max=100"),
        (Some(s(5)), Some(100))
    );
    assert_eq!(
        parse_keep_alive("Max=3,TIMEOUT = \"15\""),
        (Some(s(15)), Some(3))
    );
    assert_eq!(parse_keep_alive("timeout=5"), (Some(s(5)), None));
    assert_eq!(parse_keep_alive("max=x, timeout=-1, other"), (None, None));
}

#[test]
fn idle_limit_stays_below_the_servers_timeout() {
    let ms = Duration::from_millis;
    assert_eq!(idle_limit_for(ms(5000)), ms(4000));
    assert_eq!(idle_limit_for(ms(60_000)), ms(59_000));
    assert_eq!(idle_limit_for(ms(2000)), ms(1000));
    assert_eq!(idle_limit_for(ms(1000)), ms(500));
    let state = ConnState::new(0);
    assert_eq!(state.idle_limit(), DEFAULT_IDLE);
    state.server_idle_ms.store(60_000, Ordering::Relaxed);
    assert_eq!(state.idle_limit(), DEFAULT_IDLE, "never above the default");
    state.server_idle_ms.store(2_000, Ordering::Relaxed);
    assert_eq!(state.idle_limit(), ms(1000));
}

#[test]
fn chunked_and_keep_alive_responses_are_noted() {
    let state = ConnState::new(0);
    state.requests.store(3, Ordering::Relaxed);
    let mut h = HeaderMap::new();
    h.insert("keep-alive", HeaderValue::from_static("timeout=2, max=10"));
    note_response(&state, &h, h1::Framing::Chunked);
    assert!(state.last_chunked.load(Ordering::Relaxed));
    assert_eq!(state.server_idle_ms.load(Ordering::Relaxed), 2000);
    assert_eq!(state.request_budget.load(Ordering::Relaxed), 13);
    // A later, larger `max` never extends the budget.
    state.requests.store(4, Ordering::Relaxed);
    h.insert("keep-alive", HeaderValue::from_static("max=100"));
    note_response(&state, &h, h1::Framing::Length(12));
    assert!(!state.last_chunked.load(Ordering::Relaxed));
    assert_eq!(state.request_budget.load(Ordering::Relaxed), 13);
}
