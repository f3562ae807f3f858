//! kubectl-guillotine as a Helm post-renderer: a rendered multi-document stream on standard
//! input, the result on standard output. Other kinds pass through byte for byte; a stream
//! with one document that cannot be wired writes nothing at all.

use crate::support::{documents, run};

const SERVICE: &str = "---
# Source: app/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: app   # a comment that must survive
  labels: {tier: web, \"on\": yes}
spec:
  ports:
    - port: 80
      targetPort: 0x1F90
";

const CONFIG_MAP: &str = "---
# Source: app/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  mode: \"0644\"
  script: |
    echo hello
    --- not a document marker: indented
";

const JOB: &str = "---
# Source: app/templates/migrate.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: app-migrate
  annotations:
    helm.sh/hook: pre-install
spec:
  template:
    metadata:
      annotations:
        guillotine/sidecars: proxy
    spec:
      restartPolicy: OnFailure
      containers:
        - name: proxy
          image: proxy:1
          command: [/proxy]
        - name: migrate
          image: app:1
          command: [/migrate]
";

fn stream() -> String {
    format!("{SERVICE}{CONFIG_MAP}---\n# Source: app/templates/empty.yaml\n{JOB}")
}

#[test]
fn other_kinds_pass_through_byte_for_byte_and_the_job_is_wired() {
    let ran = run(&[], &stream());
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.starts_with(&format!(
            "{SERVICE}{CONFIG_MAP}---\n# Source: app/templates/empty.yaml\n"
        )),
        "{}",
        ran.stdout
    );
    let docs = documents(&ran.stdout);
    let kinds: Vec<_> = docs.iter().filter_map(|d| d.get_str("kind")).collect();
    assert_eq!(kinds, ["Service", "ConfigMap", "Job"]);
    let job = ran
        .stdout
        .split("# Source: app/templates/migrate.yaml\n")
        .nth(1)
        .expect("the Job keeps its # Source line");
    assert!(job.contains("/tools/guillotine"), "{job}");
    assert!(
        job.contains("--done-on=success"),
        "OnFailure means --done-on success: {job}"
    );
    assert!(job.contains("helm.sh/hook: pre-install"), "{job}");
}

#[test]
fn inject_dash_f_dash_is_the_same_as_no_subcommand() {
    let bare = run(&[], &stream());
    let explicit = run(&["inject", "-f", "-"], &stream());
    assert_eq!(
        (bare.status, &bare.stdout),
        (explicit.status, &explicit.stdout)
    );
}

#[test]
fn one_document_that_cannot_be_wired_fails_the_run_with_nothing_written() {
    let broken = JOB.replace("command: [/migrate]", "args: [--all]");
    let ran = run(&[], &format!("{SERVICE}{broken}"));
    assert_eq!(ran.status, 1);
    assert_eq!(ran.stdout, "", "a post-renderer must not half-apply");
    assert_eq!(
        ran.stderr.trim(),
        "kubectl-guillotine: -: document 2: Job/app-migrate: container \"migrate\" has no command: its image's \
         ENTRYPOINT runs, which inject cannot see; add --entrypoint migrate=PATH (the image's entrypoint) or a \
         command to the manifest"
    );
}

#[test]
fn the_environment_configures_a_post_renderer_started_without_arguments() {
    let plain = JOB.replace(
        "      annotations:\n        guillotine/sidecars: proxy\n",
        "      annotations: {}\n",
    );
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-guillotine"));
    command
        .env_clear()
        .env("GUILLOTINE_INJECT_SIDECARS", "proxy")
        .env("GUILLOTINE_INJECT_GRACE", "5s");
    let out = {
        use std::io::Write;
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(plain.as_bytes())
            .expect("written");
        child.wait_with_output().expect("ends")
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("--grace=5s"), "{text}");
}
