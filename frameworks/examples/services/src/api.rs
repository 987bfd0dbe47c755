//! The REST API (Marathon's shape, trimmed): `POST /v2/apps` creates,
//! `GET /v2/apps` lists, `GET /v2/apps/{id}` shows, `PUT /v2/apps/{id}`
//! with `{"instances": n}` scales, `DELETE /v2/apps/{id}` removes. Errors
//! are JSON `{"message": ...}` with 400, 404, 409 or 503.

use actix::Addr;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::app::{AppError, AppSpec, BODY_BYTES_MAX};
use crate::scheduler::{AddApp, DeleteApp, GetApp, ListApps, ScaleApp, Services};

type State = web::Data<Addr<Services>>;

/// The one place errors become statuses.
fn error(e: &AppError) -> HttpResponse {
    let mut r = match e {
        AppError::Invalid(_) => HttpResponse::BadRequest(),
        AppError::Exists(_) => HttpResponse::Conflict(),
        AppError::NotFound(_) => HttpResponse::NotFound(),
        AppError::Unavailable => HttpResponse::ServiceUnavailable(),
    };
    r.json(serde_json::json!({ "message": e.to_string() }))
}

fn answer<T: serde::Serialize>(
    r: Result<Result<T, AppError>, actix::MailboxError>,
    ok: u16,
) -> HttpResponse {
    match r {
        Ok(Ok(v)) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(ok).unwrap_or(actix_web::http::StatusCode::OK),
        )
        .json(v),
        Ok(Err(e)) => error(&e),
        Err(_) => error(&AppError::Unavailable),
    }
}

async fn create(state: State, body: web::Bytes) -> HttpResponse {
    let spec = match AppSpec::parse(&body) {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let shown = spec.clone();
    answer(
        state.send(AddApp(spec)).await.map(|r| r.map(|()| shown)),
        201,
    )
}

async fn list(state: State) -> HttpResponse {
    answer(
        state
            .send(ListApps)
            .await
            .map(|apps| Ok(serde_json::json!({ "apps": apps }))),
        200,
    )
}

async fn show(state: State, id: web::Path<String>) -> HttpResponse {
    answer(state.send(GetApp(id.into_inner())).await, 200)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scale {
    instances: u32,
}

async fn scale(state: State, id: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let scale: Scale = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return error(&AppError::Invalid(e.to_string())),
    };
    answer(
        state.send(ScaleApp(id.into_inner(), scale.instances)).await,
        200,
    )
}

async fn delete(state: State, id: web::Path<String>) -> HttpResponse {
    answer(state.send(DeleteApp(id.into_inner())).await, 200)
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(BODY_BYTES_MAX))
        .route("/v2/apps", web::post().to(create))
        .route("/v2/apps", web::get().to(list))
        .route("/v2/apps/{id}", web::get().to(show))
        .route("/v2/apps/{id}", web::put().to(scale))
        .route("/v2/apps/{id}", web::delete().to(delete));
}
