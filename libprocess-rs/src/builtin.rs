//! Processes every runtime starts, as libprocess does: `metrics` (serving
//! `/metrics/snapshot`) and `__processes__` (the list of running processes).

use crate::context::Context;
use crate::error::Error;
use crate::http::{Request, Response};
use crate::process::{Install, Process};
use crate::runtime::RuntimeHandle;

struct MetricsProcess;

impl Process for MetricsProcess {
    fn install(t: &mut Install<Self>) {
        t.route("/snapshot", Self::snapshot);
    }
}

impl MetricsProcess {
    fn snapshot(&mut self, req: Request, ctx: &mut Context<Self>) -> Response {
        Response::json(&req, ctx.metrics().snapshot_json())
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
