//! The agent's operator API v1, `POST /api/v1` (Mesos's `Http::api` and
//! `Http::_api` in `src/slave/http.cpp`): the checks in Mesos's order, then
//! one handler per call.
//!
//! Checks, each with Mesos's status: 503 while recovering, 405 for a method
//! other than POST, then the media types (`Content-Type` missing 400, not
//! JSON/protobuf/recordio 415; `Message-Content-Type` required with a
//! recordio body and refused without one; `Accept` 406 unless it admits
//! JSON, protobuf or recordio; `Message-Accept` likewise), then the body
//! (400 if it does not parse or misses the payload its type needs), then a
//! streaming body or response for a call that does not stream (415/406).
//!
//! Served: GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS,
//! GET_LOGGING_LEVEL, SET_LOGGING_LEVEL (reverting after its duration),
//! LIST_FILES and READ_FILE (through the `files` process, so the same
//! sandboxes as `/files/*`), GET_STATE, GET_CONTAINERS, GET_FRAMEWORKS,
//! GET_EXECUTORS, GET_OPERATIONS, GET_TASKS, GET_AGENT and
//! GET_RESOURCE_PROVIDERS. The container calls (nested containers,
//! sessions, attach, standalone containers), resource provider
//! configuration and PRUNE_IMAGES are answered 501 naming the call: they
//! are not served through this API yet.

use mesos_common::authz::{Action, Object};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use libprocess::{Context, Reply, Request, Response};
use mesos_common::convert::Evolve;
use mesos_common::http::ContentType;
use mesos_common::http::negotiation::{AgentApiHeaders, NegotiationError, agent_api_media_types};
use mesos_common::proto::v0;
use mesos_common::proto::v1;
use prost::Message;

use super::framework::{Executor, Framework};
use super::{Agent, AgentState};
use crate::constants::MESOS_VERSION;
use crate::files::FilesError;

use v1::agent::call::Type;
use v1::agent::response::Type as R;

/// The most bytes an operator call body may have (a call is small; the
/// largest, LAUNCH_CONTAINER, carries a command and a container).
pub const OPERATOR_CALL_BODY_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Why an operator call was refused; [`OperatorError::response`] maps each
/// to Mesos's status.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("Agent has not finished recovery")]
    Recovering,
    #[error("Expecting 'POST', received '{0}'")]
    MethodNotAllowed(String),
    #[error(transparent)]
    Negotiation(#[from] NegotiationError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    NotFound(String),
    /// The authorizer refused the call.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Internal(String),
}

impl OperatorError {
    pub fn status(&self) -> u16 {
        match self {
            OperatorError::Recovering => 503,
            OperatorError::MethodNotAllowed(_) => 405,
            OperatorError::Negotiation(e) => e.status(),
            OperatorError::BadRequest(_) => 400,
            OperatorError::UnsupportedMediaType(_) => 415,
            OperatorError::NotAcceptable(_) => 406,
            OperatorError::NotFound(_) => 404,
            OperatorError::Forbidden(_) => 403,
            OperatorError::NotImplemented(_) => 501,
            OperatorError::Internal(_) => 500,
        }
    }

    pub fn response(&self) -> Response {
        let r = Response::error(self.status(), self.to_string());
        match self {
            OperatorError::MethodNotAllowed(_) => r.with_header("Allow", "POST"),
            _ => r,
        }
    }
}

impl From<FilesError> for OperatorError {
    fn from(e: FilesError) -> Self {
        match e {
            FilesError::NotFound => OperatorError::NotFound(String::new()),
            FilesError::MissingPath | FilesError::Invalid(_) => {
                OperatorError::BadRequest(e.to_string())
            }
            FilesError::Internal(m) => OperatorError::Internal(m),
        }
    }
}

// The logging verbosity (glog's `FLAGS_v`) is process-wide, as in Mesos.

/// The verbosity a process starts with.
pub const ORIGINAL_VERBOSITY: u32 = 0;

static VERBOSITY: AtomicU32 = AtomicU32::new(ORIGINAL_VERBOSITY);
/// Bumped by every SET_LOGGING_LEVEL, so only the latest one's timer reverts.
static LEVEL_GENERATION: AtomicU64 = AtomicU64::new(0);

type Reload = Box<dyn Fn(u32) -> Result<(), String> + Send + Sync>;
static RELOAD: OnceLock<Reload> = OnceLock::new();

/// Installs what applies a verbosity to the process's log filter (e.g. a
/// `tracing_subscriber` reload handle: 0 the configured filter, 1 debug, 2
/// trace). Only the first call counts; returns whether this one did.
pub fn set_log_reload(reload: impl Fn(u32) -> Result<(), String> + Send + Sync + 'static) -> bool {
    RELOAD.set(Box::new(reload)).is_ok()
}

/// The current verbosity (GET_LOGGING_LEVEL).
pub fn verbosity() -> u32 {
    VERBOSITY.load(Ordering::Relaxed)
}

fn set_verbosity(level: u32) {
    let before = VERBOSITY.swap(level, Ordering::Relaxed);
    if before != level {
        tracing::info!(from = before, to = level, "setting verbose logging level");
        if let Some(reload) = RELOAD.get()
            && let Err(e) = reload(level)
        {
            tracing::warn!(error = %e, "cannot change the log filter");
        }
    }
}

/// The call's type if its payload is there (`validation::agent::call`).
#[allow(deprecated)]
pub fn validate(call: &v1::agent::Call) -> Result<Type, String> {
    let Some(kind) = call.r#type.and_then(|t| Type::try_from(t).ok()) else {
        return Err("Expecting 'type' to be present".into());
    };
    let need = |present: bool, field: &str| {
        if present {
            Ok(kind)
        } else {
            Err(format!("Expecting '{field}' to be present"))
        }
    };
    match kind {
        Type::Unknown
        | Type::GetHealth
        | Type::GetFlags
        | Type::GetVersion
        | Type::GetLoggingLevel
        | Type::GetState
        | Type::GetContainers
        | Type::GetFrameworks
        | Type::GetExecutors
        | Type::GetOperations
        | Type::GetTasks
        | Type::GetAgent
        | Type::GetResourceProviders
        | Type::PruneImages => Ok(kind),
        Type::GetMetrics => need(call.get_metrics.is_some(), "get_metrics"),
        Type::SetLoggingLevel => need(call.set_logging_level.is_some(), "set_logging_level"),
        Type::ListFiles => need(call.list_files.is_some(), "list_files"),
        Type::ReadFile => need(call.read_file.is_some(), "read_file"),
        Type::LaunchNestedContainer => need(
            call.launch_nested_container.is_some(),
            "launch_nested_container",
        ),
        Type::WaitNestedContainer => need(
            call.wait_nested_container.is_some(),
            "wait_nested_container",
        ),
        Type::KillNestedContainer => need(
            call.kill_nested_container.is_some(),
            "kill_nested_container",
        ),
        Type::RemoveNestedContainer => need(
            call.remove_nested_container.is_some(),
            "remove_nested_container",
        ),
        Type::LaunchNestedContainerSession => need(
            call.launch_nested_container_session.is_some(),
            "launch_nested_container_session",
        ),
        Type::AttachContainerInput => need(
            call.attach_container_input.is_some(),
            "attach_container_input",
        ),
        Type::AttachContainerOutput => need(
            call.attach_container_output.is_some(),
            "attach_container_output",
        ),
        Type::LaunchContainer => need(call.launch_container.is_some(), "launch_container"),
        Type::WaitContainer => need(call.wait_container.is_some(), "wait_container"),
        Type::KillContainer => need(call.kill_container.is_some(), "kill_container"),
        Type::RemoveContainer => need(call.remove_container.is_some(), "remove_container"),
        Type::AddResourceProviderConfig => need(
            call.add_resource_provider_config.is_some(),
            "add_resource_provider_config",
        ),
        Type::UpdateResourceProviderConfig => need(
            call.update_resource_provider_config.is_some(),
            "update_resource_provider_config",
        ),
        Type::RemoveResourceProviderConfig => need(
            call.remove_resource_provider_config.is_some(),
            "remove_resource_provider_config",
        ),
        Type::MarkResourceProviderGone => need(
            call.mark_resource_provider_gone.is_some(),
            "mark_resource_provider_gone",
        ),
    }
}

/// Parses the body: one call in `content`, or the first record of a
/// recordio stream in `message_content`.
fn parse_call(
    content: ContentType,
    message_content: Option<ContentType>,
    body: &[u8],
) -> Result<v1::agent::Call, OperatorError> {
    let (content, bytes) = if content.is_streaming() {
        let mut records = mesos_common::recordio::Decoder::new(OPERATOR_CALL_BODY_BYTES_MAX);
        let first = records
            .decode(body)
            .map_err(|e| OperatorError::BadRequest(format!("Failed to read the call: {e}")))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                OperatorError::BadRequest("Received EOF while reading request body".into())
            })?;
        (message_content.unwrap_or(ContentType::Json), first)
    } else {
        (content, body.to_vec())
    };
    content.decode(&bytes).map_err(|e| match content {
        ContentType::Protobuf => {
            OperatorError::BadRequest(format!("Failed to parse body into Call protobuf: {e}"))
        }
        _ => OperatorError::BadRequest(format!("Failed to convert JSON into Call protobuf: {e}")),
    })
}

fn response(kind: R) -> v1::agent::Response {
    v1::agent::Response {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// `200` with `response` in `accept`.
pub fn encode_response(accept: ContentType, response: &v1::agent::Response) -> Response {
    let body = match accept {
        ContentType::Protobuf => response.encode_to_vec(),
        _ => mesos_common::json::to_vec(response),
    };
    Response::ok().with_body(accept.as_str(), body)
}

fn respond(accept: ContentType, r: v1::agent::Response) -> Result<Reply, OperatorError> {
    Ok(Reply::Now(encode_response(accept, &r)))
}

fn task_v1(t: &v0::Task) -> v1::Task {
    t.evolve()
}

fn queued_task(info: &v0::TaskInfo, framework_id: &str) -> v1::Task {
    crate::protobuf_utils::create_task(
        info,
        v0::TaskState::TaskStaging,
        &v0::FrameworkId {
            value: framework_id.to_string(),
        },
    )
    .evolve()
}

/// Every framework the agent knows, active ones first.
fn all_frameworks(a: &Agent) -> impl Iterator<Item = &Framework> {
    a.frameworks.values().chain(a.completed_frameworks.iter())
}

fn executor_v1(e: &Executor) -> v1::agent::response::get_executors::Executor {
    v1::agent::response::get_executors::Executor {
        executor_info: e.info.evolve(),
    }
}

fn framework_v1(f: &Framework) -> v1::agent::response::get_frameworks::Framework {
    v1::agent::response::get_frameworks::Framework {
        framework_info: f.info.evolve(),
    }
}

impl Agent {
    /// Whether the operator may do `action` on `object`. Requests to the
    /// agent are not authenticated (no principal), as without
    /// `--authenticate_http_readonly`/`readwrite` in Mesos.
    fn allowed(&self, action: Action, object: &Object<'_>) -> bool {
        self.authorizer.authorized(None, action, object)
    }

    /// 403 with an empty body, as Mesos answers a refused operator call.
    fn require(&self, action: Action, object: &Object<'_>) -> Result<(), OperatorError> {
        if self.allowed(action, object) {
            Ok(())
        } else {
            Err(OperatorError::Forbidden(String::new()))
        }
    }

    /// `POST /api/v1`.
    pub(crate) fn operator_api(&mut self, req: Request, ctx: &mut Context<Self>) -> Reply {
        match self.operator_dispatch(req, ctx) {
            Ok(reply) => reply,
            Err(e) => {
                tracing::debug!(error = %e, status = e.status(), "operator call refused");
                Reply::Now(e.response())
            }
        }
    }

    fn operator_dispatch(
        &mut self,
        req: Request,
        ctx: &mut Context<Self>,
    ) -> Result<Reply, OperatorError> {
        if self.state == AgentState::Recovering {
            return Err(OperatorError::Recovering);
        }
        if req.method != "POST" {
            return Err(OperatorError::MethodNotAllowed(req.method.clone()));
        }
        let types = agent_api_media_types(AgentApiHeaders {
            content_type: req.headers.get("Content-Type"),
            message_content_type: req.headers.get(mesos_common::http::MESSAGE_CONTENT_TYPE),
            accept: req.headers.get("Accept"),
            message_accept: req.headers.get(mesos_common::http::MESSAGE_ACCEPT),
        })?;
        if req.body.len() > OPERATOR_CALL_BODY_BYTES_MAX {
            return Err(OperatorError::BadRequest(format!(
                "Request body of {} bytes is larger than {OPERATOR_CALL_BODY_BYTES_MAX}",
                req.body.len()
            )));
        }
        let call = parse_call(types.content, types.message_content, &req.body)?;
        let kind = validate(&call).map_err(|e| {
            OperatorError::BadRequest(format!("Failed to validate agent::Call: {e}"))
        })?;
        let name = kind.as_str_name();
        if types.content.is_streaming() && kind != Type::AttachContainerInput {
            return Err(OperatorError::UnsupportedMediaType(format!(
                "Streaming 'Content-Type' {} is not supported for {name} call",
                types.content.as_str()
            )));
        }
        if !types.content.is_streaming() && kind == Type::AttachContainerInput {
            return Err(OperatorError::UnsupportedMediaType(format!(
                "Expecting 'Content-Type' to be {} for {name} call",
                ContentType::RecordIo.as_str()
            )));
        }
        if types.accept.is_streaming()
            && kind != Type::AttachContainerOutput
            && kind != Type::LaunchNestedContainerSession
        {
            return Err(OperatorError::NotAcceptable(format!(
                "Streaming response is not supported for {name} call"
            )));
        }
        tracing::info!(call = name, "processing operator call");
        self.operator_handle(kind, call, types.accept, ctx)
    }

    /// The dispatch table.
    #[allow(deprecated)]
    fn operator_handle(
        &mut self,
        kind: Type,
        call: v1::agent::Call,
        accept: ContentType,
        ctx: &mut Context<Self>,
    ) -> Result<Reply, OperatorError> {
        let missing =
            || OperatorError::BadRequest("Expecting the call's payload to be present".into());
        match kind {
            Type::Unknown => Err(OperatorError::NotImplemented(String::new())),
            Type::GetHealth => {
                let mut r = response(R::GetHealth);
                r.get_health = Some(v1::agent::response::GetHealth { healthy: true });
                respond(accept, r)
            }
            Type::GetFlags => {
                self.require(Action::ViewFlags, &Object::Nothing)?;
                let mut r = response(R::GetFlags);
                r.get_flags = Some(v1::agent::response::GetFlags {
                    flags: self
                        .flags
                        .effective_values()
                        .into_iter()
                        .map(|(name, value)| v1::Flag {
                            name,
                            value: Some(value),
                        })
                        .collect(),
                });
                respond(accept, r)
            }
            Type::GetVersion => {
                let mut r = response(R::GetVersion);
                r.get_version = Some(v1::agent::response::GetVersion {
                    version_info: v1::VersionInfo {
                        version: MESOS_VERSION.into(),
                        build_date: Some(String::new()),
                        build_time: Some(0.0),
                        build_user: Some(String::new()),
                        git_sha: None,
                        git_branch: None,
                        git_tag: None,
                    },
                });
                respond(accept, r)
            }
            Type::GetMetrics => {
                // Our gauges are read synchronously, so `timeout` cuts nothing.
                self.require(Action::ViewMetrics, &Object::Nothing)?;
                let mut r = response(R::GetMetrics);
                r.get_metrics = Some(v1::agent::response::GetMetrics {
                    metrics: ctx
                        .metrics()
                        .snapshot()
                        .into_iter()
                        .map(|(name, value)| v1::Metric {
                            name,
                            value: Some(value),
                        })
                        .collect(),
                });
                respond(accept, r)
            }
            Type::GetLoggingLevel => {
                let mut r = response(R::GetLoggingLevel);
                r.get_logging_level =
                    Some(v1::agent::response::GetLoggingLevel { level: verbosity() });
                respond(accept, r)
            }
            Type::SetLoggingLevel => {
                let set = call.set_logging_level.ok_or_else(missing)?;
                self.require(Action::SetLogLevel, &Object::Nothing)?;
                self.set_logging_level(set, ctx)
            }
            Type::ListFiles => {
                let path = call.list_files.ok_or_else(missing)?.path;
                self.require(Action::AccessSandbox, &Object::Path(&path))?;
                self.list_files(path, accept)
            }
            Type::ReadFile => {
                let read = call.read_file.ok_or_else(missing)?;
                self.require(Action::AccessSandbox, &Object::Path(&read.path))?;
                self.read_file(read, accept)
            }
            Type::GetState => {
                let mut r = response(R::GetState);
                r.get_state = Some(v1::agent::response::GetState {
                    get_tasks: Some(self.get_tasks()),
                    get_executors: Some(self.get_executors()),
                    get_frameworks: Some(self.get_frameworks()),
                });
                respond(accept, r)
            }
            Type::GetContainers => {
                let mut r = response(R::GetContainers);
                r.get_containers = Some(self.get_containers());
                respond(accept, r)
            }
            Type::GetFrameworks => {
                let mut r = response(R::GetFrameworks);
                r.get_frameworks = Some(self.get_frameworks());
                respond(accept, r)
            }
            Type::GetExecutors => {
                let mut r = response(R::GetExecutors);
                r.get_executors = Some(self.get_executors());
                respond(accept, r)
            }
            Type::GetTasks => {
                let mut r = response(R::GetTasks);
                r.get_tasks = Some(self.get_tasks());
                respond(accept, r)
            }
            Type::GetOperations => {
                // Operations on this agent's resources are applied at once
                // (CheckpointResourcesMessage); none is ever pending here.
                let mut r = response(R::GetOperations);
                r.get_operations = Some(Default::default());
                respond(accept, r)
            }
            Type::GetAgent => {
                let mut r = response(R::GetAgent);
                r.get_agent = Some(v1::agent::response::GetAgent {
                    agent_info: Some(self.info.evolve()),
                    drain_config: self.drain_config.map(|c| c.evolve()),
                    estimated_drain_start_time: self.estimated_drain_start_time.map(|secs| {
                        v1::TimeInfo {
                            nanoseconds: (secs * 1e9) as i64,
                        }
                    }),
                });
                respond(accept, r)
            }
            Type::GetResourceProviders => {
                // No resource provider runs on this agent.
                let mut r = response(R::GetResourceProviders);
                r.get_resource_providers = Some(Default::default());
                respond(accept, r)
            }
            Type::LaunchNestedContainer
            | Type::WaitNestedContainer
            | Type::KillNestedContainer
            | Type::RemoveNestedContainer
            | Type::LaunchNestedContainerSession
            | Type::AttachContainerInput
            | Type::AttachContainerOutput
            | Type::LaunchContainer
            | Type::WaitContainer
            | Type::KillContainer
            | Type::RemoveContainer
            | Type::AddResourceProviderConfig
            | Type::UpdateResourceProviderConfig
            | Type::RemoveResourceProviderConfig
            | Type::MarkResourceProviderGone
            | Type::PruneImages => Err(OperatorError::NotImplemented(format!(
                "{} is not supported by this agent",
                kind.as_str_name()
            ))),
        }
    }

    /// Sets the verbosity now and reverts it after `duration`; 200 without
    /// a body, as Mesos.
    fn set_logging_level(
        &mut self,
        call: v1::agent::call::SetLoggingLevel,
        ctx: &mut Context<Self>,
    ) -> Result<Reply, OperatorError> {
        if call.duration.nanoseconds < 0 {
            return Err(OperatorError::BadRequest(format!(
                "Invalid duration of {} nanoseconds",
                call.duration.nanoseconds
            )));
        }
        set_verbosity(call.level);
        let generation = LEVEL_GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
        if call.level != ORIGINAL_VERBOSITY {
            let after = std::time::Duration::from_nanos(call.duration.nanoseconds as u64);
            ctx.delay(after, move |_: &mut Agent, _| {
                if LEVEL_GENERATION.load(Ordering::Relaxed) == generation {
                    set_verbosity(ORIGINAL_VERBOSITY);
                }
            });
        }
        Ok(Reply::Now(Response::ok()))
    }

    fn list_files(&self, path: String, accept: ContentType) -> Result<Reply, OperatorError> {
        let files = self
            .files
            .clone()
            .ok_or_else(|| OperatorError::NotFound(String::new()))?;
        let listing = files.call(move |f, _| -> Result<Vec<v1::FileInfo>, FilesError> {
            use std::os::unix::fs::MetadataExt;
            let real = f.resolve(&path)?;
            let entries = f.browse(&path)?;
            Ok(entries
                .into_iter()
                .filter_map(|e| {
                    let vpath = e["path"].as_str()?.to_string();
                    let name = vpath.rsplit('/').next()?;
                    let meta = std::fs::metadata(real.join(name)).ok()?;
                    Some(v1::FileInfo {
                        path: vpath,
                        nlink: Some(meta.nlink() as i32),
                        size: Some(meta.len()),
                        mtime: Some(v1::TimeInfo {
                            nanoseconds: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                        }),
                        mode: Some(meta.mode()),
                        uid: e["uid"].as_str().map(str::to_string),
                        gid: e["gid"].as_str().map(str::to_string),
                    })
                })
                .collect())
        });
        Ok(Reply::later(async move {
            match listing.await {
                Ok(Ok(file_infos)) => {
                    let mut r = response(R::ListFiles);
                    r.list_files = Some(v1::agent::response::ListFiles { file_infos });
                    encode_response(accept, &r)
                }
                Ok(Err(e)) => OperatorError::from(e).response(),
                Err(_) => OperatorError::NotFound(String::new()).response(),
            }
        }))
    }

    fn read_file(
        &self,
        call: v1::agent::call::ReadFile,
        accept: ContentType,
    ) -> Result<Reply, OperatorError> {
        let offset = i64::try_from(call.offset).map_err(|_| {
            OperatorError::BadRequest(format!("Offset {} is too large", call.offset))
        })?;
        let files = self
            .files
            .clone()
            .ok_or_else(|| OperatorError::NotFound(String::new()))?;
        let path = call.path;
        let length = call.length;
        let read = files.call(move |f, _| f.read(&path, offset, length));
        Ok(Reply::later(async move {
            match read.await {
                Ok(Ok((size, data))) => {
                    let mut r = response(R::ReadFile);
                    r.read_file = Some(v1::agent::response::ReadFile { size, data });
                    encode_response(accept, &r)
                }
                Ok(Err(e)) => OperatorError::from(e).response(),
                Err(_) => OperatorError::NotFound(String::new()).response(),
            }
        }))
    }

    fn framework_visible(&self, f: &Framework) -> bool {
        self.allowed(Action::ViewFramework, &Object::Framework(&f.info))
    }

    fn executor_visible(&self, f: &Framework, e: &Executor) -> bool {
        self.allowed(
            Action::ViewExecutor,
            &Object::Executor {
                executor: &e.info,
                framework: &f.info,
            },
        )
    }

    fn task_visible(&self, f: &Framework, task: &v0::Task) -> bool {
        self.allowed(
            Action::ViewTask,
            &Object::Task {
                task,
                framework: &f.info,
            },
        )
    }

    fn task_info_visible(&self, f: &Framework, task: &v0::TaskInfo) -> bool {
        self.allowed(
            Action::ViewTask,
            &Object::TaskInfo {
                task,
                framework: &f.info,
            },
        )
    }

    /// Frameworks, executors, tasks and containers the authorizer lets the
    /// operator see (Mesos filters them per object the same way).
    fn get_frameworks(&self) -> v1::agent::response::GetFrameworks {
        v1::agent::response::GetFrameworks {
            frameworks: self
                .frameworks
                .values()
                .filter(|f| self.framework_visible(f))
                .map(framework_v1)
                .collect(),
            completed_frameworks: self
                .completed_frameworks
                .iter()
                .filter(|f| self.framework_visible(f))
                .map(framework_v1)
                .collect(),
        }
    }

    /// Running executors; the completed ones of every framework (completed
    /// frameworks' executors all count as completed).
    fn get_executors(&self) -> v1::agent::response::GetExecutors {
        let mut out = v1::agent::response::GetExecutors::default();
        for f in self.frameworks.values() {
            out.executors.extend(
                f.executors
                    .values()
                    .filter(|e| self.executor_visible(f, e))
                    .map(executor_v1),
            );
        }
        for f in all_frameworks(self) {
            out.completed_executors.extend(
                f.completed_executors
                    .iter()
                    .filter(|e| self.executor_visible(f, e))
                    .map(executor_v1),
            );
        }
        for f in &self.completed_frameworks {
            out.completed_executors.extend(
                f.executors
                    .values()
                    .filter(|e| self.executor_visible(f, e))
                    .map(executor_v1),
            );
        }
        out
    }

    /// Tasks by where they are: pending (not handed to an executor yet),
    /// queued (the executor has not registered), launched, terminated (a
    /// terminal update not yet acknowledged) and completed.
    fn get_tasks(&self) -> v1::agent::response::GetTasks {
        let mut out = v1::agent::response::GetTasks::default();
        for f in all_frameworks(self) {
            let info = |t: &&v0::TaskInfo| self.task_info_visible(f, t);
            let task = |t: &&v0::Task| self.task_visible(f, t);
            for tasks in f.pending_tasks.values() {
                out.pending_tasks
                    .extend(tasks.values().filter(info).map(|t| queued_task(t, &f.id)));
            }
            for e in f.executors.values().chain(f.completed_executors.iter()) {
                out.queued_tasks.extend(
                    e.queued_tasks
                        .iter()
                        .filter(info)
                        .map(|t| queued_task(t, &f.id)),
                );
                out.launched_tasks
                    .extend(e.launched_tasks.values().filter(task).map(task_v1));
                out.terminated_tasks
                    .extend(e.terminated_tasks.values().filter(task).map(task_v1));
                out.completed_tasks
                    .extend(e.completed_tasks.iter().filter(task).map(task_v1));
            }
        }
        out
    }

    fn get_containers(&self) -> v1::agent::response::GetContainers {
        let mut containers = Vec::new();
        for f in self.frameworks.values() {
            for e in f.executors.values() {
                let visible = self.allowed(
                    Action::ViewContainer,
                    &Object::Executor {
                        executor: &e.info,
                        framework: &f.info,
                    },
                );
                if !visible {
                    continue;
                }
                let container_id = v1::ContainerId {
                    value: e.container_id.clone(),
                    parent: None,
                };
                containers.push(v1::agent::response::get_containers::Container {
                    framework_id: Some(v1::FrameworkId {
                        value: f.id.clone(),
                    }),
                    executor_id: Some(v1::ExecutorId {
                        value: e.id.clone(),
                    }),
                    executor_name: e.info.name.clone(),
                    container_status: Some(v1::ContainerStatus {
                        container_id: Some(container_id.clone()),
                        executor_pid: e.pid,
                        ..Default::default()
                    }),
                    resource_statistics: self
                        .containerizer
                        .usage(&e.container_id)
                        .map(|s| s.evolve()),
                    container_id,
                });
            }
        }
        v1::agent::response::GetContainers { containers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(kind: Type) -> v1::agent::Call {
        v1::agent::Call {
            r#type: Some(kind as i32),
            ..Default::default()
        }
    }

    #[test]
    fn a_type_is_required_and_payloads_are_checked() {
        assert_eq!(
            validate(&v1::agent::Call::default()).unwrap_err(),
            "Expecting 'type' to be present"
        );
        for (kind, field) in [
            (Type::GetMetrics, "get_metrics"),
            (Type::SetLoggingLevel, "set_logging_level"),
            (Type::ListFiles, "list_files"),
            (Type::ReadFile, "read_file"),
            (Type::LaunchContainer, "launch_container"),
            (Type::AttachContainerInput, "attach_container_input"),
        ] {
            assert_eq!(
                validate(&call(kind)).unwrap_err(),
                format!("Expecting '{field}' to be present"),
                "{kind:?}"
            );
        }
        assert_eq!(validate(&call(Type::GetState)).unwrap(), Type::GetState);
    }

    #[test]
    fn a_recordio_body_yields_its_first_call() {
        let one = ContentType::Json
            .encode_record(&call(Type::GetHealth))
            .unwrap();
        let parsed = parse_call(ContentType::RecordIo, Some(ContentType::Json), &one).unwrap();
        assert_eq!(parsed.r#type, Some(Type::GetHealth as i32));
        assert!(matches!(
            parse_call(ContentType::RecordIo, Some(ContentType::Json), b""),
            Err(OperatorError::BadRequest(m)) if m == "Received EOF while reading request body"
        ));
        assert!(matches!(
            parse_call(ContentType::Protobuf, None, b"\xff\xff"),
            Err(OperatorError::BadRequest(m)) if m.starts_with("Failed to parse body into Call protobuf")
        ));
    }
}
