//! Bulk TLS throughput through rnc's own configurations, in memory (no
//! sockets): how fast one core seals, and seals + opens, full 16 KiB records
//! for each cipher suite. `cargo run --release --example tls_bench [MiB]`
//! (default 256).
//!
//! Used to choose the crypto provider (see the tls commit): the same loop
//! built against aws-lc-rs was ~30% faster on AES-GCM and equal on ChaCha20,
//! both far above what a loopback relay moves.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;

use rnetcat::config::TlsOptions;
use rnetcat::tls;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, Connection, ServerConnection};

/// Move everything `from` has queued into `to`, draining `to`'s plaintext.
fn pump(from: &mut Connection, to: &mut Connection, sink: &mut [u8]) -> usize {
    let mut wire = Vec::with_capacity(1 << 17);
    let mut got = 0;
    while from.wants_write() {
        from.write_tls(&mut wire).expect("write_tls");
    }
    let mut rd = &wire[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).expect("read_tls");
        to.process_new_packets().expect("process_new_packets");
        loop {
            match to.reader().read(sink) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
    got
}

fn pair(ciphers: &str) -> (Connection, Connection) {
    let opts = TlsOptions {
        ciphers: Some(ciphers.to_string()),
        ..TlsOptions::default()
    };
    let server = tls::server_config(&opts, None, 0).expect("server config");
    let client = tls::client_config(&opts).expect("client config");
    let name = ServerName::try_from("localhost").expect("name");
    let mut c = Connection::Client(ClientConnection::new(client, name).expect("client"));
    let mut s = Connection::Server(ServerConnection::new(Arc::clone(&server)).expect("server"));
    let mut sink = vec![0u8; 1 << 17];
    while c.is_handshaking() || s.is_handshaking() {
        pump(&mut c, &mut s, &mut sink);
        pump(&mut s, &mut c, &mut sink);
    }
    (c, s)
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let total = mib << 20;
    let chunk = vec![0x5au8; 64 * 1024];
    let mut sink = vec![0u8; 1 << 17];
    // The temporary certificate is ECDSA, so the TLS 1.2 suites are ECDSA ones.
    for suite in [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256:!TLSv1.3",
        "ECDHE-ECDSA-AES256-GCM-SHA384:!TLSv1.3",
        "ECDHE-ECDSA-CHACHA20-POLY1305:!TLSv1.3",
    ] {
        // Seal only: what one relay direction costs the sending side.
        let (mut c, _s) = pair(suite);
        let mut wire = Vec::with_capacity(1 << 20);
        let t = Instant::now();
        let mut sent = 0;
        while sent < total {
            c.writer().write_all(&chunk).expect("write");
            sent += chunk.len();
            wire.clear();
            while c.wants_write() {
                c.write_tls(&mut wire).expect("write_tls");
            }
        }
        let seal = t.elapsed().as_secs_f64();
        // Seal + open on one core.
        let (mut c, mut s) = pair(suite);
        let t = Instant::now();
        let (mut sent, mut got) = (0, 0);
        while sent < total {
            c.writer().write_all(&chunk).expect("write");
            sent += chunk.len();
            got += pump(&mut c, &mut s, &mut sink);
        }
        let both = t.elapsed().as_secs_f64();
        assert_eq!(got, total);
        let session = tls::describe_session(&c).unwrap_or_default();
        println!(
            "{session:42} seal {:6.0} MiB/s   seal+open {:6.0} MiB/s",
            mib as f64 / seal,
            mib as f64 / both
        );
    }
}
