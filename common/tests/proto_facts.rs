//! Our compiled .proto declarations against facts taken from Apache Mesos.
//!
//! `data/mesos_proto_facts.tsv` lists every message, field (number, label,
//! type, default, deprecation, oneof) and enum value of the Apache Mesos
//! 1.11 protos (commit c1b42f79). It was produced at dev time from the
//! upstream files, never from ours:
//!
//! 1. lay out a tree where `include/mesos/**` becomes `mesos/**` and every
//!    `src/**/*.proto` keeps its path below `src/` (so imports resolve), plus
//!    a `google/protobuf/duration.proto`;
//! 2. `protoc -I<tree> --include_imports --descriptor_set_out=all.pb` on all
//!    of them except `src/tests/**` and
//!    `resource_provider/storage/disk_profile.proto` (it needs the external
//!    CSI spec);
//! 3. `python3 data/dump_proto_facts.py all.pb > data/mesos_proto_facts.tsv`
//!    (needs the `protobuf` Python package).
//!
//! This test renders the same lines from our embedded descriptor set and
//! requires every fact of every message and enum we declare to match, and
//! nothing extra. Messages of the table we do not declare are printed and
//! must belong to the packages listed in `NOT_DECLARED_PACKAGES`.

use std::collections::{BTreeMap, BTreeSet};

use mesos_common::proto::FILE_DESCRIPTOR_SET;
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

const FACTS: &str = include_str!("data/mesos_proto_facts.tsv");

/// Packages of the Mesos protos we deliberately leave out (replicated log,
/// CSI state, image specs other than AppC and Docker v1, module and hook
/// configuration, checkpoint formats of isolators we do not build yet).
const NOT_DECLARED_PACKAGES: &[&str] = &[
    "docker.spec",
    "docker.spec.v2",
    "docker.spec.v2_2",
    "oci.spec.image.v1",
    "mesos.authorization",
    "mesos.csi.state",
    "mesos.internal.log",
    "mesos.internal.state",
    "mesos.internal.slave",
    "mesos.internal.slave.docker",
    "mesos.resource_provider",
    "mesos.slave",
];

/// Single messages of otherwise declared packages that we leave out.
const NOT_DECLARED_MESSAGES: &[&str] = &[
    "mesos.DockerTaskExecutorPrepareInfo",
    "mesos.Modules",
    "mesos.Modules.Library",
    "mesos.Modules.Library.Module",
    "mesos.resource_provider.ResourceProviderState",
    "mesos.resource_provider.ResourceProviderState.Storage",
    "mesos.resource_provider.ResourceProviderState.Storage.ProfileInfo",
    "mesos.resource_provider.ResourceProviderState.Storage.ProfileInfo.ParametersEntry",
    "mesos.resource_provider.ResourceProviderState.Storage.ProfilesEntry",
    "mesos.slave.QoSCorrection",
    "mesos.slave.QoSCorrection.Kill",
];

fn type_name(t: Type, type_name: &str) -> String {
    match t {
        Type::Message | Type::Enum | Type::Group => type_name.trim_start_matches('.').to_owned(),
        other => other
            .as_str_name()
            .trim_start_matches("TYPE_")
            .to_ascii_lowercase(),
    }
}

fn label(l: Label) -> &'static str {
    match l {
        Label::Optional => "optional",
        Label::Required => "required",
        Label::Repeated => "repeated",
    }
}

/// The same lines `dump_proto_facts.py` prints, for our descriptors.
fn walk(
    out: &mut Vec<String>,
    scope: &str,
    messages: &[DescriptorProto],
    enums: &[EnumDescriptorProto],
) {
    for e in enums {
        let full = format!("{scope}.{}", e.name());
        for v in &e.value {
            let dep = if v.options.as_ref().is_some_and(|o| o.deprecated()) {
                "deprecated"
            } else {
                "-"
            };
            out.push(format!("E\t{full}\t{}\t{}\t{dep}", v.name(), v.number()));
        }
    }
    for m in messages {
        let full = format!("{scope}.{}", m.name());
        out.push(format!("M\t{full}"));
        for f in &m.field {
            let oneof = match f.oneof_index {
                Some(i) => m.oneof_decl[i as usize].name().to_owned(),
                None => "-".to_owned(),
            };
            let default = f.default_value.clone().unwrap_or_else(|| "-".into());
            let dep = if f.options.as_ref().is_some_and(|o| o.deprecated()) {
                "deprecated"
            } else {
                "-"
            };
            out.push(format!(
                "F\t{full}\t{}\t{}\t{}\t{}\t{default}\t{dep}\t{oneof}",
                f.name(),
                f.number(),
                label(f.label()),
                type_name(f.r#type(), f.type_name()),
            ));
        }
        walk(out, &full, &m.nested_type, &m.enum_type);
    }
}

/// Facts grouped by the message or enum they belong to.
fn group(lines: impl Iterator<Item = String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in lines {
        let mut parts = line.splitn(3, '\t');
        let kind = parts.next().unwrap_or_default();
        let owner = parts.next().unwrap_or_default();
        match kind {
            "M" => {
                groups.entry(format!("message {owner}")).or_default();
            }
            "F" => {
                groups
                    .entry(format!("message {owner}"))
                    .or_default()
                    .insert(line.clone());
            }
            "E" => {
                groups
                    .entry(format!("enum {owner}"))
                    .or_default()
                    .insert(line.clone());
            }
            _ => {}
        }
    }
    groups
}

fn ours() -> BTreeMap<String, BTreeSet<String>> {
    let set =
        FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("embedded descriptor set decodes");
    let mut lines = Vec::new();
    for file in &set.file {
        if file.package().starts_with("google.protobuf") {
            continue;
        }
        walk(
            &mut lines,
            file.package(),
            &file.message_type,
            &file.enum_type,
        );
    }
    group(lines.into_iter())
}

fn mesos() -> BTreeMap<String, BTreeSet<String>> {
    group(
        FACTS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned),
    )
}

#[test]
fn every_declared_message_and_enum_matches_mesos() {
    let ours = ours();
    let mesos = mesos();
    assert!(
        ours.len() > 800,
        "only {} declarations compiled",
        ours.len()
    );
    let mut failures = Vec::new();
    for (owner, facts) in &ours {
        let Some(expected) = mesos.get(owner) else {
            failures.push(format!("{owner}: declared by us but not by Mesos 1.11"));
            continue;
        };
        for missing in expected.difference(facts) {
            failures.push(format!("{owner}: missing or different: {missing}"));
        }
        for extra in facts.difference(expected) {
            failures.push(format!("{owner}: not a Mesos fact: {extra}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn undeclared_mesos_messages_are_the_expected_ones() {
    let ours = ours();
    let mut undeclared = Vec::new();
    for owner in mesos().keys() {
        if ours.contains_key(owner) {
            continue;
        }
        let name = owner.split_once(' ').map_or(owner.as_str(), |(_, n)| n);
        undeclared.push(name.to_owned());
    }
    println!(
        "Mesos messages/enums we do not declare ({}):",
        undeclared.len()
    );
    for name in &undeclared {
        println!("  {name}");
    }
    let unexpected: Vec<&String> = undeclared
        .iter()
        .filter(|name| {
            if NOT_DECLARED_MESSAGES.contains(&name.as_str()) {
                return false;
            }
            // The package is the dotted prefix before the first capitalised part.
            let package: Vec<&str> = name
                .split('.')
                .take_while(|part| part.chars().next().is_some_and(|c| !c.is_ascii_uppercase()))
                .collect();
            let package = package.join(".");
            // `mesos` itself: only the ACL-free leftovers listed above may be missing.
            package == "mesos" || !NOT_DECLARED_PACKAGES.contains(&package.as_str())
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpectedly undeclared: {unexpected:?}"
    );
}

#[test]
fn key_wire_facts_hold() {
    // A few facts the rest of the system leans on, spelled out.
    let ours = ours();
    let has = |owner: &str, fact: &str| ours.get(owner).is_some_and(|f| f.contains(fact));
    assert!(has(
        "message mesos.v1.FrameworkInfo",
        "F\tmesos.v1.FrameworkInfo\tfailover_timeout\t4\toptional\tdouble\t0\t-\t-"
    ));
    assert!(has(
        "message mesos.v1.Filters",
        "F\tmesos.v1.Filters\trefuse_seconds\t1\toptional\tdouble\t5\t-\t-"
    ));
    assert!(has(
        "message mesos.internal.StatusUpdateMessage",
        "F\tmesos.internal.StatusUpdateMessage\tupdate\t1\trequired\tmesos.internal.StatusUpdate\t-\t-\t-"
    ));
    assert!(has(
        "enum mesos.TaskState",
        "E\tmesos.TaskState\tTASK_STAGING\t6\t-"
    ));
}
