//! The one check every URL on guillotine's command line passes (`--wait-for`, `--ready-when`,
//! `--quit-url`), so that a URL that can never work is a usage error, not a silent failure.
//!
//! Owns: [`check_url`]. Never: connects anywhere (that is `http`); a pure function.

use std::net::Ipv6Addr;

/// Checks that `url` is `http://HOST[:PORT][/PATH]` with a host, a port in 1-65535 if any,
/// and nothing that would make every call fail (spaces, control or non-ASCII characters,
/// credentials); the reason when it is not. A URL that passes can still go unanswered,
/// but never for its spelling.
pub fn check_url(url: &str) -> Result<(), &'static str> {
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
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
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
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("no host");
    }
    if !host
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || b".-_~%:".contains(&byte))
    {
        return Err("the host holds a character no host name has");
    }
    if let Some(port) = port {
        let valid = port.bytes().all(|byte| byte.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|port| port > 0);
        if !valid {
            return Err("the port is not 1-65535");
        }
    }
    // Whatever else the client's own parser refuses.
    ureq::http::Uri::try_from(url).map_err(|_| "not a valid URL")?;
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
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn refuses_what_can_never_be_called_and_says_why() {
        for (url, reason) in [
            ("https://h/", "not an http:// URL"),
            ("ftp://h/", "not an http:// URL"),
            ("127.0.0.1:80", "not an http:// URL"),
            ("http://", "no host"),
            ("http:///ready", "no host"),
            ("http://:8080/ready", "no host"),
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
        fn never_panics_on_near_misses(input in "http://[\\[\\]:a-z0-9@/%. ]{0,30}") {
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
    }
}
