//! The `files` process: `/files/browse`, `/files/read`, `/files/download` and
//! `/files/debug` over directories the agent attaches (sandboxes) under virtual
//! paths, with Mesos's JSON (`src/files/files.cpp`).
//!
//! Every request resolves its virtual path to a real one and then refuses
//! anything whose canonical path (symlinks followed) leaves the attached
//! directory: `..`, absolute symlinks and relative ones alike get `400`.
//!
//! Messages (dispatched): `attach`, `detach`. Routes: `browse`, `read`,
//! `download`, `debug`.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use libprocess::{Context, Install, Process, Request, Response};
use serde_json::{Value as Json, json};

use crate::constants::{FILES_BROWSE_ENTRIES_MAX, FILES_READ_BYTES_MAX};

/// Why a `/files` request failed; mapped to a status once, in [`FilesError::response`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilesError {
    #[error("Expecting 'path=value' in query.\n")]
    MissingPath,
    #[error("{0}")]
    Invalid(String),
    #[error("")]
    NotFound,
    #[error("{0}")]
    Internal(String),
}

impl FilesError {
    pub fn status(&self) -> u16 {
        match self {
            FilesError::MissingPath | FilesError::Invalid(_) => 400,
            FilesError::NotFound => 404,
            FilesError::Internal(_) => 500,
        }
    }

    fn response(&self) -> Response {
        match self {
            FilesError::NotFound => Response::not_found(),
            other => Response::error(other.status(), other.to_string()),
        }
    }
}

/// The process; see the module docs.
#[derive(Debug, Default)]
pub struct Files {
    /// Virtual path (no trailing `/`) -> canonical real path.
    paths: BTreeMap<String, PathBuf>,
}

impl Process for Files {
    fn install(t: &mut Install<Self>) {
        t.route("/browse", Self::browse_route)
            .route("/read", Self::read_route)
            .route("/download", Self::download_route)
            .route("/debug", Self::debug_route);
    }
}

fn normalize_virtual(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

impl Files {
    /// Makes `real` readable under `virtual_path`. The real path is
    /// canonicalised now, so later symlink swaps cannot widen it.
    pub fn attach(&mut self, real: &Path, virtual_path: &str) -> Result<(), FilesError> {
        let canonical = std::fs::canonicalize(real)
            .map_err(|e| FilesError::Invalid(format!("cannot attach '{}': {e}", real.display())))?;
        self.paths
            .insert(normalize_virtual(virtual_path), canonical);
        Ok(())
    }

    pub fn detach(&mut self, virtual_path: &str) {
        self.paths.remove(&normalize_virtual(virtual_path));
    }

    pub fn attached(&self) -> &BTreeMap<String, PathBuf> {
        &self.paths
    }

    /// Resolves a virtual path (Mesos's `resolve`): the longest attached
    /// prefix, then the rest inside it; `NotFound` when nothing matches or the
    /// file does not exist, `Invalid` when the result escapes the attachment.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FilesError> {
        let path = normalize_virtual(path);
        let mut prefix = path.as_str();
        loop {
            if let Some(root) = self.paths.get(prefix) {
                let rest = path[prefix.len()..].trim_start_matches('/');
                if rest.is_empty() {
                    return Ok(root.clone());
                }
                if !root.is_dir() {
                    return Err(FilesError::NotFound);
                }
                let joined = root.join(rest);
                let real = match std::fs::canonicalize(&joined) {
                    Ok(r) => r,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        // Whether a path outside exists is not for the caller to
                        // learn: judge the deepest ancestor that does exist.
                        let inside = joined
                            .ancestors()
                            .find_map(|a| std::fs::canonicalize(a).ok())
                            .is_some_and(|real| real.starts_with(root));
                        if !inside || rest.split('/').any(|c| c == "..") {
                            return Err(FilesError::Invalid(format!(
                                "'{path}' is inaccessible.\n"
                            )));
                        }
                        return Err(FilesError::NotFound);
                    }
                    Err(e) => {
                        return Err(FilesError::Invalid(format!(
                            "Failed to determine canonical path of '{}': {e}.\n",
                            joined.display()
                        )));
                    }
                };
                if real != *root && !real.starts_with(root) {
                    return Err(FilesError::Invalid(format!("'{path}' is inaccessible.\n")));
                }
                return Ok(real);
            }
            match prefix.rfind('/') {
                Some(0) if prefix != "/" => prefix = "/",
                Some(i) if i > 0 => prefix = &prefix[..i],
                _ => return Err(FilesError::NotFound),
            }
        }
    }

    /// `/files/browse` listing of a directory.
    pub fn browse(&self, path: &str) -> Result<Vec<Json>, FilesError> {
        let real = self.resolve(path)?;
        let mut entries: BTreeMap<PathBuf, Json> = BTreeMap::new();
        let dir = match std::fs::read_dir(&real) {
            Ok(d) => d,
            // Mesos lists nothing for a path it cannot list (e.g. a file).
            Err(_) => return Ok(Vec::new()),
        };
        let virtual_base = normalize_virtual(path);
        for entry in dir.flatten().take(FILES_BROWSE_ENTRIES_MAX) {
            let full = entry.path();
            let Ok(meta) = std::fs::metadata(&full) else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            let vpath = if virtual_base == "/" {
                format!("/{name}")
            } else {
                format!("{virtual_base}/{name}")
            };
            entries.insert(full, file_info_json(&vpath, &meta));
        }
        Ok(entries.into_values().collect())
    }

    /// `/files/read`: `(file size, data)`; `offset` -1 asks only for the size.
    pub fn read(
        &self,
        path: &str,
        offset: i64,
        length: Option<u64>,
    ) -> Result<(u64, Vec<u8>), FilesError> {
        let real = self.resolve(path)?;
        if real.is_dir() {
            return Err(FilesError::Invalid("Cannot read a directory.\n".into()));
        }
        let mut file = std::fs::File::open(&real).map_err(|e| {
            FilesError::Internal(format!(
                "Failed to open file at '{}': {e}.\n",
                real.display()
            ))
        })?;
        let size = file
            .metadata()
            .map_err(|e| FilesError::Internal(e.to_string()))?
            .len();
        let (offset, length) = if offset == -1 {
            (0, Some(0))
        } else {
            (offset as u64, length)
        };
        if offset >= size {
            return Ok((size, Vec::new()));
        }
        let length = length.unwrap_or(size - offset).min(FILES_READ_BYTES_MAX);
        if length == 0 {
            return Ok((size, Vec::new()));
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| FilesError::Internal(e.to_string()))?;
        let mut data = Vec::new();
        file.take(length)
            .read_to_end(&mut data)
            .map_err(|e| FilesError::Internal(e.to_string()))?;
        Ok((size, data))
    }

    fn browse_route(&mut self, req: Request, _: &mut Context<Self>) -> Response {
        let Some(path) = req.query.get("path").filter(|p| !p.is_empty()) else {
            return FilesError::MissingPath.response();
        };
        match self.browse(path) {
            Ok(listing) => Response::json(&req, Json::Array(listing).to_string()),
            Err(e) => e.response(),
        }
    }

    fn read_route(&mut self, req: Request, _: &mut Context<Self>) -> Response {
        let Some(path) = req.query.get("path").filter(|p| !p.is_empty()) else {
            return FilesError::MissingPath.response();
        };
        let offset = match req.query.get("offset") {
            None => -1,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(v) if v < -1 => {
                    return Response::error(400, format!("Negative offset provided: {v}.\n"));
                }
                Ok(v) => v,
                Err(e) => return Response::error(400, format!("Failed to parse offset: {e}.\n")),
            },
        };
        let length = match req.query.get("length") {
            None => None,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(v) if v < -1 => {
                    return Response::error(400, format!("Negative length provided: {v}.\n"));
                }
                Ok(-1) => None,
                Ok(v) => Some(v as u64),
                Err(e) => return Response::error(400, format!("Failed to parse length: {e}.\n")),
            },
        };
        match self.read(path, offset, length) {
            Ok((size, data)) => {
                let shown_offset = if offset == -1 { size as i64 } else { offset };
                let body = json!({
                    "data": String::from_utf8_lossy(&data),
                    "offset": shown_offset,
                });
                Response::json(&req, body.to_string())
            }
            Err(e) => e.response(),
        }
    }

    fn download_route(&mut self, req: Request, _: &mut Context<Self>) -> Response {
        let Some(path) = req.query.get("path").filter(|p| !p.is_empty()) else {
            return FilesError::MissingPath.response();
        };
        let real = match self.resolve(path) {
            Ok(r) => r,
            Err(e) => return e.response(),
        };
        if real.is_dir() {
            return Response::error(400, "Cannot download a directory.\n");
        }
        let size = std::fs::metadata(&real).map(|m| m.len()).unwrap_or(0);
        if size > FILES_READ_BYTES_MAX * 64 {
            return Response::error(
                413,
                format!("'{path}' is {size} bytes; use /files/read to page through it.\n"),
            );
        }
        match std::fs::read(&real) {
            Ok(data) => {
                let name = real
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Response::ok()
                    .with_body(content_type_for(&real), data)
                    .with_header(
                        "Content-Disposition",
                        format!("attachment; filename={name}"),
                    )
            }
            Err(e) => Response::error(500, format!("Failed to read '{}': {e}\n", real.display())),
        }
    }

    fn debug_route(&mut self, req: Request, _: &mut Context<Self>) -> Response {
        let map: serde_json::Map<String, Json> = self
            .paths
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.display().to_string())))
            .collect();
        Response::json(&req, Json::Object(map).to_string())
    }
}

fn content_type_for(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        Some("txt") | Some("log") => "text/plain",
        Some("html") | Some("htm") => "text/html",
        Some("gz") => "application/x-gzip",
        Some("tar") => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// A `FileInfo` as `/files/browse` renders it.
fn file_info_json(path: &str, meta: &std::fs::Metadata) -> Json {
    json!({
        "path": path,
        "nlink": meta.nlink(),
        "size": meta.size(),
        "mtime": meta.mtime() as f64,
        "mode": mode_string(meta.mode()),
        "uid": user_name(meta.uid()),
        "gid": group_name(meta.gid()),
    })
}

/// `ls -l`-style mode text (`drwxr-xr-x`).
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o120000 => 'l',
        0o140000 => 's',
        _ => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

fn name_from(file: &str, id: u32) -> String {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let f: Vec<&str> = line.split(':').collect();
                (f.len() >= 3 && f[2] == id.to_string()).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| id.to_string())
}

fn user_name(uid: u32) -> String {
    name_from("/etc/passwd", uid)
}

fn group_name(gid: u32) -> String {
    name_from("/etc/group", gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> (PathBuf, Files) {
        let root = std::env::temp_dir().join(format!("files-{}", uuid::Uuid::new_v4().simple()));
        let sandbox = root.join("sandbox");
        std::fs::create_dir_all(sandbox.join("sub")).unwrap();
        std::fs::write(sandbox.join("stdout"), b"hello world").unwrap();
        std::fs::write(root.join("secret"), b"top secret").unwrap();
        std::os::unix::fs::symlink(root.join("secret"), sandbox.join("escape")).unwrap();
        std::os::unix::fs::symlink("../secret", sandbox.join("relative-escape")).unwrap();
        std::os::unix::fs::symlink("stdout", sandbox.join("inside")).unwrap();
        let mut files = Files::default();
        files
            .attach(&sandbox, "/frameworks/f/executors/e/runs/latest")
            .unwrap();
        (root, files)
    }

    #[test]
    fn reads_pages_and_sizes() {
        let (root, files) = sandbox();
        let v = "/frameworks/f/executors/e/runs/latest/stdout";
        assert_eq!(files.read(v, 6, None).unwrap(), (11, b"world".to_vec()));
        assert_eq!(files.read(v, 0, Some(5)).unwrap(), (11, b"hello".to_vec()));
        assert_eq!(files.read(v, -1, None).unwrap(), (11, Vec::new()));
        assert_eq!(files.read(v, 100, None).unwrap(), (11, Vec::new()));
        assert_eq!(
            files
                .read("/frameworks/f/executors/e/runs/latest/inside", 0, None)
                .unwrap()
                .1,
            b"hello world"
        );
        let listing = files
            .browse("/frameworks/f/executors/e/runs/latest")
            .unwrap();
        let names: Vec<&str> = listing.iter().filter_map(|e| e["path"].as_str()).collect();
        assert!(
            names.contains(&"/frameworks/f/executors/e/runs/latest/stdout"),
            "{names:?}"
        );
        let sub = listing
            .iter()
            .find(|e| e["path"].as_str().unwrap().ends_with("/sub"))
            .unwrap();
        assert!(sub["mode"].as_str().unwrap().starts_with('d'));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn escapes_are_refused() {
        let (root, files) = sandbox();
        let base = "/frameworks/f/executors/e/runs/latest";
        for bad in [
            "/../secret",
            "/escape",
            "/relative-escape",
            "/sub/../../secret",
            "/../nothing",
        ] {
            let err = files.read(&format!("{base}{bad}"), 0, None).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}: {err:?}");
        }
        assert_eq!(
            files.read("/not/attached", 0, None).unwrap_err(),
            FilesError::NotFound
        );
        assert_eq!(
            files.read(&format!("{base}/missing"), 0, None).unwrap_err(),
            FilesError::NotFound
        );
        assert_eq!(files.read(base, 0, None).unwrap_err().status(), 400);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn mode_strings() {
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o040755), "drwxr-xr-x");
    }
}
