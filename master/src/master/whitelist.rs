//! `--whitelist`: a file of agent hostnames, one per line; only agents
//! listed get offered. The file is re-read every
//! [`WHITELIST_WATCH_INTERVAL`] and the allocator told when it changes
//! (Mesos's `WhitelistWatcher`). An empty file offers nothing; an
//! unreadable one keeps the last list; no flag (or the deprecated `*`)
//! offers every agent.

use std::collections::BTreeSet;
use std::time::Duration;

use libprocess::Context;

use super::Master;

/// How often the file is re-read (Mesos: `WHITELIST_WATCH_INTERVAL`).
pub const WHITELIST_WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// The hostnames of a whitelist file (non-empty lines, as written).
pub fn parse_whitelist(text: &str) -> BTreeSet<String> {
    text.split('\n')
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect()
}

/// Largest whitelist file read; a longer one is an error (the last list
/// stays).
pub const WHITELIST_BYTES_MAX: u64 = 16 << 20;

/// Reads the file at `path`, bounded by [`WHITELIST_BYTES_MAX`].
fn read_bounded(path: &str) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(WHITELIST_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > WHITELIST_BYTES_MAX {
        return Err(format!("larger than {WHITELIST_BYTES_MAX} bytes"));
    }
    Ok(text)
}

impl Master {
    /// Reads the whitelist now and again every interval. The file is read
    /// on tokio's blocking pool, not on the master's actor thread (a slow
    /// or remote filesystem must not stall the master).
    pub(crate) fn watch_whitelist(&mut self, ctx: &mut Context<Self>) {
        let Some(flag) = self.flags.whitelist.clone() else {
            return;
        };
        if flag == "*" {
            tracing::warn!(
                "`--whitelist=*` to accept all agents is deprecated: leave the flag out instead"
            );
            return;
        }
        let path = flag.strip_prefix("file://").unwrap_or(&flag).to_string();
        let read = {
            let path = path.clone();
            async move {
                tokio::task::spawn_blocking(move || read_bounded(&path))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
            }
        };
        ctx.spawn(read, move |m: &mut Master, read, ctx| {
            m.whitelist_read(&path, read);
            ctx.delay(WHITELIST_WATCH_INTERVAL, |m: &mut Master, ctx| {
                m.watch_whitelist(ctx)
            });
        });
    }

    fn whitelist_read(&mut self, path: &str, read: Result<String, String>) {
        let next = match read {
            Ok(text) => Some(parse_whitelist(&text)),
            Err(e) => {
                tracing::error!(path, error = %e, "cannot read the whitelist file; retrying");
                self.whitelist.clone()
            }
        };
        if next == self.whitelist {
            return;
        }
        match &next {
            Some(w) if w.is_empty() => {
                tracing::warn!(path, "the whitelist is empty: no offers will be made")
            }
            Some(w) => tracing::info!(path, agents = w.len(), "agent whitelist updated"),
            None => {}
        }
        if let Some(a) = &self.allocator {
            a.update_whitelist(next.clone());
        }
        self.whitelist = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hostname_per_line() {
        let w = parse_whitelist("a.example\nb.example\n\nc\n");
        assert_eq!(
            w,
            BTreeSet::from(["a.example".into(), "b.example".into(), "c".into()])
        );
        assert!(parse_whitelist("").is_empty());
    }

    #[test]
    fn files_past_the_bound_are_refused() {
        let path = std::env::temp_dir().join(format!("whitelist-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, "a\n").unwrap();
        assert_eq!(read_bounded(path.to_str().unwrap()).unwrap(), "a\n");
        let big = vec![b'x'; WHITELIST_BYTES_MAX as usize + 1];
        std::fs::write(&path, big).unwrap();
        let e = read_bounded(path.to_str().unwrap()).unwrap_err();
        assert!(e.contains("larger than"), "{e}");
        std::fs::remove_file(&path).ok();
        assert!(read_bounded(path.to_str().unwrap()).is_err());
    }
}
