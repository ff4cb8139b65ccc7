//! HTTPS end to end: measured requests through the client's own HTTP/1.1
//! codec over TLS (rustls, the platform's verifier) to a local TLS server
//! whose certificate a test CA signed (`tests/fixtures/tls/`: `ca.pem`, and
//! `server.pem` + `server.key` for `localhost` and `127.0.0.1`, valid to 2126).
//!
//! The client trusts the test CA through `SSL_CERT_FILE`, which the platform
//! verifier reads on Linux. The variable is process-wide, so this binary holds
//! this one test.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokenomics::bench::load;
use tokenomics::client::{HttpClient, RequestContext};
use tokenomics::record::Outcome;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A streamed chat response of `tokens` content events, chunked.
fn sse_response(tokens: usize) -> Vec<u8> {
    let chunk = |delta: &str, finish: &str| {
        format!(
            r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
        )
    };
    let mut events = vec![chunk(r#"{"role":"assistant","content":""}"#, "null")];
    for i in 0..tokens {
        events.push(chunk(&format!(r#"{{"content":" t{i}"}}"#), "null"));
    }
    events.push(chunk("{}", r#""length""#));
    events.push(format!(
        r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{{"prompt_tokens":9,"completion_tokens":{tokens},"total_tokens":{}}}}}"#,
        9 + tokens
    ));
    events.push("[DONE]".to_owned());
    let mut out =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for e in events {
        let e = format!("data: {e}\n\n");
        out.extend_from_slice(format!("{:x}\r\n{e}\r\n", e.len()).as_bytes());
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A TLS server on a loopback port answering every request on a connection
/// with `sse_response(tokens)`; counts the connections it accepted.
async fn tls_server(tokens: usize) -> (u16, Arc<AtomicUsize>) {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("server.pem")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("server.key");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let response = Arc::new(sse_response(tokens));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (acceptor, response) = (acceptor.clone(), Arc::clone(&response));
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One request: the head, then Content-Length bytes of body.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    }
                    buf.drain(..head_end + len);
                    if tls.write_all(&response).await.is_err() || tls.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

fn context(i: u32) -> RequestContext {
    RequestContext {
        t0_ns: tokenomics::clock::now_ns(),
        point_index: 0,
        point_id: Arc::from("tls"),
        run_index: 0,
        warmup: false,
        attempt: 1,
        turn: 0,
        scheduled_ns: None,
        dispatch_ns: 0,
        request_id: format!("tls-{i}"),
        cancel: CancellationToken::new(),
    }
}

#[test]
fn streams_over_tls_are_measured_and_reuse_their_connection() {
    std::env::set_var("SSL_CERT_FILE", fixture("ca.pem"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tokens = 6;
        let (port, accepted) = tls_server(tokens).await;
        // By name and by address: the certificate names both.
        for host in ["localhost", "127.0.0.1"] {
            let url = format!("https://{host}:{port}/v1");
            let mut endpoint = load::endpoint(&url);
            endpoint.timeouts.total = Duration::from_secs(20);
            let client = HttpClient::new(&endpoint, &url, 1).expect("client");
            let request = load::chat_request(u32::try_from(tokens).expect("tokens"));
            for i in 0..4 {
                let r = client.send(&request, &context(i), true).await;
                let rec = &r.record;
                assert_eq!(
                    rec.outcome,
                    Outcome::Ok,
                    "{host}, request {i}: {:?}",
                    rec.error
                );
                assert_eq!(
                    rec.chunk_ns.len(),
                    tokens,
                    "{host}: one time per content event"
                );
                assert_eq!(
                    r.text.as_deref(),
                    Some(" t0 t1 t2 t3 t4 t5"),
                    "{host}: the text decrypted and decoded"
                );
                assert_eq!(rec.output_tokens, u32::try_from(tokens).expect("tokens"));
                assert_eq!(
                    rec.connect_ms.is_some(),
                    i == 0,
                    "{host}, request {i}: only the first connects"
                );
            }
            assert_eq!(
                client.connections_opened(),
                1,
                "{host}: one TLS connection carried the loop"
            );
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "one connection per host"
        );
    });
}
