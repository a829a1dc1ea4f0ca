//! The issue's one-liners (reference §2.5), run exactly as users run them, with
//! real wget and curl, and with rnc invoked as `rnc`, `nc` (openbsd personality),
//! `ncat` and `nc.traditional` (symlinks on PATH):
//!
//!     echo -e "HTTP/1.1 200 OK\r\n" | rnc -l -p PORT; echo "OK"
//!     /bin/bash -xc 'echo -e "HTTP/1.1 200 OK\r\n" | rnc -q 1 -l -p PORT; bash hook.sh'
//!
//! Both must finish within a second of the client's request: the client gets its
//! response and exits 0, the request (headers and body) is on rnc's stdout, rnc
//! exits 0 and the command after it runs.

mod common;

use common::*;
use std::time::Instant;

const PUSH_JSON: &str = r#"{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"full_name":"acme/site","clone_url":"https://example.com/acme/site.git"},"pusher":{"name":"dev","email":"dev@example.com"},"commits":[{"id":"59b20b8d","message":"Fix typo in README"}]}"#;

#[derive(Clone, Copy)]
enum Client {
    Curl,
    Wget,
}

fn path_with_names() -> std::ffi::OsString {
    let mut p = name_dir().as_os_str().to_os_string();
    p.push(":");
    p.push(std::env::var_os("PATH").unwrap_or_default());
    p
}

fn run_client(client: Client, url: &str, post: bool, dir: &TempDir) -> Done {
    let cmd = match (client, post) {
        (Client::Curl, false) => Cmd::tool("curl", [url]),
        (Client::Curl, true) => {
            Cmd::tool("curl", ["-X", "POST", "--data-binary", "@push.json", url])
        }
        (Client::Wget, false) => Cmd::tool("wget", [url]),
        (Client::Wget, true) => Cmd::tool("wget", ["--post-file=push.json", url]),
    };
    cmd.cwd(&dir.path)
        .spawn()
        .finish(std::time::Duration::from_secs(5))
}

/// `echo -e "HTTP/1.1 200 OK\r\n" | NAME -l -p PORT; echo "OK"`, then a GET.
fn blog_oneliner(name: &str, client: Client) {
    let dir = TempDir::new();
    let port = free_port();
    let script = format!(r#"echo -e "HTTP/1.1 200 OK\r\n" | {name} -l -p {port}; echo "OK""#);
    let mut sh = Cmd::bash(&script)
        .env("PATH", path_with_names())
        .env_remove("RNC_COMPAT")
        .cwd(&dir.path)
        .spawn();
    wait_port_listening(port, &mut sh, FAIL);

    let url = format!("http://127.0.0.1:{port}/");
    let t = Instant::now();
    let c = run_client(client, &url, false, &dir);
    c.ok().ended_within(t, PROMPT, "the request");
    let d = sh.finish(FAIL);
    d.ok().ended_within(t, PROMPT, "the request");

    let out = d.stdout_str();
    assert!(
        out.starts_with("GET / HTTP/1.1\r\n"),
        "the request line must be on rnc's stdout\n{}",
        d.describe()
    );
    assert!(
        out.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
        "the headers must be on rnc's stdout\n{}",
        d.describe()
    );
    assert!(
        out.ends_with("\r\n\r\nOK\n"),
        "the whole request, then `OK` from the next command\n{}",
        d.describe()
    );
    match client {
        Client::Curl => c.stdout_is(b""),
        Client::Wget => {
            let body = std::fs::read(dir.join("index.html"))
                .unwrap_or_else(|e| panic!("wget saved no index.html ({e})\n{}", c.describe()));
            assert!(body.is_empty(), "unexpected body {body:?}");
            &c
        }
    };
}

/// `/bin/bash -xc 'echo -e "HTTP/1.1 200 OK\r\n" | NAME -q 1 -l -p PORT; bash hook.sh'`,
/// then a POST of push.json.
fn webhook_oneliner(name: &str, client: Client) {
    let dir = TempDir::new();
    dir.file("push.json", PUSH_JSON.as_bytes());
    dir.file("hook.sh", b"echo HOOK-RAN\necho done > hook.out\n");
    let port = free_port();
    let script =
        format!(r#"echo -e "HTTP/1.1 200 OK\r\n" | {name} -q 1 -l -p {port}; bash hook.sh"#);
    let mut sh = Cmd::new("/bin/bash", ["-xc", &script])
        .env("PATH", path_with_names())
        .env_remove("RNC_COMPAT")
        .cwd(&dir.path)
        .spawn();
    wait_port_listening(port, &mut sh, FAIL);

    let url = format!("http://127.0.0.1:{port}/");
    let t = Instant::now();
    let c = run_client(client, &url, true, &dir);
    c.ok().ended_within(t, PROMPT, "the request");
    let d = sh.finish(FAIL);
    d.ok().ended_within(t, PROMPT, "the request");

    let out = d.stdout_str();
    assert!(
        out.starts_with("POST / HTTP/1.1\r\n"),
        "the request line must be on rnc's stdout\n{}",
        d.describe()
    );
    assert!(
        out.contains(&format!("Content-Length: {}\r\n", PUSH_JSON.len())),
        "the headers must be on rnc's stdout\n{}",
        d.describe()
    );
    assert!(
        out.ends_with(&format!("\r\n\r\n{PUSH_JSON}HOOK-RAN\n")),
        "the body must follow the headers, then the hook's output\n{}",
        d.describe()
    );
    assert!(
        dir.join("hook.out").exists(),
        "hook.sh did not run\n{}",
        d.describe()
    );
    assert!(
        d.stderr.contains("+ bash hook.sh"),
        "bash -x trace missing\n{}",
        d.describe()
    );
    if let Client::Curl = client {
        c.stdout_is(b"");
    }
}

macro_rules! oneliners {
    ($($name:ident => $f:ident($argv0:expr, $client:expr);)*) => {
        $( #[test] fn $name() { $f($argv0, $client); } )*
    };
}

oneliners! {
    blog_oneliner_rnc_wget => blog_oneliner("rnc", Client::Wget);
    blog_oneliner_rnc_curl => blog_oneliner("rnc", Client::Curl);
    blog_oneliner_as_nc_wget => blog_oneliner("nc", Client::Wget);
    blog_oneliner_as_nc_curl => blog_oneliner("nc", Client::Curl);
    blog_oneliner_as_ncat_wget => blog_oneliner("ncat", Client::Wget);
    blog_oneliner_as_ncat_curl => blog_oneliner("ncat", Client::Curl);
    blog_oneliner_as_nc_traditional_wget => blog_oneliner("nc.traditional", Client::Wget);
    blog_oneliner_as_nc_traditional_curl => blog_oneliner("nc.traditional", Client::Curl);

    webhook_oneliner_rnc_curl => webhook_oneliner("rnc", Client::Curl);
    webhook_oneliner_rnc_wget => webhook_oneliner("rnc", Client::Wget);
    webhook_oneliner_as_nc_curl => webhook_oneliner("nc", Client::Curl);
    webhook_oneliner_as_nc_wget => webhook_oneliner("nc", Client::Wget);
    webhook_oneliner_as_ncat_curl => webhook_oneliner("ncat", Client::Curl);
    webhook_oneliner_as_ncat_wget => webhook_oneliner("ncat", Client::Wget);
    webhook_oneliner_as_nc_traditional_curl => webhook_oneliner("nc.traditional", Client::Curl);
    webhook_oneliner_as_nc_traditional_wget => webhook_oneliner("nc.traditional", Client::Wget);
}
