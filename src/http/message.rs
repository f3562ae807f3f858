//! The HTTP/1.1 messages of guillotine's calls (RFC 9112), as bytes: the request it sends
//! and the status at the start of the answer.
//!
//! Owns: [`request`] and [`head`]. Never: touches a socket (that is `http`); pure functions.

use super::Method;
use crate::url::HttpUrl;

/// The request: its line, `Host`, who asks, that any type of answer will do, that the
/// connection ends with the answer, and for a POST the length of its empty body (without
/// one, a server may answer 411, RFC 9110 section 15.5.12).
pub fn request(method: Method, url: &HttpUrl) -> String {
    let (method, length) = match method {
        Method::Get => ("GET", ""),
        Method::Post => ("POST", "Content-Length: 0\r\n"),
    };
    format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: guillotine/{}\r\nAccept: */*\r\n\
         Connection: close\r\n{length}\r\n",
        url.target,
        url.host_header,
        env!("CARGO_PKG_VERSION"),
    )
}

/// What the start of an answer says so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// The final status line has not ended yet.
    Incomplete,
    /// The final status code.
    Status(u16),
    /// Not an HTTP/1.x answer, said in full.
    Invalid(String),
}

/// The final status code at the start of `received`, past any interim 1xx answers (each a
/// status line and header fields up to an empty line).
pub fn head(received: &[u8]) -> Head {
    let mut rest = received;
    loop {
        let Some((line, after)) = split_line(rest) else {
            return Head::Incomplete;
        };
        let code = match status_code(line) {
            Ok(code) => code,
            Err(error) => return Head::Invalid(error),
        };
        if !(100..200).contains(&code) {
            return Head::Status(code);
        }
        rest = after;
        loop {
            let Some((field, after)) = split_line(rest) else {
                return Head::Incomplete;
            };
            rest = after;
            if field.is_empty() {
                break;
            }
        }
    }
}

/// The first line of `bytes` without its CRLF (or a bare LF, which RFC 9112 section 2.2
/// lets a client accept), and what follows it; None while the line has not ended.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&byte| byte == b'\n')?;
    let line = &bytes[..end];
    Some((line.strip_suffix(b"\r").unwrap_or(line), &bytes[end + 1..]))
}

/// The code of the status line `HTTP/1.x NNN[ REASON]` (RFC 9112 section 4; the reason may
/// be empty, and some servers leave out the space before it too).
fn status_code(line: &[u8]) -> Result<u16, String> {
    let code = line
        .strip_prefix(b"HTTP/1.")
        .and_then(|rest| rest.split_first())
        .filter(|(minor, _)| minor.is_ascii_digit())
        .and_then(|(_, rest)| rest.strip_prefix(b" "))
        .and_then(|rest| rest.split_at_checked(3))
        .filter(|(code, reason)| {
            code.iter().all(u8::is_ascii_digit)
                && code[0] != b'0'
                && matches!(reason.first(), None | Some(b' '))
        })
        .map(|(code, _)| {
            code.iter()
                .fold(0, |sum, digit| sum * 10 + u16::from(digit - b'0'))
        });
    code.ok_or_else(|| {
        let shown = &line[..line.len().min(80)];
        format!(
            "expected an HTTP/1.x status line, received \"{}\"{} (is an HTTP server listening there?)",
            shown.escape_ascii(),
            if shown.len() < line.len() { "..." } else { "" },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url;
    use proptest::prelude::*;

    const VERSION: &str = env!("CARGO_PKG_VERSION");

    #[test]
    fn a_get_asks_for_the_target_with_host_and_port_and_no_body() {
        let url = url::parse("http://127.0.0.1:15021/healthz/ready?full=1#top").unwrap();
        assert_eq!(
            request(Method::Get, &url),
            format!(
                "GET /healthz/ready?full=1 HTTP/1.1\r\nHost: 127.0.0.1:15021\r\n\
                 User-Agent: guillotine/{VERSION}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
            )
        );
    }

    #[test]
    fn a_post_says_its_body_is_empty() {
        let url = url::parse("http://[::1]/quitquitquit").unwrap();
        assert_eq!(
            request(Method::Post, &url),
            format!(
                "POST /quitquitquit HTTP/1.1\r\nHost: [::1]\r\n\
                 User-Agent: guillotine/{VERSION}\r\nAccept: */*\r\nConnection: close\r\n\
                 Content-Length: 0\r\n\r\n"
            )
        );
    }

    #[test]
    fn the_status_is_read_from_the_first_final_status_line() {
        for (received, code) in [
            ("HTTP/1.1 200 OK\r\n", 200),
            (
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                503,
            ),
            ("HTTP/1.0 404 Not Found\r\n", 404),
            ("HTTP/1.1 204 \r\n", 204),
            ("HTTP/1.1 204\r\n", 204),
            ("HTTP/1.1 302 Found\nLocation: /elsewhere\n\n", 302),
            ("HTTP/1.1 200 OK\r\nbody that is never read", 200),
            ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n", 201),
            (
                "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n\
                 HTTP/1.1 500 Internal Server Error\r\n",
                500,
            ),
            ("HTTP/1.1 999 Odd\r\n", 999),
        ] {
            assert_eq!(
                head(received.as_bytes()),
                Head::Status(code),
                "{received:?}"
            );
        }
    }

    #[test]
    fn an_unfinished_status_line_asks_for_more() {
        for received in [
            "",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 OK\r",
            "HTTP/1.1 100 Continue\r\n",
            "HTTP/1.1 100 Continue\r\nX: y\r\n",
            "HTTP/1.1 100 Continue\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200",
        ] {
            assert_eq!(head(received.as_bytes()), Head::Incomplete, "{received:?}");
        }
    }

    #[test]
    fn anything_but_a_status_line_is_refused_saying_what_came() {
        for (received, shown) in [
            ("SSH-2.0-OpenSSH_9.6\r\n", "SSH-2.0-OpenSSH_9.6"),
            ("HTTP/2 200\r\n", "HTTP/2 200"),
            ("http/1.1 200 OK\r\n", "http/1.1 200 OK"),
            ("HTTP/1.1 20 OK\r\n", "HTTP/1.1 20 OK"),
            ("HTTP/1.1 2000 OK\r\n", "HTTP/1.1 2000 OK"),
            ("HTTP/1.1 099 Low\r\n", "HTTP/1.1 099 Low"),
            ("HTTP/1.1 2x0 OK\r\n", "HTTP/1.1 2x0 OK"),
            ("HTTP/1.1  200 OK\r\n", "HTTP/1.1  200 OK"),
            ("HTTP/1.x 200 OK\r\n", "HTTP/1.x 200 OK"),
            ("\r\n", ""),
            ("\x00\x01\r\n", "\\x00\\x01"),
            ("HTTP/1.1 100 Continue\r\n\r\nnonsense\r\n", "nonsense"),
        ] {
            assert_eq!(
                head(received.as_bytes()),
                Head::Invalid(format!(
                    "expected an HTTP/1.x status line, received \"{shown}\" (is an HTTP server \
                     listening there?)"
                )),
                "{received:?}"
            );
        }
        let long = format!("{}\r\n", "x".repeat(100));
        assert_eq!(
            head(long.as_bytes()),
            Head::Invalid(format!(
                "expected an HTTP/1.x status line, received \"{}\"... (is an HTTP server \
                 listening there?)",
                "x".repeat(80)
            ))
        );
    }

    proptest! {
        #[test]
        fn never_panics(received in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = head(&received);
        }

        #[test]
        fn a_final_status_line_gives_its_code_whatever_follows(
            minor in 0u8..10,
            code in 200u16..1000,
            reason in "[ -~]{0,20}",
            rest in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut received = format!("HTTP/1.{minor} {code} {reason}\r\n").into_bytes();
            received.extend_from_slice(&rest);
            prop_assert_eq!(head(&received), Head::Status(code));
        }
    }
}
