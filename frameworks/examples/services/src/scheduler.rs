//! The services scheduler actor: the SDK's events and the REST API's
//! requests in, the core's decisions out as launches and kills.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use mesos_common::proto::v1;
use mesos_framework::builders::TaskBuilder;
use mesos_framework::offers::{Demand, pack};
use mesos_framework::{Event, Scheduler, calls};

use crate::app::{AppError, AppSpec};
use crate::core::{AppStatus, Change, Core};

/// How long declined offers stay away: short, so replacements find room
/// quickly (a revive also brings them back).
pub const DECLINE_REFUSE_SECONDS: f64 = 1.0;

#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct AddApp(pub AppSpec);

#[derive(Message)]
#[rtype(result = "Vec<AppStatus>")]
pub struct ListApps;

#[derive(Message)]
#[rtype(result = "Result<AppStatus, AppError>")]
pub struct GetApp(pub String);

#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct ScaleApp(pub String, pub u32);

#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct DeleteApp(pub String);

/// Sets the driver once started (the driver needs this actor's address).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetDriver(pub Scheduler);

/// The actor.
pub struct Services {
    core: Core,
    driver: Option<Scheduler>,
    role: String,
    /// Task id -> agent id, for kills.
    agents: HashMap<String, v1::AgentId>,
    wakeup: Option<SpawnHandle>,
}

impl Services {
    pub fn new(role: &str, backoff_min: Duration, backoff_max: Duration) -> Services {
        Services {
            core: Core::new(backoff_min, backoff_max),
            driver: None,
            role: role.into(),
            agents: HashMap::new(),
            wakeup: None,
        }
    }

    fn call(
        &self,
        ctx: &mut Context<Self>,
        build: impl FnOnce(&v1::FrameworkId) -> v1::scheduler::Call + Send + 'static,
    ) {
        if let Some(d) = self.driver.clone() {
            ctx.spawn(
                async move {
                    if let Err(e) = d.call(build).await {
                        tracing::warn!(error = %e, "services: call failed");
                    }
                }
                .into_actor(self),
            );
        }
    }

    fn kill(&mut self, tasks: Vec<String>, ctx: &mut Context<Self>) {
        for t in tasks {
            let agent = self.agents.get(&t).cloned();
            self.call(ctx, move |f| calls::kill(f, v1::TaskId { value: t }, agent));
        }
    }

    /// Brings offers back when something is wanted, now or after a backoff.
    fn want_offers(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        if !self.core.wanted(now).is_empty() {
            self.call(ctx, |f| calls::revive(f, vec![]));
        }
        if let Some(h) = self.wakeup.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = self.core.next_wakeup().filter(|at| *at > now) {
            self.wakeup = Some(ctx.run_later(at - now, |act, ctx| {
                act.wakeup = None;
                act.want_offers(ctx);
            }));
        }
    }

    fn offers(&mut self, offers: Vec<v1::Offer>, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut demands = Vec::new();
        let mut owners = Vec::new();
        for (app, n) in self.core.wanted(now) {
            let Some(spec) = self.core.spec(&app).cloned() else {
                continue;
            };
            for _ in 0..n {
                demands.push(Demand::new(spec.cpus, spec.mem));
                owners.push(spec.clone());
            }
        }
        let packing = pack(&offers, &self.role, &demands);
        let mut per_offer: Vec<Vec<v1::TaskInfo>> = vec![Vec::new(); offers.len()];
        for (spec, placement) in owners.iter().zip(packing.placements) {
            let Some(p) = placement else { continue };
            let offer = &offers[p.offer];
            let task_id = format!("{}.{}", spec.id, uuid::Uuid::new_v4().simple());
            let mut task = TaskBuilder::new(&task_id)
                .name(&spec.id)
                .offer(offer)
                .command(&spec.cmd)
                .resources(p.resources);
            if let Some(h) = &spec.health_check {
                task = task.health_check(&h.command, h.interval_seconds);
            }
            self.core
                .launched(&spec.id, &task_id, &offer.agent_id.value);
            self.agents.insert(task_id, offer.agent_id.clone());
            per_offer[p.offer].push(task.build());
        }
        for (offer, tasks) in offers.into_iter().zip(per_offer) {
            let id = offer.id;
            if tasks.is_empty() {
                self.call(ctx, move |f| {
                    calls::decline(f, vec![id], Some(calls::refuse_for(DECLINE_REFUSE_SECONDS)))
                });
            } else {
                self.call(ctx, move |f| {
                    calls::accept(f, vec![id], vec![calls::launch(tasks)], None)
                });
            }
        }
    }

    fn update(&mut self, status: v1::TaskStatus, ctx: &mut Context<Self>) {
        use v1::TaskState as S;
        let change = match S::try_from(status.state) {
            Ok(S::TaskRunning) => Change::Running,
            Ok(S::TaskStaging | S::TaskStarting | S::TaskKilling) => Change::Pending,
            // Everything else is terminal or, for UNREACHABLE, a task the
            // master gives up on for now: replace it (Marathon does too).
            _ => Change::Ended,
        };
        let id = status.task_id.value.clone();
        if change == Change::Ended {
            self.agents.remove(&id);
        }
        if self
            .core
            .update(&id, change, status.healthy, Instant::now())
        {
            self.kill(vec![id], ctx);
        }
        if change != Change::Pending {
            self.want_offers(ctx);
        }
    }
}

impl Actor for Services {
    type Context = Context<Self>;
}

impl Handler<Event> for Services {
    type Result = ();

    fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
        match event {
            Event::Subscribed { .. } => {
                // After a failover: learn what became of our tasks.
                let tasks: Vec<(v1::TaskId, Option<v1::AgentId>)> = self
                    .core
                    .task_ids()
                    .into_iter()
                    .map(|t| {
                        let agent = self.agents.get(&t).cloned();
                        (v1::TaskId { value: t }, agent)
                    })
                    .collect();
                if !tasks.is_empty() {
                    self.call(ctx, move |f| calls::reconcile(f, tasks));
                }
            }
            Event::Offers(offers) => self.offers(offers, ctx),
            Event::Update(status) => self.update(status, ctx),
            Event::Error(e) => {
                tracing::error!(error = %e, "services: the scheduler stopped");
                self.driver = None;
            }
            _ => {}
        }
    }
}

impl Handler<SetDriver> for Services {
    type Result = ();

    fn handle(&mut self, msg: SetDriver, _ctx: &mut Context<Self>) {
        self.driver = Some(msg.0);
    }
}

impl Handler<AddApp> for Services {
    type Result = Result<(), AppError>;

    fn handle(&mut self, msg: AddApp, ctx: &mut Context<Self>) -> Self::Result {
        self.core.add(msg.0)?;
        self.want_offers(ctx);
        Ok(())
    }
}

impl Handler<ListApps> for Services {
    type Result = Vec<AppStatus>;

    fn handle(&mut self, _: ListApps, _ctx: &mut Context<Self>) -> Self::Result {
        self.core.list()
    }
}

impl Handler<GetApp> for Services {
    type Result = Result<AppStatus, AppError>;

    fn handle(&mut self, msg: GetApp, _ctx: &mut Context<Self>) -> Self::Result {
        self.core.status(&msg.0)
    }
}

impl Handler<ScaleApp> for Services {
    type Result = Result<(), AppError>;

    fn handle(&mut self, msg: ScaleApp, ctx: &mut Context<Self>) -> Self::Result {
        let kill = self.core.scale(&msg.0, msg.1)?;
        self.kill(kill, ctx);
        self.want_offers(ctx);
        Ok(())
    }
}

impl Handler<DeleteApp> for Services {
    type Result = Result<(), AppError>;

    fn handle(&mut self, msg: DeleteApp, ctx: &mut Context<Self>) -> Self::Result {
        let kill = self.core.remove(&msg.0)?;
        self.kill(kill, ctx);
        Ok(())
    }
}
