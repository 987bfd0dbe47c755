//! LIST_FILES and READ_FILE on the master (Mesos's `FilesProcess` with the
//! one attachment the master makes): `/master/log` is the master's log
//! file (`--external_log_file`, else the file under `--log_dir`). Any other
//! path, or `/master/log` on a master that logs to no file, is 404.
//!
//! As Mesos: listing a path that is a file gives an empty list; a read
//! past the end gives the size and no data; a read returns at most
//! [`READ_FILE_BYTES_MAX`] (16 pages).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use libprocess::Reply;
use mesos_common::http::ContentType;
use mesos_common::proto::v1;

use super::authz::{Action, Object};
use super::respond;
use crate::http::ApiError;
use crate::master::Master;

/// The most bytes one READ_FILE returns (Mesos: 16 pages).
pub const READ_FILE_BYTES_MAX: u64 = 16 * 4096;

/// The virtual path of the master's log.
pub const MASTER_LOG_PATH: &str = "/master/log";

fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

/// The real file behind a virtual path.
fn resolve(m: &Master, path: &str) -> Result<PathBuf, ApiError> {
    if path.split('/').any(|c| c == "..") {
        return Err(ApiError::BadRequest(format!("Invalid path '{path}'")));
    }
    let path = normalize(path);
    match crate::logging::log_file(&m.flags) {
        Some(file) if path == MASTER_LOG_PATH && file.exists() => Ok(file),
        _ => Err(ApiError::NotFound(String::new())),
    }
}

pub(crate) fn list_files(
    m: &Master,
    call: v1::master::call::ListFiles,
    accept: ContentType,
    principal: Option<&str>,
) -> Result<Reply, ApiError> {
    m.authorized(principal, Action::ViewLogs, Object::Path(&call.path))?;
    let real = resolve(m, &call.path)?;
    let mut file_infos = Vec::new();
    if real.is_dir() {
        let mut entries: Vec<(String, std::fs::Metadata)> = std::fs::read_dir(&real)
            .map_err(|e| ApiError::Internal(format!("Cannot list '{}': {e}", call.path)))?
            .filter_map(Result::ok)
            .filter_map(|e| {
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().ok()?,
                ))
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let base = normalize(&call.path);
        for (name, meta) in entries {
            file_infos.push(v1::FileInfo {
                path: format!("{base}/{name}"),
                nlink: Some(meta.nlink() as i32),
                size: Some(meta.len()),
                mtime: Some(v1::TimeInfo {
                    nanoseconds: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                }),
                mode: Some(meta.mode()),
                uid: Some(meta.uid().to_string()),
                gid: Some(meta.gid().to_string()),
            });
        }
    }
    Ok(respond(
        accept,
        v1::master::Response {
            r#type: Some(v1::master::response::Type::ListFiles as i32),
            list_files: Some(v1::master::response::ListFiles { file_infos }),
            ..Default::default()
        },
    ))
}

pub(crate) fn read_file(
    m: &Master,
    call: v1::master::call::ReadFile,
    accept: ContentType,
    principal: Option<&str>,
) -> Result<Reply, ApiError> {
    m.authorized(principal, Action::ViewLogs, Object::Path(&call.path))?;
    let real = resolve(m, &call.path)?;
    if real.is_dir() {
        return Err(ApiError::BadRequest("Cannot read a directory.\n".into()));
    }
    let failed = |e: std::io::Error| {
        ApiError::Internal(format!("Failed to read file at '{}': {e}", real.display()))
    };
    let mut file = std::fs::File::open(&real).map_err(failed)?;
    let size = file.metadata().map_err(failed)?.len();
    let mut data = Vec::new();
    if call.offset < size {
        let length = call
            .length
            .unwrap_or(size - call.offset)
            .min(READ_FILE_BYTES_MAX);
        file.seek(SeekFrom::Start(call.offset)).map_err(failed)?;
        file.take(length).read_to_end(&mut data).map_err(failed)?;
    }
    Ok(respond(
        accept,
        v1::master::Response {
            r#type: Some(v1::master::response::Type::ReadFile as i32),
            read_file: Some(v1::master::response::ReadFile { size, data }),
            ..Default::default()
        },
    ))
}
