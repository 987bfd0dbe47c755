//! Starting a master inside a runtime: what the `mesos-master` binary,
//! `mesos-local` and the cluster tests call.
//!
//! ```no_run
//! use mesos_master::{MasterFlags, MasterOptions, start_master, runtime_config};
//! let flags = MasterFlags::default();
//! let runtime = libprocess::Runtime::bind(runtime_config(&flags).unwrap()).unwrap();
//! let master = start_master(&runtime.handle(), MasterOptions::new(flags)).unwrap();
//! println!("master at {}", master.upid());
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use libprocess::{RuntimeConfig, RuntimeHandle};
use mesos_common::flags::Flags;
use mesos_common::proto::v0;

use crate::error::MasterError;
use crate::flags::MasterFlags;
use crate::leader::contender::Contender;
use crate::leader::election::ElectionSpec;
use crate::leader::{LeaderLink, LostAction};
use crate::master::{Leadership, MESOS_VERSION, Master, MasterHandle, MasterMetrics};
use crate::registrar::etcd::{EtcdBackend, EtcdRegistryLimits};
use crate::registrar::{InMemoryBackend, RegistrarHandle, RegistrarTimeouts, RegistryBackend};

/// How to start a master.
pub struct MasterOptions {
    pub flags: MasterFlags,
    /// What `/flags` shows (the names the flags were given by); every flag's
    /// value when `None`.
    pub flag_values: Option<BTreeMap<String, String>>,
    /// Where the registry lives; a fresh in-memory one when `None`. Pass a
    /// clone of an [`InMemoryBackend`] to restart a master on the same
    /// registry.
    pub registry: Option<Box<dyn RegistryBackend>>,
    /// What to do on losing leadership (with `--etcd`): embedded masters
    /// terminate their `master` process; the binary exits.
    pub on_leadership_lost: LostAction,
    /// Timeouts and retries of etcd traffic (with `--etcd`).
    pub etcd_options: mesos_detector::EtcdOptions,
    /// Events a v1 scheduler's stream buffers before the master disconnects
    /// the scheduler for not reading (not a Mesos flag: Mesos's streams have
    /// no bound). Default `SCHEDULER_STREAM_CHUNKS_MAX`.
    pub scheduler_stream_chunks_max: usize,
}

impl MasterOptions {
    pub fn new(flags: MasterFlags) -> Self {
        Self {
            flags,
            flag_values: None,
            registry: None,
            on_leadership_lost: LostAction::Terminate,
            etcd_options: mesos_detector::EtcdOptions::default(),
            scheduler_stream_chunks_max: crate::http::scheduler::SCHEDULER_STREAM_CHUNKS_MAX,
        }
    }

    pub fn with_registry(mut self, backend: impl RegistryBackend) -> Self {
        self.registry = Some(Box::new(backend));
        self
    }
}

/// The runtime configuration the flags ask for: `--ip`, `--port`,
/// `--advertise_ip`, `--advertise_port`, delegate `master`.
pub fn runtime_config(flags: &MasterFlags) -> Result<RuntimeConfig, MasterError> {
    let bad = |flag: &str, v: &str| MasterError::Flag {
        flag: flag.into(),
        reason: format!("'{v}' is not an IPv4 address"),
    };
    let ip = match &flags.ip {
        Some(v) => v.parse::<Ipv4Addr>().map_err(|_| bad("ip", v))?,
        None => Ipv4Addr::UNSPECIFIED,
    };
    let mut config = RuntimeConfig::new(ip, flags.port).with_delegate("master");
    if let Some(v) = &flags.advertise_ip {
        config.advertise_ip = Some(v.parse().map_err(|_| bad("advertise_ip", v))?);
    }
    config.advertise_port = flags.advertise_port;
    Ok(config)
}

fn all_flag_values(flags: &MasterFlags) -> BTreeMap<String, String> {
    MasterFlags::flag_specs()
        .iter()
        .filter_map(|s| {
            flags
                .stringify_field(s.name)
                .map(|v| (s.name.to_string(), v))
        })
        .collect()
}

/// `MasterInfo` for a master at `runtime`'s advertised address.
fn master_info(runtime: &RuntimeHandle, flags: &MasterFlags) -> v0::MasterInfo {
    let address = runtime.address();
    let ip = *address.ip();
    let hostname = flags.hostname.clone().unwrap_or_else(|| {
        if flags.hostname_lookup {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| ip.to_string())
        } else {
            ip.to_string()
        }
    });
    use v0::master_info::{Capability, capability::Type};
    v0::MasterInfo {
        id: uuid::Uuid::new_v4().to_string(),
        // The raw `s_addr` read as a native (little-endian) integer (MESOS-1201).
        ip: u32::from_le_bytes(ip.octets()),
        port: u32::from(address.port()),
        pid: Some(format!("master@{address}")),
        hostname: Some(hostname.clone()),
        version: Some(MESOS_VERSION.into()),
        address: Some(v0::Address {
            hostname: Some(hostname),
            ip: Some(ip.to_string()),
            port: i32::from(address.port()),
        }),
        domain: None,
        capabilities: [Type::AgentUpdate, Type::AgentDraining, Type::QuotaV2]
            .into_iter()
            .map(|t| Capability {
                r#type: Some(t as i32),
            })
            .collect(),
    }
}

/// Starts the `master` process (with its allocator, registrar and
/// observers) in `runtime`. Messages are answered once the registry has
/// been recovered, a moment later.
pub fn start_master(
    runtime: &RuntimeHandle,
    options: MasterOptions,
) -> Result<MasterHandle, MasterError> {
    let derived = options.flags.validate_for_start()?;
    let flag_values = options
        .flag_values
        .unwrap_or_else(|| all_flag_values(&options.flags));
    let mut info = master_info(runtime, &options.flags);
    if let Some(text) = &options.flags.domain {
        let domain: v0::DomainInfo =
            mesos_common::json::from_str(text).map_err(|e| MasterError::Flag {
                flag: "domain".into(),
                reason: e.to_string(),
            })?;
        if domain.fault_domain.is_none() {
            return Err(MasterError::Flag {
                flag: "domain".into(),
                reason: "`domain` must define `fault_domain`".into(),
            });
        }
        info.domain = Some(domain);
    }
    // With `--etcd`: the etcd thread, and what the campaign and the etcd
    // registry share.
    let election = match &derived.etcd {
        Some(url) => {
            let etcd = mesos_detector::EtcdRuntime::start(
                url.clone(),
                options.etcd_options.clone(),
                "etcd",
            )
            .map_err(|e| MasterError::Etcd(e.to_string()))?;
            if options.flags.quorum.is_some() {
                tracing::warn!("--quorum is ignored: with etcd, etcd's own quorum applies");
            }
            if options.flags.registry != "etcd" && options.registry.is_none() {
                tracing::warn!(
                    "--etcd with --registry=in_memory: a newly elected master starts from an empty registry"
                );
            }
            Some((etcd, LeaderLink::new(options.on_leadership_lost)))
        }
        None => None,
    };
    let flags = &options.flags;
    let timeouts = RegistrarTimeouts {
        fetch: flags.registry_fetch_timeout.to_std().unwrap_or_default(),
        store: flags.registry_store_timeout.to_std().unwrap_or_default(),
    };
    let backend: Box<dyn RegistryBackend> = match (options.registry, &election) {
        (Some(b), _) => b,
        (None, Some((etcd, link))) if flags.registry == "etcd" => Box::new(
            EtcdBackend::new(
                etcd.clone(),
                link.clone(),
                EtcdRegistryLimits {
                    max_txn_ops: usize::try_from(flags.etcd_max_txn_ops).unwrap_or(usize::MAX),
                    fetch_timeout: timeouts.fetch,
                    store_timeout: timeouts.store,
                },
            )
            // Standbys follow the registry, so that an elected one need
            // not read it all while agents' reregistrations are dropped.
            .with_standby_copy(runtime.metrics()),
        ),
        (None, _) => Box::new(InMemoryBackend::new()),
    };
    let registrar = RegistrarHandle::spawn_with(runtime, backend, timeouts)?;
    let metrics = MasterMetrics::register(runtime.metrics());
    let ttl = flags.etcd_session_timeout.to_std().unwrap_or_default();
    let mut master = Master::new(
        Arc::new(options.flags),
        Arc::new(flag_values),
        derived,
        info.clone(),
        registrar,
        metrics,
    );
    master.scheduler_stream_chunks_max = options.scheduler_stream_chunks_max;
    if election.is_some() {
        // Elected later, by the contender.
        master.leadership = Leadership::Standby { leader: None };
    }
    let pid = runtime.spawn("master", master)?;
    if let Some((etcd, link)) = election {
        let spec = ElectionSpec {
            prefix: etcd.url().prefix().to_string(),
            info_json: mesos_detector::master_info::to_json(&info),
            ttl,
        };
        let contender = Contender::new(etcd, link, pid.clone(), info.id.clone(), spec);
        runtime.spawn(&libprocess::generate_id("contender"), contender)?;
    }
    Ok(MasterHandle::new(pid, info))
}
