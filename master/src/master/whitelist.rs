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

impl Master {
    /// Reads the whitelist now and again every interval.
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
        let path = flag.strip_prefix("file://").unwrap_or(&flag);
        let next = match std::fs::read_to_string(path) {
            Ok(text) => Some(parse_whitelist(&text)),
            Err(e) => {
                tracing::error!(path, error = %e, "cannot read the whitelist file; retrying");
                self.whitelist.clone()
            }
        };
        if next != self.whitelist {
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
        ctx.delay(WHITELIST_WATCH_INTERVAL, |m: &mut Master, ctx| {
            m.watch_whitelist(ctx)
        });
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
}
