//! The cron scheduler actor: ticks its clock (a timer, or a `Tick` from a
//! test that moved an injected clock), launches pending runs into offers,
//! and feeds run outcomes back to the core.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use actix::prelude::*;
use mesos_common::proto::v1;
use mesos_framework::builders::TaskBuilder;
use mesos_framework::offers::{Demand, pack};
use mesos_framework::{Event, Scheduler, calls};

use crate::core::{Core, JobError, JobSpec, JobStatus};

/// Where the time comes from (epoch milliseconds).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock tests set by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(ms: i64) -> ManualClock {
        ManualClock(AtomicI64::new(ms))
    }

    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(
            i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// How often the actor looks at its clock.
pub const TICK_INTERVAL: Duration = Duration::from_millis(250);
/// Declined offers come back after this (a revive brings them sooner).
pub const DECLINE_REFUSE_SECONDS: f64 = 1.0;

#[derive(Message)]
#[rtype(result = "Result<(), JobError>")]
pub struct AddJob(pub JobSpec);

#[derive(Message)]
#[rtype(result = "Vec<JobStatus>")]
pub struct ListJobs;

#[derive(Message)]
#[rtype(result = "Result<JobStatus, JobError>")]
pub struct GetJob(pub String);

/// Look at the clock now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Tick;

#[derive(Message)]
#[rtype(result = "()")]
pub struct SetDriver(pub Scheduler);

/// The actor.
pub struct Cron {
    core: Core,
    clock: Arc<dyn Clock>,
    driver: Option<Scheduler>,
    role: String,
    runs: u64,
    /// Pending runs already announced with a revive.
    revived_for: usize,
    agents: HashMap<String, v1::AgentId>,
}

impl Cron {
    pub fn new(clock: Arc<dyn Clock>, role: &str) -> Cron {
        Cron {
            core: Core::new(),
            clock,
            driver: None,
            role: role.into(),
            runs: 0,
            revived_for: 0,
            agents: HashMap::new(),
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
                        tracing::warn!(error = %e, "cron: call failed");
                    }
                }
                .into_actor(self),
            );
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.core.tick(self.clock.now_ms());
        let pending = self.core.pending().count();
        if pending > 0 && pending != self.revived_for {
            self.call(ctx, |f| calls::revive(f, vec![]));
        }
        self.revived_for = pending;
    }

    fn offers(&mut self, offers: Vec<v1::Offer>, ctx: &mut Context<Self>) {
        let pending: Vec<_> = self.core.pending().cloned().collect();
        let demands: Vec<Demand> = pending
            .iter()
            .map(|p| {
                self.core
                    .spec(&p.job)
                    .map_or(Demand::default(), |s| Demand::new(s.cpus, s.mem))
            })
            .collect();
        let packing = pack(&offers, &self.role, &demands);
        let mut per_offer: Vec<Vec<v1::TaskInfo>> = vec![Vec::new(); offers.len()];
        // Pending runs are started in order; stop at the first that does
        // not fit so a big job is not starved by small ones behind it.
        for placement in packing.placements {
            let Some(p) = placement else { break };
            self.runs += 1;
            let offer = &offers[p.offer];
            let Some(front) = self.core.pending().next().cloned() else {
                break;
            };
            let task_id = format!("cron.{}.{}.{}", front.job, self.runs, front.attempt);
            let Some(run) = self.core.start_next(&task_id) else {
                break;
            };
            let Some(spec) = self.core.spec(&run.job) else {
                continue;
            };
            self.agents.insert(task_id.clone(), offer.agent_id.clone());
            per_offer[p.offer].push(
                TaskBuilder::new(&task_id)
                    .name(&format!("cron {}", run.job))
                    .offer(offer)
                    .command(&spec.command)
                    .resources(p.resources)
                    .build(),
            );
        }
        self.revived_for = self.core.pending().count();
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
        let success = match S::try_from(status.state) {
            Ok(S::TaskFinished) => true,
            Ok(S::TaskStaging | S::TaskStarting | S::TaskRunning | S::TaskKilling) => return,
            _ => false,
        };
        self.agents.remove(&status.task_id.value);
        self.core
            .finished(&status.task_id.value, success, self.clock.now_ms());
        self.tick(ctx);
    }
}

impl Actor for Cron {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK_INTERVAL, |act, ctx| act.tick(ctx));
    }
}

impl Handler<Event> for Cron {
    type Result = ();

    fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
        match event {
            Event::Offers(offers) => self.offers(offers, ctx),
            Event::Update(status) => self.update(status, ctx),
            Event::Error(e) => {
                tracing::error!(error = %e, "cron: the scheduler stopped");
                self.driver = None;
            }
            _ => {}
        }
    }
}

impl Handler<SetDriver> for Cron {
    type Result = ();

    fn handle(&mut self, msg: SetDriver, _ctx: &mut Context<Self>) {
        self.driver = Some(msg.0);
    }
}

impl Handler<Tick> for Cron {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Context<Self>) {
        self.tick(ctx);
    }
}

impl Handler<AddJob> for Cron {
    type Result = Result<(), JobError>;

    fn handle(&mut self, msg: AddJob, ctx: &mut Context<Self>) -> Self::Result {
        self.core.add(msg.0, self.clock.now_ms())?;
        self.tick(ctx);
        Ok(())
    }
}

impl Handler<ListJobs> for Cron {
    type Result = Vec<JobStatus>;

    fn handle(&mut self, _: ListJobs, _ctx: &mut Context<Self>) -> Self::Result {
        self.core.list()
    }
}

impl Handler<GetJob> for Cron {
    type Result = Result<JobStatus, JobError>;

    fn handle(&mut self, msg: GetJob, _ctx: &mut Context<Self>) -> Self::Result {
        self.core.status(&msg.0)
    }
}
