//! Properties on generated pod templates (Jobs, sentinel and native mode): undo(inject(x))
//! is x exactly (same fields, same order); inject(inject(x)) is inject(x); what inject
//! wrote reads back as the same value (the YAML writer keeps every value, the record
//! annotation included).

use guillotine_inject::cli::InjectArgs;
use guillotine_inject::config::{DEFAULT_IMAGE, Options};
use guillotine_inject::manifest::{Action, process};
use guillotine_inject::stream;
use guillotine_inject::value::{Map, Value};
use proptest::prelude::*;

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(Map(entries
        .into_iter()
        .map(|(k, v)| (Value::str(k), v))
        .collect()))
}

/// Strings a YAML writer can get wrong: YAML 1.1 booleans and octals, indicators, quotes,
/// newlines, long text that gets folded.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9/=:.-]{1,12}",
        Just("on".to_owned()),
        Just("0644".to_owned()),
        Just("- a".to_owned()),
        Just("#x".to_owned()),
        Just("a: b".to_owned()),
        Just("it's \"quoted\"".to_owned()),
        Just("line one\nline two\n".to_owned()),
        "[a-z ]{90,120}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(Value::Int),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        (-1.0e6f64..1.0e6).prop_map(Value::Float),
    ]
}

fn container(name: String) -> impl Strategy<Value = Value> {
    (
        proptest::option::of(proptest::collection::vec(text(), 1..3)),
        proptest::option::of(proptest::collection::vec(text(), 0..3)),
        proptest::option::of(proptest::collection::vec(
            ("[a-z]{1,6}", "/[a-z]{1,8}"),
            0..2,
        )),
        proptest::option::of(scalar()),
    )
        .prop_map(move |(command, args, mounts, extra)| {
            let mut entries = vec![
                ("name", Value::str(&name)),
                ("image", Value::str("busybox:1")),
            ];
            // A container without a command gets one from --entrypoint (see options()).
            if let Some(command) = command {
                entries.push(("command", Value::strings(&command)));
            }
            if let Some(args) = args {
                entries.push(("args", Value::strings(&args)));
            }
            if let Some(mounts) = mounts {
                let mounts = mounts
                    .into_iter()
                    .map(|(volume, path)| {
                        map(vec![
                            ("name", Value::String(volume)),
                            ("mountPath", Value::String(path)),
                        ])
                    })
                    .collect();
                entries.push(("volumeMounts", Value::Seq(mounts)));
            }
            if let Some(extra) = extra {
                entries.push(("x-extra", extra));
            }
            map(entries)
        })
}

#[derive(Debug, Clone)]
struct Case {
    job: Value,
    sidecars: Vec<String>,
    native: bool,
    by_annotation: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        2usize..5,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(
            |(count, native, by_annotation, has_metadata, has_inits, has_volumes, on_failure)| {
                let names: Vec<String> = (0..count).map(|i| format!("c{i}")).collect();
                let containers: Vec<_> = names.iter().cloned().map(container).collect();
                (
                    containers,
                    proptest::sample::subsequence(names.clone(), 1..count),
                    proptest::option::of(text()),
                    Just((
                        native,
                        by_annotation,
                        has_metadata,
                        has_inits,
                        has_volumes,
                        on_failure,
                    )),
                )
            },
        )
        .prop_map(
            |(
                containers,
                sidecars,
                label,
                (native, by_annotation, has_metadata, has_inits, has_volumes, on_failure),
            )| {
                let mut spec = vec![(
                    "restartPolicy",
                    Value::str(if on_failure { "OnFailure" } else { "Never" }),
                )];
                if has_volumes {
                    spec.push((
                        "volumes",
                        Value::Seq(vec![map(vec![
                            ("name", Value::str("data")),
                            ("emptyDir", map(vec![])),
                        ])]),
                    ));
                }
                if has_inits {
                    spec.push((
                        "initContainers",
                        Value::Seq(vec![map(vec![
                            ("name", Value::str("setup")),
                            ("image", Value::str("busybox")),
                        ])]),
                    ));
                }
                spec.push(("containers", Value::Seq(containers)));
                spec.push(("x-after", Value::Int(1)));
                let mut template = Vec::new();
                let mut annotations = Vec::new();
                if let Some(label) = label {
                    annotations.push(("example.com/note", Value::String(label)));
                }
                if by_annotation {
                    annotations.push(("guillotine/sidecars", Value::String(sidecars.join(","))));
                }
                if has_metadata || by_annotation {
                    let mut metadata = vec![("labels", map(vec![("app", Value::str("x"))]))];
                    if !annotations.is_empty() {
                        metadata.push(("annotations", map(annotations)));
                    }
                    template.push(("metadata", map(metadata)));
                }
                template.push(("spec", map(spec)));
                let job = map(vec![
                    ("apiVersion", Value::str("batch/v1")),
                    ("kind", Value::str("Job")),
                    ("metadata", map(vec![("name", Value::str("j"))])),
                    (
                        "spec",
                        map(vec![
                            ("backoffLimit", Value::Int(1)),
                            ("template", map(template)),
                        ]),
                    ),
                ]);
                Case {
                    job,
                    sidecars,
                    native,
                    by_annotation,
                }
            },
        )
}

fn options(case: &Case) -> Options {
    let names = ["c0", "c1", "c2", "c3", "c4"];
    Options::from_args(&InjectArgs {
        image: DEFAULT_IMAGE.to_owned(),
        sidecar: if case.by_annotation {
            vec![]
        } else {
            case.sidecars.clone()
        },
        native: case.native,
        exit_map: vec!["143=0".to_owned()],
        entrypoint: names.iter().map(|n| format!("{n}=/bin/{n}")).collect(),
        ..InjectArgs::default()
    })
    .unwrap_or_else(|e| panic!("options: {e}"))
}

fn inject(job: &Value, options: &Options) -> Value {
    let report = process(job, Action::Inject(options));
    match report {
        Ok(report) => report.changed.unwrap_or_else(|| job.clone()),
        Err(errors) => panic!("inject failed: {errors:?}"),
    }
}

/// Entrypoints are given for every container; one that also has a command is refused by
/// design, so give entrypoints only to those without.
fn options_for(case: &Case) -> Options {
    let mut options = options(case);
    let containers = case
        .job
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_seq)
        .cloned()
        .unwrap_or_default();
    options.entrypoints.retain(|(name, _)| {
        containers
            .iter()
            .any(|c| c.get_str("name") == Some(name.as_str()) && c.get("command").is_none())
    });
    options
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn undo_after_inject_is_the_original_exactly(case in case()) {
        let options = options_for(&case);
        let injected = inject(&case.job, &options);
        prop_assert_ne!(&injected, &case.job);
        let undone = process(&injected, Action::Undo).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(undone.changed.unwrap_or(injected), case.job);
    }

    #[test]
    fn injecting_twice_is_injecting_once(case in case()) {
        let options = options_for(&case);
        let once = inject(&case.job, &options);
        let twice = inject(&once, &options);
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn what_inject_writes_reads_back_as_the_same_value(case in case()) {
        let options = options_for(&case);
        let injected = inject(&case.job, &options);
        let text = stream::to_yaml(&injected).map_err(TestCaseError::fail)?;
        let back = stream::parse(&text).map_err(|e| TestCaseError::fail(e.message))?;
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(back[0].value.as_ref(), Some(&injected), "written as:\n{}", text);
    }
}
