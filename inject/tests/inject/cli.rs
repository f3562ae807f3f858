//! The command line's contract: exit statuses (1 input, 2 usage), one line per problem
//! naming the document and what to fix, idempotence on the real binary.

use crate::support::run;

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  restartPolicy: Never
  containers:
    - name: sidecar
      image: busybox
      command: [sleep, \"3600\"]
    - name: main
      image: busybox
      command: [\"true\"]
";

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--no-such-option"][..],
        &["--sidecar", "sidecar", "--grace", "14x"],
        &["--wrap"],
    ] {
        let ran = run(args, POD);
        assert_eq!(ran.status, 2, "{args:?}");
        assert_eq!(ran.stdout, "");
    }
    let ran = run(&["--grace", "14x"], POD);
    assert!(
        ran.stderr.starts_with("kubectl-guillotine: --grace: "),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_sidecar_that_does_not_exist_is_named_with_the_containers_that_do() {
    let ran = run(&["--sidecar", "envoy"], POD);
    assert_eq!(ran.status, 1);
    assert_eq!(
        ran.stderr.trim(),
        "kubectl-guillotine: -: document 1: Pod/p: no container named \"envoy\" (named by --sidecar); \
         the containers are sidecar, main"
    );
}

#[test]
fn a_pod_restarted_always_is_refused_and_says_what_to_set() {
    let ran = run(
        &["--sidecar", "sidecar"],
        &POD.replace("restartPolicy: Never", "restartPolicy: Always"),
    );
    assert_eq!(ran.status, 1);
    assert!(
        ran.stderr.contains("set Never or OnFailure"),
        "{}",
        ran.stderr
    );
}

#[test]
fn injecting_twice_changes_nothing_and_says_so() {
    let once = run(&["--sidecar", "sidecar"], POD);
    assert_eq!(once.status, 0);
    let twice = run(&["--sidecar", "sidecar"], &once.stdout);
    assert_eq!(twice.status, 0);
    assert_eq!(twice.stdout, once.stdout);
    assert!(twice.stderr.contains("already wired"), "{}", twice.stderr);
}

#[test]
fn a_hand_wired_manifest_is_refused_not_wrapped_twice() {
    let ran = run(
        &[
            "-f",
            "examples/kubernetes/cloud-sql-proxy-job.yaml",
            "--sidecar",
            "cloud-sql-proxy",
        ],
        "",
    );
    assert_eq!(ran.status, 1);
    assert!(
        ran.stderr.contains("give inject the plain manifest"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_file_that_cannot_be_read_is_an_input_error() {
    let ran = run(&["-f", "no/such/file.yaml"], "");
    assert_eq!(ran.status, 1);
    assert!(
        ran.stderr
            .starts_with("kubectl-guillotine: no/such/file.yaml: cannot read it"),
        "{}",
        ran.stderr
    );
}

#[test]
fn deadline_on_term_and_main_quit_urls_pass_through_as_guillotine_reads_them() {
    let ran = run(
        &[
            "--sidecar",
            "sidecar",
            "--deadline",
            "2026-12-11T18:00:00Z",
            "--on-term",
            "stop",
            "--main-quit-url",
            "http://127.0.0.1:15020/quitquitquit",
        ],
        POD,
    );
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    for expected in [
        "--deadline=2026-12-11T18:00:00Z",
        "--on-term=stop",
        "--quit-url=http://127.0.0.1:15020/quitquitquit",
    ] {
        assert!(
            ran.stdout.contains(expected),
            "{expected} in {}",
            ran.stdout
        );
    }
    // Checked with guillotine's own parsers before anything is written.
    for (args, option) in [
        (
            &["--sidecar", "sidecar", "--deadline", "soon"][..],
            "--deadline",
        ),
        (&["--sidecar", "sidecar", "--on-term", "kill"], "--on-term"),
        (
            &["--sidecar", "sidecar", "--main-quit-url", "http://h:99999/"],
            "--quit-url",
        ),
    ] {
        let ran = run(args, POD);
        assert_eq!(ran.status, 2, "{args:?}");
        assert!(ran.stderr.contains(option), "{}", ran.stderr);
        assert_eq!(ran.stdout, "");
    }
}
