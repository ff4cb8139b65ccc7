//! HTTPS end to end: measured requests through the client's own HTTP/1.1
//! codec over TLS (rustls, the platform's verifier) to the simulator behind a
//! local TLS front whose certificate a test CA signed (`tests/fixtures/tls/`:
//! `ca.pem`, and `server.pem` + `server.key` for `localhost` and `127.0.0.1`,
//! valid to 2126).
//!
//! The client trusts the test CA through `SSL_CERT_FILE`, which the platform
//! verifier reads on Linux. The variable is process-wide, so this binary holds
//! this one test.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokenomics::bench::load;
use tokenomics::client::{HttpClient, RequestContext};
use tokenomics::record::Outcome;
use tokio_util::sync::CancellationToken;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A TLS server on a loopback port in front of the simulator: each TLS
/// connection it accepts is decrypted and relayed to a connection of its own
/// to the simulator (plain HTTP/1.1 on loopback).
async fn tls_front(sim: std::net::SocketAddr) -> u16 {
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
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(sim).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
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
        let sim = tokenomics::simulator::spawn(
            tokenomics::vocab::SimConfig {
                ttft: Duration::from_millis(1),
                itl: Duration::from_micros(200),
                log_requests: false,
                ..tokenomics::vocab::SimConfig::default()
            },
            0,
        )
        .await
        .expect("simulator");
        let port = tls_front(sim.addr).await;
        let tokens = 6;
        // By name and by address: the certificate names both.
        for host in ["localhost", "127.0.0.1"] {
            let url = format!("https://{host}:{port}/v1");
            let mut endpoint = load::endpoint(&url);
            endpoint.timeouts.total = Duration::from_secs(20);
            let client = HttpClient::new(&endpoint, &url, 1).expect("client");
            let request = load::chat_request(tokens);
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
                    tokens as usize,
                    "{host}: one time per content event"
                );
                assert_eq!(
                    r.text.as_deref(),
                    Some(" tok0 tok1 tok2 tok3 tok4 tok5"),
                    "{host}: the text decrypted and decoded"
                );
                assert_eq!(rec.output_tokens, tokens);
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
        // The front opens one simulator connection per TLS connection.
        assert_eq!(sim.connections_accepted(), 2, "one connection per host");
    });
}
