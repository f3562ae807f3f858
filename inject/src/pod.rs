//! Wiring one pod template, and unwiring it: the transformation itself.
//!
//! Owns: which containers are sidecars (the `guillotine/sidecars` annotation and
//! `--sidecar`), the commands the wrapped containers get, the volumes, mounts and init
//! container added, the `guillotine/injected` mark and the `guillotine/original` record
//! that makes [`undo`] exact (the original `containers`, `initContainers` and `volumes`,
//! as a YAML document, and which of `metadata` and `metadata.annotations` inject created).
//! Never: guesses a command the manifest does not show, changes a field it does not own,
//! or knows about documents, kinds or files ([`crate::manifest`] finds the template).

use crate::config::{self, Flag, Mode, Options};
use crate::value::{Map, Value};

pub const SIDECARS_ANNOTATION: &str = "guillotine/sidecars";
pub const INJECTED_ANNOTATION: &str = "guillotine/injected";
pub const ORIGINAL_ANNOTATION: &str = "guillotine/original";

/// The fields of the pod spec [`inject`] may change; [`undo`] restores exactly these.
const OWNED_FIELDS: [&str; 3] = ["containers", "initContainers", "volumes"];

/// What the template's `restartPolicy` means when it is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A bare Pod: absent means `Always`.
    Pod,
    /// A Job's (or CronJob's) pod template: the Job API requires `Never` or `OnFailure`.
    Job,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Injected,
    /// Already wired (by this `version`): left as it is.
    AlreadyInjected {
        version: String,
    },
    /// No container is named a sidecar: left as it is.
    NoSidecars,
    /// `undo` on a template inject never wired: left as it is.
    NotInjected,
    Undone,
}

/// A reason the template cannot be wired: one line saying what to fix.
pub type Error = String;

fn annotations(template: &Map) -> Option<&Map> {
    template.get("metadata")?.get("annotations")?.as_map()
}

fn strings(
    container: &str,
    field: &str,
    value: Option<&Value>,
) -> Result<Option<Vec<String>>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Seq(items)) => items
            .iter()
            .enumerate()
            .map(|(at, item)| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    format!("container {container:?}: {field}[{at}] is not a string; quote it")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!(
            "container {container:?}: {field} is not a list of strings"
        )),
    }
}

/// The container's command line as the manifest (or `--entrypoint`) shows it.
fn argv(container: &Value, name: &str, options: &Options) -> Result<Vec<String>, Error> {
    let command = strings(name, "command", container.get("command"))?.filter(|c| !c.is_empty());
    let args = strings(name, "args", container.get("args"))?.unwrap_or_default();
    let entrypoint = options
        .entrypoints
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p);
    let command = match (command, entrypoint) {
        (Some(_), Some(path)) => {
            return Err(format!(
                "container {name:?} has a command, so --entrypoint {name}={path} would replace it; drop that --entrypoint"
            ));
        }
        (Some(command), None) => command,
        (None, Some(path)) => vec![path.clone()],
        (None, None) => {
            return Err(format!(
                "container {name:?} has no command: its image's ENTRYPOINT runs, which inject cannot see; \
                 add --entrypoint {name}=PATH (the image's entrypoint) or a command to the manifest"
            ));
        }
    };
    let program = command[0].rsplit('/').next().unwrap_or_default();
    if program == "guillotine" || program == "timeout" && command[0].starts_with(config::TOOLS_DIR)
    {
        return Err(format!(
            "container {name:?} already runs {} (wired by hand, without the {INJECTED_ANNOTATION} annotation); \
             give inject the plain manifest",
            command[0]
        ));
    }
    Ok(command.into_iter().chain(args).collect())
}

fn mount(volume: &str, path: &str) -> Value {
    Value::Map(Map(vec![
        (Value::str("name"), Value::str(volume)),
        (Value::str("mountPath"), Value::str(path)),
    ]))
}

fn empty_dir(volume: &str) -> Value {
    Value::Map(Map(vec![
        (Value::str("name"), Value::str(volume)),
        (Value::str("emptyDir"), Value::Map(Map::default())),
    ]))
}

/// The init container that installs guillotine; with `resets`, it mounts the lifecycle
/// volume too and removes them first.
fn install_container(options: &Options, resets: &[String]) -> Value {
    let mut mounts = vec![mount(config::TOOLS_VOLUME, config::TOOLS_DIR)];
    if !resets.is_empty() {
        mounts.push(mount(config::LIFECYCLE_VOLUME, config::LIFECYCLE_DIR));
    }
    Value::Map(Map(vec![
        (Value::str("name"), Value::str(config::INSTALL_CONTAINER)),
        (Value::str("image"), Value::str(&options.image)),
        (
            Value::str("command"),
            Value::strings(&[config::IMAGE_BINARY]),
        ),
        (
            Value::str("args"),
            Value::strings(&config::install_args(resets)),
        ),
        (Value::str("volumeMounts"), Value::Seq(mounts)),
    ]))
}

/// Rewrites the container to run `/tools/guillotine ARGS` and mounts the volumes.
fn wrap(
    container: &mut Value,
    name: &str,
    args: Vec<String>,
    mounts: &[(&str, &str)],
) -> Result<(), Error> {
    let map = container
        .as_map_mut()
        .ok_or_else(|| format!("container {name:?} is not a mapping"))?;
    map.set_after("command", Value::strings(&[config::WRAPPER]), "image");
    map.set_after("args", Value::strings(&args), "command");
    let mounts_value = match map.get_mut("volumeMounts") {
        Some(Value::Null) | None => {
            map.set("volumeMounts", Value::Seq(vec![]));
            map.get_mut("volumeMounts")
        }
        other => other,
    };
    let list = mounts_value
        .and_then(Value::as_seq_mut)
        .ok_or_else(|| format!("container {name:?}: volumeMounts is not a list"))?;
    for (volume, path) in mounts {
        if list.iter().any(|m| m.get_str("mountPath") == Some(path)) {
            return Err(format!(
                "container {name:?} already mounts a volume at {path}, where inject mounts {volume}; move that mount"
            ));
        }
        list.push(mount(volume, path));
    }
    Ok(())
}

fn flags(flags: &[Flag]) -> impl Iterator<Item = String> + '_ {
    flags.iter().map(Flag::to_string)
}

/// The sidecars this template names: the annotation's, then `--sidecar`'s, each once.
fn sidecars(template: &Map, names: &[String], options: &Options) -> Result<Vec<String>, Error> {
    let annotated: Vec<String> = annotations(template)
        .and_then(|a| a.get(SIDECARS_ANNOTATION))
        .and_then(Value::as_str)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut chosen: Vec<String> = Vec::new();
    let named = annotated
        .iter()
        .map(|n| (n, format!("the {SIDECARS_ANNOTATION} annotation")))
        .chain(options.sidecars.iter().map(|n| (n, "--sidecar".to_owned())));
    for (name, source) in named {
        if !names.contains(name) {
            return Err(format!(
                "no container named {name:?} (named by {source}); the containers are {}",
                names.join(", ")
            ));
        }
        if !chosen.contains(name) {
            chosen.push(name.clone());
        }
    }
    // In the order of the containers, so the output does not depend on how they were named.
    Ok(names
        .iter()
        .filter(|n| chosen.contains(n))
        .cloned()
        .collect())
}

/// The record as a YAML document (a block of short lines in the manifest). YAML rather
/// than JSON: the same reader and writer as the manifest itself, which keep every value
/// exactly (floats included).
fn record_text(record: &Value) -> Result<String, Error> {
    crate::stream::to_yaml(record).map_err(|e| format!("cannot record the original pod spec: {e}"))
}

/// The list at `spec[key]`, created (empty, before `containers`, where people put it) when
/// absent or null.
fn list_before_containers<'a>(spec: &'a mut Map, key: &str) -> Result<&'a mut Vec<Value>, Error> {
    if matches!(spec.get(key), None | Some(Value::Null)) {
        spec.set_before(key, Value::Seq(vec![]), "containers");
    }
    spec.get_mut(key)
        .and_then(Value::as_seq_mut)
        .ok_or_else(|| format!("the pod spec's {key} is not a list"))
}

/// Wires the pod template (a Pod itself, or a Job's `spec.template`).
pub fn inject(template: &mut Map, owner: Owner, options: &Options) -> Result<Outcome, Error> {
    if let Some(version) = annotations(template).and_then(|a| a.get(INJECTED_ANNOTATION)) {
        return Ok(Outcome::AlreadyInjected {
            version: version.as_str().unwrap_or("?").to_owned(),
        });
    }
    let spec = template
        .get("spec")
        .and_then(Value::as_map)
        .ok_or("the pod template has no spec")?;
    let containers = spec
        .get("containers")
        .and_then(Value::as_seq)
        .filter(|c| !c.is_empty())
        .ok_or("the pod spec has no containers")?;
    let names = containers
        .iter()
        .map(|c| {
            c.get_str("name")
                .map(str::to_owned)
                .ok_or("a container has no name")
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sidecars = sidecars(template, &names, options)?;
    if sidecars.is_empty() {
        return Ok(Outcome::NoSidecars);
    }
    let mains: Vec<&String> = names.iter().filter(|n| !sidecars.contains(n)).collect();
    if mains.is_empty() {
        return Err(format!(
            "every container is a sidecar ({}): a main container must be left to do the job",
            sidecars.join(", ")
        ));
    }
    for (name, _) in &options.ready {
        if !sidecars.contains(name) {
            return Err(format!(
                "--wait-for {name}=…: {name:?} is not a sidecar of this pod (its sidecars: {})",
                sidecars.join(", ")
            ));
        }
    }
    let done_on = match (
        options.mode,
        spec.get("restartPolicy").and_then(Value::as_str),
        owner,
    ) {
        (Mode::Native, _, _) => None,
        (_, Some("Never"), _) => Some("always"),
        (_, Some("OnFailure"), _) => Some("success"),
        (_, None, Owner::Job) => {
            return Err(
                "the pod template has no restartPolicy; a Job needs Never or OnFailure: set one"
                    .to_owned(),
            );
        }
        (_, policy, _) => {
            return Err(format!(
                "restartPolicy is {} : the main container would be restarted after the sentinel stopped the sidecars; set Never or OnFailure",
                policy.unwrap_or("Always (the default)")
            ));
        }
    };
    let init_names: Vec<&str> = spec
        .get("initContainers")
        .and_then(Value::as_seq)
        .map(|inits| inits.iter().filter_map(|c| c.get_str("name")).collect())
        .unwrap_or_default();
    let volume_names: Vec<&str> = spec
        .get("volumes")
        .and_then(Value::as_seq)
        .map(|v| v.iter().filter_map(|c| c.get_str("name")).collect())
        .unwrap_or_default();
    for (taken, what) in [
        (
            init_names.contains(&config::INSTALL_CONTAINER),
            config::INSTALL_CONTAINER,
        ),
        (
            volume_names.contains(&config::TOOLS_VOLUME),
            config::TOOLS_VOLUME,
        ),
        (
            volume_names.contains(&config::LIFECYCLE_VOLUME),
            config::LIFECYCLE_VOLUME,
        ),
    ] {
        if taken {
            return Err(format!(
                "the pod already has {what:?} but no {INJECTED_ANNOTATION} annotation (wired by hand?); \
                 give inject the plain manifest"
            ));
        }
    }

    // The record that makes undo exact, taken before anything changes.
    let mut record = Map::default();
    for field in OWNED_FIELDS {
        if let Some(value) = spec.get(field) {
            record.set(field, value.clone());
        }
    }
    let metadata_existed = template.contains_key("metadata");
    let annotations_existed = template
        .get("metadata")
        .is_some_and(|m| m.get("annotations").is_some());
    let created: Vec<&str> = [
        (!metadata_existed, "metadata"),
        (!annotations_existed, "annotations"),
    ]
    .into_iter()
    .filter_map(|(created, name)| created.then_some(name))
    .collect();
    record.set("created", Value::strings(&created));
    let record = record_text(&Value::Map(record))?;

    let spec = template
        .get_mut("spec")
        .and_then(Value::as_map_mut)
        .ok_or("the pod template has no spec")?;
    // Taken out and put back in place: `containers` keeps its position among the fields.
    let mut containers = spec
        .get_mut("containers")
        .and_then(Value::as_seq_mut)
        .map(std::mem::take)
        .ok_or("the pod spec has no containers")?;
    let gated: Vec<&str> = sidecars
        .iter()
        .filter(|s| options.ready.iter().any(|(n, _)| n == *s))
        .map(String::as_str)
        .collect();
    let wrapped_any = match options.mode {
        Mode::Sentinel => {
            for container in containers.iter_mut() {
                let name = container.get_str("name").unwrap_or_default().to_owned();
                let original = argv(container, &name, options)?;
                let args: Vec<String> = if sidecars.contains(&name) {
                    let mut args = vec![format!("--watch={}", config::SENTINEL)];
                    if gated.contains(&name.as_str()) {
                        args.push(format!("--ready-file={}", config::ready_file(&name)));
                        args.extend(
                            options
                                .ready
                                .iter()
                                .filter(|(n, _)| *n == name)
                                .map(|(_, p)| format!("--ready-when={p}")),
                        );
                    }
                    args.extend(flags(&options.sidecar_flags));
                    args
                } else {
                    let mut args = vec!["run".to_owned()];
                    args.extend(
                        gated
                            .iter()
                            .map(|s| format!("--wait-for=file:{}", config::ready_file(s))),
                    );
                    // --wait-timeout is there only with --wait-for (checked with the options).
                    args.extend(flags(&options.main_flags));
                    args.push(format!("--done={}", config::SENTINEL));
                    args.push(format!("--done-on={}", done_on.unwrap_or("always")));
                    args
                };
                let args = args
                    .into_iter()
                    .chain(["--".to_owned()])
                    .chain(original)
                    .collect();
                wrap(
                    container,
                    &name,
                    args,
                    &[
                        (config::TOOLS_VOLUME, config::TOOLS_DIR),
                        (config::LIFECYCLE_VOLUME, config::LIFECYCLE_DIR),
                    ],
                )?;
            }
            spec.set("containers", Value::Seq(containers));
            true
        }
        Mode::Native => {
            let mut natives = Vec::new();
            let mut mains = Vec::new();
            for mut container in containers {
                let name = container.get_str("name").unwrap_or_default().to_owned();
                if !sidecars.contains(&name) {
                    mains.push(container);
                    continue;
                }
                if options.wrap_native {
                    let args = flags(&options.sidecar_flags)
                        .chain(["--".to_owned()])
                        .chain(argv(&container, &name, options)?)
                        .collect();
                    wrap(
                        &mut container,
                        &name,
                        args,
                        &[(config::TOOLS_VOLUME, config::TOOLS_DIR)],
                    )?;
                }
                container
                    .as_map_mut()
                    .ok_or_else(|| format!("container {name:?} is not a mapping"))?
                    .set_after("restartPolicy", Value::str("Always"), "image");
                natives.push(container);
            }
            spec.set("containers", Value::Seq(mains));
            // Sidecars first among the init containers: they run while the others do.
            list_before_containers(spec, "initContainers")?.splice(0..0, natives);
            options.wrap_native
        }
    };
    if wrapped_any {
        let mut volumes = vec![empty_dir(config::TOOLS_VOLUME)];
        if options.mode == Mode::Sentinel {
            volumes.push(empty_dir(config::LIFECYCLE_VOLUME));
        }
        // volumes, initContainers, containers: the order the examples (and most docs) use.
        list_before_containers(spec, "volumes")?.splice(0..0, volumes);
        let resets: Vec<String> = match options.mode {
            Mode::Sentinel => std::iter::once(config::SENTINEL.to_owned())
                .chain(gated.iter().map(|sidecar| config::ready_file(sidecar)))
                .collect(),
            Mode::Native => vec![],
        };
        list_before_containers(spec, "initContainers")?
            .insert(0, install_container(options, &resets));
    }

    if !metadata_existed {
        template.set_first("metadata", Value::Map(Map::default()));
    }
    let metadata = template
        .get_mut("metadata")
        .and_then(Value::as_map_mut)
        .ok_or("the pod template's metadata is not a mapping")?;
    let annotations = metadata
        .map_entry("annotations")
        .ok_or("the pod template's metadata.annotations is not a mapping")?;
    annotations.set(INJECTED_ANNOTATION, Value::str(env!("CARGO_PKG_VERSION")));
    annotations.set(ORIGINAL_ANNOTATION, Value::String(record));
    Ok(Outcome::Injected)
}

/// Unwires a template [`inject`] wired: the owned fields as recorded, the marks removed.
pub fn undo(template: &mut Map) -> Result<Outcome, Error> {
    let Some(annotations) = annotations(template) else {
        return Ok(Outcome::NotInjected);
    };
    if !annotations.contains_key(INJECTED_ANNOTATION) {
        return Ok(Outcome::NotInjected);
    }
    let unreadable = |why: String| {
        format!(
            "has the {INJECTED_ANNOTATION} annotation but its {ORIGINAL_ANNOTATION} annotation {why}, \
             so the original cannot be restored; restore the pod spec by hand (or render the manifest again)"
        )
    };
    let record: Value = annotations
        .get(ORIGINAL_ANNOTATION)
        .and_then(Value::as_str)
        .ok_or_else(|| unreadable("is missing".to_owned()))
        .and_then(|text| {
            crate::stream::from_yaml(text).map_err(|e| unreadable(format!("is not YAML ({e})")))
        })?;
    let record = record
        .as_map()
        .ok_or_else(|| unreadable("is not a mapping".to_owned()))?;
    let created: Vec<&str> = record
        .get("created")
        .and_then(Value::as_seq)
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let spec = template
        .get_mut("spec")
        .and_then(Value::as_map_mut)
        .ok_or("the pod template has no spec")?;
    for field in OWNED_FIELDS {
        match record.get(field) {
            Some(value) => spec.set(field, value.clone()),
            None => {
                spec.remove(field);
            }
        }
    }
    let metadata = template
        .get_mut("metadata")
        .and_then(Value::as_map_mut)
        .ok_or("the pod template's metadata is not a mapping")?;
    let annotations = metadata
        .get_mut("annotations")
        .and_then(Value::as_map_mut)
        .ok_or("the pod template's metadata.annotations is not a mapping")?;
    annotations.remove(INJECTED_ANNOTATION);
    annotations.remove(ORIGINAL_ANNOTATION);
    if created.contains(&"annotations") && annotations.is_empty() {
        metadata.remove("annotations");
    }
    if created.contains(&"metadata") && metadata.is_empty() {
        template.remove("metadata");
    }
    Ok(Outcome::Undone)
}
