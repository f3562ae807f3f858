//! The one parse of every URL on guillotine's command line (`--wait-for`, `--ready-when`,
//! `--quit-url`): [`check_url`] runs it when the command line is read, so that a URL that can
//! never work is a usage error, not a silent failure; `http` runs it again at each call, so
//! the check and the call can never read a URL differently.
//!
//! Owns: [`HttpUrl`] (where to connect and what to ask there), [`parse`], [`check_url`].
//! Never: resolves or connects anywhere (that is `http`); pure functions.

use std::net::Ipv6Addr;

/// An `http://` URL taken apart for one HTTP/1.1 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// What to resolve and connect to: a name, an IPv4 address, or an IPv6 address without
    /// its brackets.
    pub host: String,
    /// The URL's port; 80 when it gives none.
    pub port: u16,
    /// The `Host` header's value: the host as written (an IPv6 address in its brackets),
    /// with `:PORT` when the URL gives one.
    pub host_header: String,
    /// The request target: the path and the query, `/` when the path is empty. Never the
    /// fragment, which is not sent (RFC 3986 section 3.5).
    pub target: String,
}

/// Takes `url` apart if it is `http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]` with a host, a
/// port in 1-65535 if any, and nothing that would make every call fail (spaces, control or
/// non-ASCII characters, characters RFC 3986 leaves out of a path or query, credentials);
/// the reason when it is not.
pub fn parse(url: &str) -> Result<HttpUrl, &'static str> {
    let rest = url.strip_prefix("http://").ok_or("not an http:// URL")?;
    if url
        .bytes()
        .any(|byte| byte.is_ascii_whitespace() || byte.is_ascii_control())
    {
        return Err("it holds a space or a control character (percent-encode it)");
    }
    if !url.is_ascii() {
        return Err("it holds a character outside ASCII (percent-encode it)");
    }
    let (authority, path_query_fragment) =
        rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err("credentials in the URL are not supported");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (address, after) = bracketed
                .split_once(']')
                .ok_or("no ] after the IPv6 address")?;
            address
                .parse::<Ipv6Addr>()
                .map_err(|_| "the host is not an IPv6 address")?;
            match after {
                "" => (address, None),
                _ => (
                    address,
                    Some(after.strip_prefix(':').ok_or("junk after ]")?),
                ),
            }
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            if !host
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b".-_~".contains(&byte))
            {
                return Err("the host holds a character no host name has");
            }
            (host, port)
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = match port {
        None => 80,
        Some(port) => port
            .bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| port.parse::<u16>().ok())
            .flatten()
            .filter(|&port| port > 0)
            .ok_or("the port is not 1-65535")?,
    };
    let (path_query, fragment) = path_query_fragment
        .split_once('#')
        .unwrap_or((path_query_fragment, ""));
    let (path, query) = match path_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_query, None),
    };
    check_part(path, b"/")?;
    check_part(query.unwrap_or(""), b"/?")?;
    check_part(fragment, b"/?")?;
    let path = if path.is_empty() { "/" } else { path };
    Ok(HttpUrl {
        host: host.to_owned(),
        port,
        host_header: authority.to_owned(),
        target: match query {
            Some(query) => format!("{path}?{query}"),
            None => path.to_owned(),
        },
    })
}

/// Checks that `url` is one [`parse`] takes; the reason when it is not. A URL that passes
/// can still go unanswered, but never for its spelling.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    parse(url).map(drop)
}

/// Checks a path, query or fragment against RFC 3986's grammar: unreserved characters,
/// sub-delims, `:`, `@`, the part's own `also` (`/`, and `?` after the path), and `%`
/// followed by two hex digits.
fn check_part(part: &str, also: &[u8]) -> Result<(), &'static str> {
    let mut bytes = part.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            if !(bytes.next().is_some_and(|byte| byte.is_ascii_hexdigit())
                && bytes.next().is_some_and(|byte| byte.is_ascii_hexdigit()))
            {
                return Err("a % not followed by two hex digits (write a % itself as %25)");
            }
        } else if !(byte.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@".contains(&byte)
            || also.contains(&byte))
        {
            return Err(
                "the path or query holds a character URLs leave out, one of \" < > [ ] \\ ^ ` { | } # (percent-encode it)",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_what_a_probe_or_quit_endpoint_looks_like() {
        for url in [
            "http://127.0.0.1:15000/quitquitquit",
            "http://localhost:15021/healthz/ready",
            "http://localhost/",
            "http://localhost",
            "http://[::1]:8080/ready?full=1",
            "http://[::1]",
            "http://my-svc.ns.svc.cluster.local:65535/a%20b",
            "http://h:1",
            "http://h/a:b@c!$&'()*+,;=-._~/?q=/?x#f/?",
            "http://h?",
            "http://h#",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn takes_a_url_apart_for_the_request() {
        for (url, host, port, host_header, target) in [
            ("http://localhost", "localhost", 80, "localhost", "/"),
            ("http://h:8080", "h", 8080, "h:8080", "/"),
            ("http://h:80/", "h", 80, "h:80", "/"),
            (
                "http://127.0.0.1:15020/quitquitquit",
                "127.0.0.1",
                15020,
                "127.0.0.1:15020",
                "/quitquitquit",
            ),
            (
                "http://[::1]:8080/ready?full=1#top",
                "::1",
                8080,
                "[::1]:8080",
                "/ready?full=1",
            ),
            ("http://[::1]", "::1", 80, "[::1]", "/"),
            ("http://h?a=1", "h", 80, "h", "/?a=1"),
            ("http://h#top", "h", 80, "h", "/"),
            ("http://h/a?b?c#d?e", "h", 80, "h", "/a?b?c"),
            ("http://h/%2F?", "h", 80, "h", "/%2F?"),
        ] {
            assert_eq!(
                parse(url),
                Ok(HttpUrl {
                    host: host.to_owned(),
                    port,
                    host_header: host_header.to_owned(),
                    target: target.to_owned(),
                }),
                "{url}"
            );
        }
    }

    #[test]
    fn refuses_what_can_never_be_called_and_says_why() {
        let character = "the path or query holds a character URLs leave out, one of \" < > [ ] \\ ^ ` { | } # (percent-encode it)";
        let percent = "a % not followed by two hex digits (write a % itself as %25)";
        for (url, reason) in [
            ("https://h/", "not an http:// URL"),
            ("ftp://h/", "not an http:// URL"),
            ("127.0.0.1:80", "not an http:// URL"),
            ("http://", "no host"),
            ("http:///ready", "no host"),
            ("http://:8080/ready", "no host"),
            ("http://?q", "no host"),
            ("http://h:99999/", "the port is not 1-65535"),
            ("http://h:0/", "the port is not 1-65535"),
            ("http://h:/", "the port is not 1-65535"),
            ("http://h:8x/", "the port is not 1-65535"),
            ("http://h:+80/", "the port is not 1-65535"),
            ("http://h:1:2/", "the port is not 1-65535"),
            (
                "http://host name/",
                "it holds a space or a control character (percent-encode it)",
            ),
            (
                "http://h/a path",
                "it holds a space or a control character (percent-encode it)",
            ),
            (
                "http://h/\n",
                "it holds a space or a control character (percent-encode it)",
            ),
            (
                "http://hé/",
                "it holds a character outside ASCII (percent-encode it)",
            ),
            (
                "http://user:pw@h/",
                "credentials in the URL are not supported",
            ),
            ("http://[::1/", "no ] after the IPv6 address"),
            ("http://[nope]:80/", "the host is not an IPv6 address"),
            ("http://[::1]x/", "junk after ]"),
            ("http://h<>/", "the host holds a character no host name has"),
            (
                "http://a%20b/",
                "the host holds a character no host name has",
            ),
            ("http://h/<x>", character),
            ("http://h/a\"b", character),
            ("http://h/{}", character),
            ("http://h/a|b", character),
            ("http://h/a\\b", character),
            ("http://h/a^b", character),
            ("http://h/a`b", character),
            ("http://h/[0]", character),
            ("http://h/?a[]=1", character),
            ("http://h/#a#b", character),
            ("http://h/%", percent),
            ("http://h/%2", percent),
            ("http://h/?%zz", percent),
            ("http://h/#%4", percent),
        ] {
            assert_eq!(check_url(url), Err(reason), "{url}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(input in ".*") {
            let _ = check_url(&input);
        }

        #[test]
        fn never_panics_on_near_misses(input in "http://[\\[\\]:a-z0-9@/%?#. ]{0,30}") {
            let _ = check_url(&input);
        }

        #[test]
        fn plain_urls_pass(
            host in "[a-z][a-z0-9-]{0,20}(\\.[a-z0-9-]{1,10}){0,3}",
            port in 1u16..,
            path in "(/[A-Za-z0-9._~-]{0,10}){0,4}",
        ) {
            let url = format!("http://{host}:{port}{path}");
            prop_assert_eq!(check_url(&url), Ok(()));
        }

        #[test]
        fn the_parts_come_back_as_written(
            host in "[a-z][a-z0-9-]{0,20}(\\.[a-z0-9-]{1,10}){0,3}",
            port in proptest::option::of(1u16..),
            path in "(/[A-Za-z0-9._~-]{0,10}){0,4}",
            query in proptest::option::of("[A-Za-z0-9=&/?:@-]{0,20}"),
            fragment in proptest::option::of("[A-Za-z0-9/?-]{0,10}"),
        ) {
            let authority = match port {
                Some(port) => format!("{host}:{port}"),
                None => host.clone(),
            };
            let query = query.map(|query| format!("?{query}")).unwrap_or_default();
            let fragment = fragment.map(|fragment| format!("#{fragment}")).unwrap_or_default();
            let url = format!("http://{authority}{path}{query}{fragment}");
            let path = if path.is_empty() { "/".to_owned() } else { path };
            prop_assert_eq!(
                parse(&url),
                Ok(HttpUrl {
                    host,
                    port: port.unwrap_or(80),
                    host_header: authority,
                    target: format!("{path}{query}"),
                })
            );
        }
    }
}
