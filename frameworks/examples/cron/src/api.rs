//! The REST API: `POST /jobs` adds a job (400 invalid, 409 exists),
//! `GET /jobs` lists them, `GET /jobs/{name}` shows one (404). Errors are
//! JSON `{"message": ...}`.

use actix::Addr;
use actix_web::{HttpResponse, web};

use crate::core::{JobError, JobSpec};
use crate::scheduler::{AddJob, Cron, GetJob, ListJobs};

type State = web::Data<Addr<Cron>>;

/// The one place errors become statuses.
fn error(e: &JobError) -> HttpResponse {
    let mut r = match e {
        JobError::Invalid(_) => HttpResponse::BadRequest(),
        JobError::Exists(_) => HttpResponse::Conflict(),
        JobError::NotFound(_) => HttpResponse::NotFound(),
        JobError::Unavailable => HttpResponse::ServiceUnavailable(),
    };
    r.json(serde_json::json!({ "message": e.to_string() }))
}

async fn add(state: State, body: web::Bytes) -> HttpResponse {
    let spec = match JobSpec::parse(&body) {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let shown = spec.clone();
    match state.send(AddJob(spec)).await {
        Ok(Ok(())) => HttpResponse::Created().json(shown),
        Ok(Err(e)) => error(&e),
        Err(_) => error(&JobError::Unavailable),
    }
}

async fn list(state: State) -> HttpResponse {
    match state.send(ListJobs).await {
        Ok(jobs) => HttpResponse::Ok().json(serde_json::json!({ "jobs": jobs })),
        Err(_) => error(&JobError::Unavailable),
    }
}

async fn show(state: State, name: web::Path<String>) -> HttpResponse {
    match state.send(GetJob(name.into_inner())).await {
        Ok(Ok(job)) => HttpResponse::Ok().json(job),
        Ok(Err(e)) => error(&e),
        Err(_) => error(&JobError::Unavailable),
    }
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(64 * 1024))
        .route("/jobs", web::post().to(add))
        .route("/jobs", web::get().to(list))
        .route("/jobs/{name}", web::get().to(show));
}
