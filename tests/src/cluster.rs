//! `Cluster`: a master in its own runtime, restartable on the same registry
//! (an [`InMemoryBackend`] shared across restarts, as a replicated registry
//! would survive a master failover).

use std::net::SocketAddr;

use libprocess::{Context, Runtime, RuntimeConfig, Upid};
use mesos_master::{
    InMemoryBackend, Master, MasterFlags, MasterHandle, MasterOptions, start_master,
};

use crate::agent::{AgentHandle, TaskBehaviour};

/// A running master (and the registry it keeps).
pub struct Cluster {
    pub flags: MasterFlags,
    pub registry: InMemoryBackend,
    pub runtime: Option<Runtime>,
    pub master: MasterHandle,
}

/// Master flags for tests: fast allocation, everything else Mesos's default.
pub fn test_flags() -> MasterFlags {
    MasterFlags {
        allocation_interval: mesos_common::units::Duration::from_millis(50),
        hostname: Some("localhost".into()),
        ..MasterFlags::default()
    }
}

impl Cluster {
    /// Starts a master with `flags` and waits until it serves.
    pub fn start(flags: MasterFlags) -> Cluster {
        crate::init_logging();
        let registry = InMemoryBackend::new();
        let (runtime, master) = Self::boot(&flags, &registry, None);
        Cluster {
            flags,
            registry,
            runtime: Some(runtime),
            master,
        }
    }

    fn boot(
        flags: &MasterFlags,
        registry: &InMemoryBackend,
        port: Option<u16>,
    ) -> (Runtime, MasterHandle) {
        let mut config = RuntimeConfig::local().with_delegate("master");
        if let Some(p) = port {
            config.port = p;
        }
        let runtime = Runtime::bind(config).expect("bind the master runtime");
        let master = start_master(
            &runtime.handle(),
            MasterOptions::new(flags.clone()).with_registry(registry.clone()),
        )
        .expect("start the master");
        let cluster_master = master.clone();
        crate::eventually(|| crate::wait(cluster_master.call(|m, _| m.ready())).unwrap_or(false));
        (runtime, master)
    }

    /// Stops the master and starts a new one (new id) on the same address
    /// and registry: a master failover.
    pub fn restart_master(&mut self) {
        let port = self.address().port();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown();
        }
        let (runtime, master) = Self::boot(&self.flags, &self.registry, Some(port));
        self.runtime = Some(runtime);
        self.master = master;
    }

    pub fn upid(&self) -> Upid {
        self.master.upid().clone()
    }

    /// Where HTTP clients connect.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::V4(self.master.upid().address())
    }

    /// Runs `f` in the master.
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Master, &mut Context<Master>) -> R + Send + 'static,
    ) -> R {
        crate::wait(self.master.call(f)).expect("master is running")
    }

    /// Starts a test agent and waits until it is registered.
    pub fn add_agent(&self, resources: &str, behaviour: TaskBehaviour) -> AgentHandle {
        let agent = AgentHandle::start(&self.upid(), resources, behaviour);
        crate::eventually(|| agent.id().is_some());
        agent
    }

    /// A counter or gauge as `/metrics/snapshot` shows it: the master's gauges are
    /// computed when a snapshot asks (its refresher runs first).
    pub fn metric(&self, name: &str) -> f64 {
        let runtime = self.runtime.as_ref().expect("running");
        libprocess::block_on(
            runtime
                .metrics()
                .refresh(libprocess::metrics::REFRESH_TIMEOUT),
        );
        runtime
            .metrics()
            .snapshot()
            .get(name)
            .copied()
            .unwrap_or(f64::NAN)
    }
}
