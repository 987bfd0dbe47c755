//! Checkpoint files in Mesos's format, so a Mesos agent's `meta` directory and
//! ours are interchangeable:
//!
//! - a message file (`slave.info`, `framework.info`, `task.info`, ...) holds one
//!   record: the message size as a native-endian `u32` (stout's
//!   `protobuf::write`), then the protobuf bytes; it is written to a temporary
//!   file in the same directory and renamed over the target, so a crash leaves
//!   the old or the new content, never half of one;
//! - a text file (`framework.pid`, `forked.pid`, `libprocess.pid`, `boot_id`)
//!   holds the bare text, written the same way;
//! - a record log (`task.updates`) is a sequence of such records appended in
//!   place; a torn last record (the agent died mid-write) is cut off on read.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::AgentError;

/// Largest record accepted on read (a corrupt size prefix must not make us
/// allocate gigabytes).
pub const RECORD_BYTES_MAX: usize = 64 << 20;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AgentError + '_ {
    move |source| AgentError::Checkpoint {
        path: path.to_path_buf(),
        source,
    }
}

fn frame(message: &impl prost::Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(body.len() + 4);
    // stout writes the size in host byte order.
    out.extend_from_slice(&(body.len() as u32).to_ne_bytes());
    out.extend_from_slice(&body);
    out
}

/// Writes `bytes` to `path` atomically (temporary file + rename), creating the
/// parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AgentError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.flush()?;
        fs::rename(&temp, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&temp);
        return Err(AgentError::Checkpoint {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

/// Checkpoints one protobuf message.
pub fn write_message(path: &Path, message: &impl prost::Message) -> Result<(), AgentError> {
    write_atomic(path, &frame(message))
}

/// Checkpoints a text value (a pid, a UPID, the boot id).
pub fn write_text(path: &Path, text: &str) -> Result<(), AgentError> {
    write_atomic(path, text.as_bytes())
}

/// Creates an empty marker file (`http.marker`, `executor.sentinel`).
pub fn touch(path: &Path) -> Result<(), AgentError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(|_| ())
        .map_err(io_err(path))
}

/// Reads a message file; `None` when the file does not exist.
pub fn read_message<M: prost::Message + Default>(path: &Path) -> Result<Option<M>, AgentError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AgentError::Checkpoint {
                path: path.into(),
                source,
            });
        }
    };
    let (records, torn) = split_records(&bytes);
    let bad = |reason: String| AgentError::CheckpointRead {
        path: path.to_path_buf(),
        reason,
    };
    if torn.is_some() || records.len() != 1 {
        return Err(bad(format!(
            "expected one record, found {} ({} trailing bytes)",
            records.len(),
            torn.map_or(0, |at| bytes.len() - at)
        )));
    }
    M::decode(records[0])
        .map(Some)
        .map_err(|e| bad(e.to_string()))
}

/// Reads a text file, trimmed; `None` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, AgentError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AgentError::Checkpoint {
            path: path.into(),
            source,
        }),
    }
}

/// Splits size-prefixed records; returns them and, if the data ends in a torn
/// record, the offset where the torn part starts.
fn split_records(bytes: &[u8]) -> (Vec<&[u8]>, Option<usize>) {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes.len() - at < 4 {
            return (records, Some(at));
        }
        let mut size = [0u8; 4];
        size.copy_from_slice(&bytes[at..at + 4]);
        let size = u32::from_ne_bytes(size) as usize;
        if size > RECORD_BYTES_MAX || bytes.len() - at - 4 < size {
            return (records, Some(at));
        }
        records.push(&bytes[at + 4..at + 4 + size]);
        at += 4 + size;
    }
    (records, None)
}

/// Reads a record log. A torn last record is cut off the file (as Mesos does
/// when it recovers `task.updates`); a record that does not decode is an error.
pub fn read_records<M: prost::Message + Default>(path: &Path) -> Result<Vec<M>, AgentError> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes).map_err(io_err(path))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(AgentError::Checkpoint {
                path: path.into(),
                source,
            });
        }
    }
    let (records, torn) = split_records(&bytes);
    let decoded = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            M::decode(r).map_err(|e| AgentError::CheckpointRead {
                path: path.to_path_buf(),
                reason: format!("record {i}: {e}"),
            })
        })
        .collect::<Result<Vec<M>, _>>()?;
    if let Some(at) = torn {
        tracing::warn!(path = %path.display(), at, "truncating a torn record");
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        f.set_len(at as u64).map_err(io_err(path))?;
    }
    Ok(decoded)
}

/// An open record log (`task.updates`), appended to in place.
#[derive(Debug)]
pub struct RecordLog {
    path: PathBuf,
    file: File,
}

impl RecordLog {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> Result<RecordLog, AgentError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        Ok(RecordLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one record in a single write.
    pub fn append(&mut self, message: &impl prost::Message) -> Result<(), AgentError> {
        let framed = frame(message);
        self.file.write_all(&framed).map_err(io_err(&self.path))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Points `<dir>/latest` at `target` (a sibling name), replacing any old link
/// atomically.
pub fn point_latest(dir: &Path, target: &str) -> Result<(), AgentError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let link = dir.join(crate::paths::LATEST_SYMLINK);
    let temp = dir.join(format!(".latest.{}", uuid::Uuid::new_v4().simple()));
    std::os::unix::fs::symlink(dir.join(target), &temp).map_err(io_err(&temp))?;
    fs::rename(&temp, &link).map_err(|source| {
        let _ = fs::remove_file(&temp);
        AgentError::Checkpoint { path: link, source }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v0;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ckpt-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn message_file_is_size_prefixed_protobuf() {
        let dir = temp_dir();
        let path = dir.join("a/b/framework.info");
        let info = v0::FrameworkId {
            value: "F-0001".into(),
        };
        write_message(&path, &info).unwrap();
        let bytes = fs::read(&path).unwrap();
        // size 8 (native endian), then field 1 (0x0a), length 6, "F-0001".
        assert_eq!(&bytes[..4], &8u32.to_ne_bytes());
        assert_eq!(&bytes[4..], b"\x0a\x06F-0001");
        assert_eq!(read_message::<v0::FrameworkId>(&path).unwrap(), Some(info));
        assert_eq!(
            read_message::<v0::FrameworkId>(&dir.join("none")).unwrap(),
            None
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn torn_record_log_is_truncated_to_the_last_whole_record() {
        let dir = temp_dir();
        let path = dir.join("task.updates");
        let mut log = RecordLog::open(&path).unwrap();
        for v in ["a", "b"] {
            log.append(&v0::TaskId { value: v.into() }).unwrap();
        }
        let whole = fs::metadata(&path).unwrap().len();
        // A crash mid-write: a size prefix promising more than follows.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&100u32.to_ne_bytes()).unwrap();
        f.write_all(b"xx").unwrap();
        drop(f);
        let got: Vec<v0::TaskId> = read_records(&path).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(fs::metadata(&path).unwrap().len(), whole);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn garbage_message_file_is_an_error_not_a_panic() {
        let dir = temp_dir();
        let path = dir.join("slave.info");
        fs::write(&path, b"\xff\xff\xff\xffgarbage").unwrap();
        assert!(matches!(
            read_message::<v0::SlaveInfo>(&path),
            Err(AgentError::CheckpointRead { .. })
        ));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn latest_symlink_moves() {
        let dir = temp_dir();
        fs::create_dir_all(dir.join("c1")).unwrap();
        fs::create_dir_all(dir.join("c2")).unwrap();
        point_latest(&dir, "c1").unwrap();
        point_latest(&dir, "c2").unwrap();
        assert_eq!(fs::read_link(dir.join("latest")).unwrap(), dir.join("c2"));
        fs::remove_dir_all(dir).unwrap();
    }
}
