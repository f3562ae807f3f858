//! Golden tests: each plain example in examples/kubernetes/plain/, injected with the
//! arguments on its `# inject-args:` line, is the hand-written example beside it — the same
//! fields with the same values (containers, commands, args, mounts, volumes, init
//! containers, everything else); only formatting and inject's own annotations differ.
//! Every wrapped command line is one guillotine itself accepts; uninject gives back the
//! plain document exactly.

use crate::support::{canonical, inject_args, only_document, read, run};
use clap::Parser;
use guillotine_inject::pod::{INJECTED_ANNOTATION, ORIGINAL_ANNOTATION, SIDECARS_ANNOTATION};
use guillotine_inject::value::Value;

const EXAMPLES: [&str; 3] = [
    "cloud-sql-proxy-job.yaml",
    "cronjob-batch.yaml",
    "istio-quit-job.yaml",
];

/// Removes inject's annotations everywhere, and the `annotations` and `metadata` maps that
/// held nothing else.
fn without_marks(value: &Value) -> Value {
    match value {
        Value::Map(map) => {
            let mut out = guillotine_inject::value::Map::default();
            for (key, item) in &map.0 {
                let key_text = key.as_str().unwrap_or_default();
                if [
                    INJECTED_ANNOTATION,
                    ORIGINAL_ANNOTATION,
                    SIDECARS_ANNOTATION,
                ]
                .contains(&key_text)
                {
                    continue;
                }
                let stripped = without_marks(item);
                let emptied = matches!(&stripped, Value::Map(m) if m.is_empty())
                    && matches!(item, Value::Map(m) if !m.is_empty());
                if emptied && (key_text == "annotations" || key_text == "metadata") {
                    continue;
                }
                out.0.push((key.clone(), stripped));
            }
            Value::Map(out)
        }
        Value::Seq(items) => Value::Seq(items.iter().map(without_marks).collect()),
        other => other.clone(),
    }
}

fn inject(file: &str) -> String {
    let plain = read(&format!("examples/kubernetes/plain/{file}"));
    let mut args: Vec<String> = inject_args(&plain);
    args.extend(["-f".to_owned(), format!("examples/kubernetes/plain/{file}")]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ran = run(&args, "");
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    ran.stdout
}

#[test]
fn plain_examples_injected_are_the_hand_written_ones() {
    for file in EXAMPLES {
        let injected = only_document(&inject(file));
        let hand_written = only_document(&read(&format!("examples/kubernetes/{file}")));
        assert_eq!(
            canonical(&without_marks(&injected)),
            canonical(&hand_written),
            "{file}: inject(plain/{file}) differs from {file}"
        );
    }
}

fn pod_spec(document: &Value) -> &Value {
    let template = match document.get_str("kind") {
        Some("CronJob") => document
            .get("spec")
            .and_then(|s| s.get("jobTemplate"))
            .and_then(|j| j.get("spec")),
        _ => document.get("spec"),
    };
    template
        .and_then(|t| t.get("template"))
        .and_then(|t| t.get("spec"))
        .expect("a pod spec")
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_seq)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Every `/tools/guillotine` command line inject wrote parses as guillotine's own CLI does.
fn assert_guillotine_accepts(document: &Value) {
    let spec = pod_spec(document);
    for list in ["initContainers", "containers"] {
        for container in spec.get(list).and_then(Value::as_seq).into_iter().flatten() {
            if strings(container.get("command")) != ["/tools/guillotine"] {
                continue;
            }
            let args = strings(container.get("args"));
            if args.first().map(String::as_str) == Some("run") {
                let parsed = guillotine::cli::RunArgs::try_parse_from(&args);
                assert!(
                    parsed.is_ok(),
                    "guillotine run refuses {args:?}: {parsed:?}"
                );
            } else {
                let argv = std::iter::once("guillotine".to_owned()).chain(args.clone());
                let parsed = guillotine::cli::Args::try_parse_from(argv)
                    .map_err(|e| e.to_string())
                    .and_then(|a| {
                        guillotine::config::Config::try_from(a).map_err(|e| e.to_string())
                    });
                assert!(
                    parsed.is_ok(),
                    "guillotine refuses {args:?}: {:?}",
                    parsed.err()
                );
            }
        }
    }
}

#[test]
fn every_wrapped_command_line_is_one_guillotine_accepts() {
    for file in EXAMPLES {
        assert_guillotine_accepts(&only_document(&inject(file)));
    }
    let native = run(
        &[
            "--native",
            "--exit-map",
            "143=0,TERM=0",
            "-f",
            "examples/kubernetes/plain/cloud-sql-proxy-job.yaml",
        ],
        "",
    );
    assert_guillotine_accepts(&only_document(&native.stdout));
}

#[test]
fn uninject_gives_back_the_plain_document_exactly() {
    for file in EXAMPLES {
        let injected = inject(file);
        let undone = run(&["uninject"], &injected);
        assert_eq!(undone.status, 0, "{}", undone.stderr);
        let plain = only_document(&read(&format!("examples/kubernetes/plain/{file}")));
        // Exactly: the same fields in the same order.
        assert_eq!(only_document(&undone.stdout), plain, "{file}");
    }
}

#[test]
fn native_mode_moves_the_sidecar_to_the_init_containers_and_wraps_it_only_for_an_exit_map() {
    let file = "examples/kubernetes/plain/cloud-sql-proxy-job.yaml";
    let wrapped =
        only_document(&run(&["--native", "--exit-map", "143=0,TERM=0", "-f", file], "").stdout);
    let spec = pod_spec(&wrapped);
    let inits = spec
        .get("initContainers")
        .and_then(Value::as_seq)
        .expect("init containers");
    let names: Vec<_> = inits.iter().filter_map(|c| c.get_str("name")).collect();
    assert_eq!(names, ["install-guillotine", "cloud-sql-proxy"]);
    assert_eq!(inits[1].get_str("restartPolicy"), Some("Always"));
    assert_eq!(
        strings(inits[1].get("args")),
        [
            "--exit-map=143=0,TERM=0",
            "--",
            "/cloud-sql-proxy",
            "--port=5432",
            "my-project:europe-west1:my-instance"
        ]
    );
    let mains = spec
        .get("containers")
        .and_then(Value::as_seq)
        .expect("containers");
    assert_eq!(mains.len(), 1);
    assert_eq!(
        strings(mains[0].get("command")),
        ["/app/migrate"],
        "main containers are not wrapped"
    );
    let volumes: Vec<_> = spec
        .get("volumes")
        .and_then(Value::as_seq)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get_str("name"))
        .collect();
    assert_eq!(
        volumes,
        ["guillotine-tools"],
        "no lifecycle volume: no sentinel"
    );

    let bare = only_document(&run(&["--kubernetes-version", "1.30", "-f", file], "").stdout);
    let spec = pod_spec(&bare);
    let inits = spec
        .get("initContainers")
        .and_then(Value::as_seq)
        .expect("init containers");
    assert_eq!(
        inits.len(),
        1,
        "no install container when nothing is wrapped"
    );
    assert_eq!(strings(inits[0].get("command")), ["/cloud-sql-proxy"]);
    assert!(spec.get("volumes").is_none());
}
