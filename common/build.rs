//! Generates the Rust types for every `.proto` file under `proto/` with
//! prost, and writes the compiled `FileDescriptorSet` that the Mesos JSON
//! dialect and the proto facts test read at run time.
//!
//! Kept cheap on purpose: it reruns only when something under `proto/`
//! changes, and protoc runs once for all files (one descriptor set, one
//! generated file per package).

use std::io;
use std::path::{Path, PathBuf};

use prost::Message;

fn main() -> io::Result<()> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?);
    let proto_dir = root.join("proto");
    println!("cargo:rerun-if-changed=proto");

    let mut files = Vec::new();
    collect_protos(&proto_dir, &mut files)?;
    // google/protobuf is mapped onto prost-types; we only need it for imports.
    files.retain(|f| !f.starts_with(proto_dir.join("google")));
    files.sort();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").map_err(io::Error::other)?);
    let mut config = prost_build::Config::new();
    config
        .enable_type_names()
        // Deterministic map order keeps JSON output and tests stable.
        .btree_map(["."])
        // Rarely set sub-messages of the types a master holds by the
        // hundred thousand (every task and its resources), boxed so an unset
        // one costs a pointer: inline, `DiskInfo` made each `Resource` 1,160
        // bytes and `Task` was 1,344, and a master rebuilding 400k tasks
        // after a failover spent a quarter of its time faulting in pages.
        .boxed(".mesos.Resource.disk")
        .boxed(".mesos.v1.Resource.disk")
        .boxed(".mesos.Task.container")
        .boxed(".mesos.Task.health_check")
        .boxed(".mesos.Task.discovery")
        .boxed(".mesos.v1.Task.container")
        .boxed(".mesos.v1.Task.health_check")
        .boxed(".mesos.v1.Task.discovery")
        .file_descriptor_set_path(out_dir.join("descriptors_with_source.bin"))
        .include_file("mesos_protos.rs");
    config.compile_protos(&files, &[&proto_dir])?;

    // prost-build asks protoc for source info (comments, spans), which is
    // two thirds of the set and useless at run time: drop it before the
    // set is embedded into every binary.
    let raw = std::fs::read(out_dir.join("descriptors_with_source.bin"))?;
    let mut set = prost_types::FileDescriptorSet::decode(raw.as_slice())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    for file in &mut set.file {
        file.source_code_info = None;
    }
    std::fs::write(out_dir.join("mesos_descriptors.bin"), set.encode_to_vec())?;
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
