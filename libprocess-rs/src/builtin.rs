//! Processes every runtime starts, as libprocess does: `metrics` (serving
//! `/metrics/snapshot`, and `/metrics` in Prometheus's text format) and
//! `__processes__` (the list of running processes).

use crate::context::Context;
use crate::error::Error;
use crate::http::{Reply, Request, Response};
use crate::metrics::REFRESH_TIMEOUT;
use crate::process::{Install, Process};
use crate::runtime::RuntimeHandle;

struct MetricsProcess;

impl Process for MetricsProcess {
    fn install(t: &mut Install<Self>) {
        t.route("/snapshot", Self::snapshot);
        // The empty route matches `/metrics` itself only (a route's parents are
        // tried, never the empty one), so `/metrics/x` stays 404.
        t.route("/", Self::prometheus);
    }
}

impl MetricsProcess {
    fn prometheus(&mut self, _req: Request, ctx: &mut Context<Self>) -> Reply {
        let metrics = ctx.metrics().clone();
        Reply::later(async move {
            metrics.refresh(REFRESH_TIMEOUT).await;
            Response::ok().with_body(
                crate::metrics::PROMETHEUS_CONTENT_TYPE,
                metrics.prometheus_text(),
            )
        })
    }

    fn snapshot(&mut self, req: Request, ctx: &mut Context<Self>) -> Reply {
        let metrics = ctx.metrics().clone();
        Reply::later(async move {
            metrics.refresh(REFRESH_TIMEOUT).await;
            Response::json(&req, metrics.snapshot_json())
        })
    }
}

struct ProcessesProcess;

impl Process for ProcessesProcess {
    fn install(t: &mut Install<Self>) {
        t.route("/", Self::list);
    }
}

impl ProcessesProcess {
    fn list(&mut self, req: Request, ctx: &mut Context<Self>) -> Response {
        let list: Vec<serde_json::Value> = ctx
            .runtime()
            .processes()
            .into_iter()
            .map(|id| serde_json::json!({ "id": id }))
            .collect();
        Response::json(&req, serde_json::Value::Array(list).to_string())
    }
}

pub(crate) fn spawn_builtins(rt: &RuntimeHandle) -> Result<(), Error> {
    rt.spawn("metrics", MetricsProcess)?;
    rt.spawn("__processes__", ProcessesProcess)?;
    Ok(())
}
