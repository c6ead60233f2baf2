//! TLS failures say what is wrong with the certificate, in both modes.
#![cfg(any(feature = "rustls", feature = "native-tls"))]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS server on 127.0.0.1 whose certificate is self-signed (tests/fixtures/tls, a
/// throwaway test certificate): no client trusts it. Serves handshakes until the test ends.
fn untrusted_tls_server() -> u16 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/");
    let certs = CertificateDer::pem_file_iter(format!("{dir}cert.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { return };
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
                let mut buf = [0u8; 1024];
                // The client aborts the handshake; an answer is never needed.
                if tls.read(&mut buf).is_ok() {
                    let _ = tls.write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
                    );
                }
            });
        }
    });
    port
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_untrusted_certificate_is_named_in_the_error() {
    let port = untrusted_tls_server();
    let c = oai_compat::Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(format!("https://127.0.0.1:{port}/v1"))
        .api_key("sk-tls-test")
        .max_retries(0)
        .build()
        .unwrap();
    let err = c.models().list().await.unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");
    assert!(!msg.contains("refused or unreachable"), "{msg}");
}
