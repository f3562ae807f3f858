//! `guillotine run` before COMMAND starts: URLs that can never work.

use crate::harness::{Guillotine, Sentinel, scratch};

#[test]
fn http_urls_that_can_never_work_are_usage_errors_naming_the_option() {
    for url in [
        "http://127.0.0.1:99999/ready",
        "http://127.0.0.1:0/ready",
        "http://:8080/ready",
        "http://host name/ready",
        "http://127.0.0.1:80/a path",
        "http://127.0.0.1:8x/",
    ] {
        let done = Sentinel::new();
        let mut run =
            Guillotine::start(&["run", "--done", done.arg(), "--wait-for", url, "--", "true"]);
        run.expect_exit(125);
        assert!(
            run.stderr().contains(&format!("--wait-for: {url:?}")),
            "{}",
            run.stderr()
        );
        let dir = scratch();
        let ready = dir.path().join("ready");
        let mut sidecar = Guillotine::start(&[
            "--ready-file",
            ready.to_str().unwrap(),
            "--ready-when",
            url,
            "--",
            "true",
        ]);
        sidecar.expect_exit(125);
        assert!(
            sidecar.stderr().contains(&format!("--ready-when: {url:?}")),
            "{}",
            sidecar.stderr()
        );
        let mut quitting = Guillotine::start(&["--quit-url", url, "--", "true"]);
        quitting.expect_exit(125);
        assert!(
            quitting.stderr().contains(&format!("--quit-url: {url:?}")),
            "{}",
            quitting.stderr()
        );
    }
}
