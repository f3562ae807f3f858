//! The two HTTP calls guillotine makes: GET for readiness probes, POST for quit URLs.
//!
//! Owns: a minimal HTTP/1.1 client and its timeouts ([`CALL_TIMEOUT`] for [`call`], the
//! caller's for [`call_within`]): one request without a body over a `std::net::TcpStream`,
//! `Connection: close`, and the status code of the answer; nothing after the status line
//! (header fields, body) is read. The pure half, the request's bytes and the status read
//! out of what came back, is [`message`]; the I/O here blocks, so it runs on tokio's
//! blocking pool.
//!
//! The timeout bounds the whole call: resolving the host (tokio's `lookup_host`, given up
//! when the time runs out; a name lookup then finishes in the background, bounded by the
//! libc resolver's own timeouts; an IP address is never looked up), connecting to each of
//! its addresses in turn, sending, and waiting for the status line, each with what is left.
//!
//! Redirects are not followed: a 3xx is the answer, so a probe holds and a quit URL
//! succeeds on a 2xx alone, as the README and `--help` say (Kubernetes' `httpGet` probe,
//! unlike guillotine's, counts 200-399 as success), and a POST is never turned into a GET
//! on another path. Interim 1xx answers are skipped, as RFC 9110 section 15.2 asks of every
//! client. URLs were checked when the command line was read, by the same parse (`url`).
//!
//! Never: blocks the event loop, speaks TLS, sends or reads a body, or retries on its own
//! (callers decide, and [`Failure`] tells them whether anything was listening).

use crate::duration::format_duration;
use crate::url;
use message::{Head, head, request};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod message;

/// How long one call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The most read before the final status line has ended (interim answers included): more
/// is no HTTP server.
const LONGEST_HEAD: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Why a call got no status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing listens there (yet): the connection was refused.
    Refused,
    /// The call's time ran out (resolving, connecting, sending or waiting for the answer).
    TimedOut,
    /// Anything else, said in full.
    Other(String),
}

/// Sends one request with an empty body, bounded by [`CALL_TIMEOUT`]; the status code, or
/// why there was none.
pub async fn call(method: Method, url: String) -> Result<u16, String> {
    call_within(method, url, CALL_TIMEOUT)
        .await
        .map_err(|failure| match failure {
            Failure::Refused => "connection refused (is anything listening there?)".to_owned(),
            Failure::TimedOut => format!("no answer within {}", format_duration(CALL_TIMEOUT)),
            Failure::Other(error) => error,
        })
}

/// Sends one request with an empty body, bounded by `timeout` as a whole (see the module
/// docs); the status code, or why there was none.
pub async fn call_within(method: Method, url: String, timeout: Duration) -> Result<u16, Failure> {
    let start = Instant::now();
    let url = url::parse(&url).map_err(|reason| Failure::Other(format!("{url}: {reason}")))?;
    let addresses: Vec<SocketAddr> = tokio::time::timeout(
        timeout,
        tokio::net::lookup_host((url.host.as_str(), url.port)),
    )
    .await
    .map_err(|_| Failure::TimedOut)?
    .map_err(|error| Failure::Other(format!("cannot resolve {}: {error}", url.host)))?
    .collect();
    let request = request(method, &url);
    tokio::task::spawn_blocking(move || exchange(&addresses, request.as_bytes(), start, timeout))
        .await
        .map_err(|error| Failure::Other(error.to_string()))?
}

/// Connects to the first of `addresses` that accepts, sends `request` and reads up to the
/// final status line, all within `timeout` of `start`.
fn exchange(
    addresses: &[SocketAddr],
    request: &[u8],
    start: Instant,
    timeout: Duration,
) -> Result<u16, Failure> {
    let left = || {
        Some(timeout.saturating_sub(start.elapsed()))
            .filter(|left| !left.is_zero())
            .ok_or(Failure::TimedOut)
    };
    let mut stream = connect(addresses, &left)?;
    stream
        .set_write_timeout(Some(left()?))
        .and_then(|()| stream.write_all(request))
        .map_err(|error| failed("sending the request", error))?;
    let mut received = Vec::new();
    let mut chunk = [0; 1024];
    loop {
        match head(&received) {
            Head::Status(code) => return Ok(code),
            Head::Invalid(error) => return Err(Failure::Other(error)),
            Head::Incomplete if received.len() >= LONGEST_HEAD => {
                return Err(Failure::Other(format!(
                    "no status line in the first {} KiB of the answer (is an HTTP server \
                     listening there?)",
                    LONGEST_HEAD / 1024
                )));
            }
            Head::Incomplete => {}
        }
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|error| failed("waiting for the answer", error))?;
        match stream.read(&mut chunk) {
            Ok(0) if received.is_empty() => {
                return Err(Failure::Other(
                    "the connection closed before any answer (is an HTTP server listening \
                     there?)"
                        .to_owned(),
                ));
            }
            Ok(0) => {
                return Err(Failure::Other(format!(
                    "the connection closed before the status line ended, after \"{}\"",
                    received[..received.len().min(80)].escape_ascii()
                )));
            }
            Ok(read) => received.extend_from_slice(&chunk[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(failed("waiting for the answer", error)),
        }
    }
}

/// Connects to the first of `addresses` that accepts, each try bounded by what is `left`.
/// Refused when one of them refused and none accepted: something answers at that host but
/// nothing listens on the port yet (`localhost` may also name an `::1` that a pod without
/// IPv6 cannot reach, and that does not change it).
fn connect(
    addresses: &[SocketAddr],
    left: &dyn Fn() -> Result<Duration, Failure>,
) -> Result<TcpStream, Failure> {
    let mut refused = false;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect_timeout(address, left()?) {
            Ok(stream) => return Ok(stream),
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => refused = true,
            Err(error) => match failed(&format!("connecting to {address}"), error) {
                Failure::TimedOut => return Err(Failure::TimedOut),
                other => last = Some(other),
            },
        }
    }
    match (refused, last) {
        (true, _) => Err(Failure::Refused),
        (false, Some(failure)) => Err(failure),
        (false, None) => Err(Failure::Other("the host has no address".to_owned())),
    }
}

/// A socket's error, while `doing` something: a timeout (a socket timeout reads as
/// `WouldBlock`) or, said in full, anything else.
fn failed(doing: &str, error: io::Error) -> Failure {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Failure::TimedOut,
        _ => Failure::Other(format!("{doing}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread::JoinHandle;

    const VERSION: &str = env!("CARGO_PKG_VERSION");

    /// The longest a call may overrun its timeout on a loaded machine.
    const SLACK: Duration = Duration::from_secs(2);

    /// `call_within` on a runtime of its own; its answer and how long it took. Fails if it
    /// outlives its timeout by [`SLACK`].
    fn call_bounded(
        method: Method,
        url: &str,
        timeout: Duration,
    ) -> (Result<u16, Failure>, Duration) {
        let (sender, receiver) = mpsc::channel();
        let url = url.to_owned();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let start = Instant::now();
            let answer = runtime.block_on(call_within(method, url, timeout));
            let _ = sender.send((answer, start.elapsed()));
        });
        receiver
            .recv_timeout(timeout + SLACK)
            .expect("the call outlived its timeout")
    }

    /// A server on `address` for one connection, which `serve` handles; its URL for `path`
    /// and what `serve` returns.
    fn serve_once<T: Send + 'static>(
        listener: TcpListener,
        path: &str,
        serve: impl FnOnce(TcpStream) -> T + Send + 'static,
    ) -> (String, JoinHandle<T>) {
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || serve(listener.accept().unwrap().0));
        (format!("http://{address}{path}"), server)
    }

    fn loopback() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").unwrap()
    }

    /// Reads the request's head (up to its empty line).
    fn read_head(stream: &mut TcpStream) -> Vec<u8> {
        let mut head = Vec::new();
        let mut byte = [0];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        head
    }

    #[test]
    fn the_request_goes_out_as_written_and_nothing_after_it() {
        for (method, sent) in [(Method::Get, "GET"), (Method::Post, "POST")] {
            let (url, server) =
                serve_once(loopback(), "/quit/now?x=1&y=%2F#not-sent", |mut stream| {
                    let mut received = read_head(&mut stream);
                    stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
                    // Everything until the client closes: its head and nothing more.
                    let _ = stream.read_to_end(&mut received);
                    received
                });
            let (answer, _) = call_bounded(method, &url, Duration::from_secs(5));
            assert_eq!(answer, Ok(200));
            let port = url.split([':', '/']).nth(4).unwrap();
            let length = if method == Method::Post {
                "Content-Length: 0\r\n"
            } else {
                ""
            };
            assert_eq!(
                String::from_utf8(server.join().unwrap()).unwrap(),
                format!(
                    "{sent} /quit/now?x=1&y=%2F HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                     User-Agent: guillotine/{VERSION}\r\nAccept: */*\r\nConnection: close\r\n\
                     {length}\r\n"
                )
            );
        }
    }

    #[test]
    fn a_server_that_never_answers_times_out_within_the_bound() {
        let timeout = Duration::from_millis(500);
        let (url, _server) = serve_once(loopback(), "/", |mut stream| {
            // Holds the connection open until the client gives up.
            let _ = stream.read_to_end(&mut Vec::new());
        });
        let (answer, took) = call_bounded(Method::Get, &url, timeout);
        assert_eq!(answer, Err(Failure::TimedOut));
        assert!(
            took >= timeout,
            "gave up after {took:?}, before {timeout:?}"
        );
    }

    #[test]
    fn an_answer_is_the_status_line_alone_not_the_rest() {
        let (url, _server) = serve_once(loopback(), "/", |mut stream| {
            read_head(&mut stream);
            stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1000000\r\n\r\n")
                .unwrap();
            // The body never comes, and the connection stays open.
            let _ = stream.read_to_end(&mut Vec::new());
        });
        let (answer, took) = call_bounded(Method::Get, &url, Duration::from_secs(30));
        assert_eq!(answer, Ok(503));
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }

    #[test]
    fn a_connection_closed_at_once_fails_without_waiting() {
        let (url, _server) = serve_once(loopback(), "/", drop);
        let (answer, took) = call_bounded(Method::Post, &url, Duration::from_secs(30));
        assert!(matches!(answer, Err(Failure::Other(_))), "{answer:?}");
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }

    #[test]
    fn a_connection_closed_after_the_request_says_so() {
        let (url, _server) = serve_once(loopback(), "/", |mut stream| {
            read_head(&mut stream);
        });
        let (answer, _) = call_bounded(Method::Get, &url, Duration::from_secs(30));
        assert_eq!(
            answer,
            Err(Failure::Other(
                "the connection closed before any answer (is an HTTP server listening there?)"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn garbage_is_an_error_naming_what_came() {
        let (url, _server) = serve_once(loopback(), "/", |mut stream| {
            read_head(&mut stream);
            stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").unwrap();
            let _ = stream.read_to_end(&mut Vec::new());
        });
        let (answer, _) = call_bounded(Method::Get, &url, Duration::from_secs(30));
        assert_eq!(
            answer,
            Err(Failure::Other(
                "expected an HTTP/1.x status line, received \"SSH-2.0-OpenSSH_9.6\" (is an HTTP \
                 server listening there?)"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn an_endless_first_line_is_an_error_not_a_wait() {
        let (url, _server) = serve_once(loopback(), "/", |mut stream| {
            read_head(&mut stream);
            // Until the client hangs up.
            while stream.write_all(&[b'x'; 1024]).is_ok() {}
        });
        let (answer, _) = call_bounded(Method::Get, &url, Duration::from_secs(30));
        assert_eq!(
            answer,
            Err(Failure::Other(
                "no status line in the first 8 KiB of the answer (is an HTTP server listening \
                 there?)"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn a_closed_port_is_refused() {
        let listener = loopback();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let (answer, _) = call_bounded(
            Method::Post,
            &format!("http://{address}/"),
            Duration::from_secs(5),
        );
        assert_eq!(answer, Err(Failure::Refused));
    }

    #[test]
    fn a_name_is_resolved() {
        let (url, server) = serve_once(loopback(), "/", |mut stream| {
            let head = read_head(&mut stream);
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .unwrap();
            head
        });
        let url = url.replace("127.0.0.1", "localhost");
        let (answer, _) = call_bounded(Method::Get, &url, Duration::from_secs(5));
        assert_eq!(answer, Ok(204));
        let port = url.split([':', '/']).nth(4).unwrap();
        let head = String::from_utf8(server.join().unwrap()).unwrap();
        assert!(
            head.contains(&format!("\r\nHost: localhost:{port}\r\n")),
            "{head}"
        );
    }

    #[test]
    fn each_address_is_tried_and_a_refusal_anywhere_means_refused() {
        let left = || Ok(Duration::from_secs(5));
        let closed = {
            let listener = loopback();
            listener.local_addr().unwrap()
        };
        let listener = loopback();
        let live = listener.local_addr().unwrap();
        assert!(connect(&[closed, live], &left).is_ok());
        // Broadcast: no connection can go there, and it fails at once (not a refusal).
        let unreachable: SocketAddr = "255.255.255.255:80".parse().unwrap();
        assert_eq!(
            connect(&[unreachable, closed], &left).err(),
            Some(Failure::Refused)
        );
        assert_eq!(
            connect(&[closed, unreachable], &left).err(),
            Some(Failure::Refused)
        );
        let failure = connect(&[unreachable], &left).err();
        assert!(
            matches!(&failure, Some(Failure::Other(error)) if error.starts_with("connecting to 255.255.255.255:80: ")),
            "{failure:?}"
        );
    }

    #[test]
    fn ipv6_loopback_in_brackets() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            eprintln!("no IPv6 loopback here: skipped");
            return;
        };
        let (url, server) = serve_once(listener, "/ready", |mut stream| {
            let head = read_head(&mut stream);
            stream.write_all(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
            head
        });
        assert!(url.starts_with("http://[::1]:"), "{url}");
        let (answer, _) = call_bounded(Method::Get, &url, Duration::from_secs(5));
        assert_eq!(answer, Ok(200));
        let port = url.rsplit_once(':').unwrap().1.trim_end_matches("/ready");
        let head = String::from_utf8(server.join().unwrap()).unwrap();
        assert!(
            head.starts_with(&format!("GET /ready HTTP/1.1\r\nHost: [::1]:{port}\r\n")),
            "{head}"
        );
    }
}
