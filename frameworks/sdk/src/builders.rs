//! Builders for the protobufs a framework writes most: `FrameworkInfo`,
//! resources, `TaskInfo` and `ExecutorInfo`.
//!
//! ```
//! use mesos_framework::builders::{Resources, TaskBuilder};
//! let task = TaskBuilder::new("web-1")
//!     .command("python3 -m http.server")
//!     .resources(Resources::new().cpus(0.5).mem(128.0).build())
//!     .env("MODE", "prod")
//!     .build();
//! assert_eq!(task.task_id.value, "web-1");
//! ```

use mesos_common::proto::v1;
use mesos_common::resources::{ResourceFormat, parse_resources, proto::v1::resources_to};

/// A `FrameworkInfo` with a name and a user (empty: the master's default).
pub fn framework_info(name: &str, user: &str) -> v1::FrameworkInfo {
    v1::FrameworkInfo {
        user: user.into(),
        name: name.into(),
        ..Default::default()
    }
}

/// A `FrameworkInfo` subscribed with one role, as a `MULTI_ROLE` framework
/// (`roles`, not the deprecated `role`).
pub fn framework_info_for_role(name: &str, user: &str, role: &str) -> v1::FrameworkInfo {
    v1::FrameworkInfo {
        roles: vec![role.into()],
        capabilities: vec![v1::framework_info::Capability {
            r#type: Some(v1::framework_info::capability::Type::MultiRole as i32),
        }],
        ..framework_info(name, user)
    }
}

/// Resources, unreserved or reserved (statically) for a role.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    role: Option<String>,
    out: Vec<v1::Resource>,
}

impl Resources {
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Parses Mesos's `--resources` text (`cpus:1;mem:128;ports:[31000-31010]`,
    /// `cpus(role):1`); `role` is the default role of unqualified entries.
    pub fn parse(text: &str, role: &str) -> Result<Vec<v1::Resource>, String> {
        let parsed = parse_resources(text, role).map_err(|e| e.to_string())?;
        resources_to(&parsed, ResourceFormat::PostReservationRefinement).map_err(|e| e.to_string())
    }

    /// Following entries are reserved for `role` (`*`: unreserved).
    pub fn role(mut self, role: &str) -> Resources {
        self.role = (role != "*").then(|| role.to_string());
        self
    }

    fn push(mut self, mut r: v1::Resource) -> Resources {
        if let Some(role) = &self.role {
            r.reservations = vec![v1::resource::ReservationInfo {
                r#type: Some(v1::resource::reservation_info::Type::Static as i32),
                role: Some(role.clone()),
                ..Default::default()
            }];
        }
        self.out.push(r);
        self
    }

    pub fn scalar(self, name: &str, value: f64) -> Resources {
        self.push(v1::Resource {
            name: name.into(),
            r#type: v1::value::Type::Scalar as i32,
            scalar: Some(v1::value::Scalar { value }),
            ..Default::default()
        })
    }

    pub fn cpus(self, value: f64) -> Resources {
        self.scalar("cpus", value)
    }

    pub fn mem(self, megabytes: f64) -> Resources {
        self.scalar("mem", megabytes)
    }

    pub fn disk(self, megabytes: f64) -> Resources {
        self.scalar("disk", megabytes)
    }

    /// Port ranges, inclusive.
    pub fn ports(self, ranges: &[(u64, u64)]) -> Resources {
        self.push(v1::Resource {
            name: "ports".into(),
            r#type: v1::value::Type::Ranges as i32,
            ranges: Some(v1::value::Ranges {
                range: ranges
                    .iter()
                    .map(|&(begin, end)| v1::value::Range { begin, end })
                    .collect(),
            }),
            ..Default::default()
        })
    }

    pub fn build(self) -> Vec<v1::Resource> {
        self.out
    }
}

/// A `CommandInfo` running `value` through `/bin/sh -c`.
pub fn shell(value: &str) -> v1::CommandInfo {
    v1::CommandInfo {
        value: Some(value.into()),
        shell: Some(true),
        ..Default::default()
    }
}

/// A `CommandInfo` exec'ing `program` with `args` (argv[0] included).
pub fn exec(program: &str, args: &[&str]) -> v1::CommandInfo {
    v1::CommandInfo {
        value: Some(program.into()),
        shell: Some(false),
        arguments: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

fn set_env(command: &mut v1::CommandInfo, name: &str, value: &str) {
    let env = command.environment.get_or_insert_with(Default::default);
    env.variables.push(v1::environment::Variable {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    });
}

/// Builds a `TaskInfo`; the agent id usually comes from the offer
/// ([`TaskBuilder::offer`]).
#[derive(Debug, Clone)]
pub struct TaskBuilder {
    task: v1::TaskInfo,
}

impl TaskBuilder {
    /// A task whose id and name are `id`.
    pub fn new(id: &str) -> TaskBuilder {
        TaskBuilder {
            task: v1::TaskInfo {
                name: id.into(),
                task_id: v1::TaskId { value: id.into() },
                ..Default::default()
            },
        }
    }

    pub fn name(mut self, name: &str) -> TaskBuilder {
        self.task.name = name.into();
        self
    }

    pub fn agent(mut self, agent_id: &v1::AgentId) -> TaskBuilder {
        self.task.agent_id = agent_id.clone();
        self
    }

    /// Runs on the offer's agent.
    pub fn offer(self, offer: &v1::Offer) -> TaskBuilder {
        self.agent(&offer.agent_id)
    }

    /// A shell command (run by the command executor).
    pub fn command(mut self, command: &str) -> TaskBuilder {
        self.task.command = Some(shell(command));
        self
    }

    pub fn command_info(mut self, command: v1::CommandInfo) -> TaskBuilder {
        self.task.command = Some(command);
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> TaskBuilder {
        let command = self.task.command.get_or_insert_with(Default::default);
        set_env(command, name, value);
        self
    }

    pub fn resources(mut self, resources: Vec<v1::Resource>) -> TaskBuilder {
        self.task.resources = resources;
        self
    }

    /// Runs under a custom executor (instead of a command).
    pub fn executor(mut self, executor: v1::ExecutorInfo) -> TaskBuilder {
        self.task.executor = Some(executor);
        self
    }

    pub fn data(mut self, data: impl Into<Vec<u8>>) -> TaskBuilder {
        self.task.data = Some(data.into());
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> TaskBuilder {
        let labels = self.task.labels.get_or_insert_with(Default::default);
        labels.labels.push(v1::Label {
            key: key.into(),
            value: Some(value.into()),
        });
        self
    }

    /// A command health check run every `interval_seconds`.
    pub fn health_check(mut self, command: &str, interval_seconds: f64) -> TaskBuilder {
        self.task.health_check = Some(v1::HealthCheck {
            r#type: Some(v1::health_check::Type::Command as i32),
            command: Some(shell(command)),
            interval_seconds: Some(interval_seconds),
            ..Default::default()
        });
        self
    }

    pub fn build(self) -> v1::TaskInfo {
        self.task
    }
}

/// Builds an `ExecutorInfo` for a custom executor.
#[derive(Debug, Clone)]
pub struct ExecutorBuilder {
    executor: v1::ExecutorInfo,
}

impl ExecutorBuilder {
    pub fn new(id: &str) -> ExecutorBuilder {
        ExecutorBuilder {
            executor: v1::ExecutorInfo {
                r#type: Some(v1::executor_info::Type::Custom as i32),
                executor_id: v1::ExecutorId { value: id.into() },
                name: Some(id.into()),
                ..Default::default()
            },
        }
    }

    /// The default executor (for task groups): no command.
    pub fn default_executor(id: &str) -> ExecutorBuilder {
        let mut b = ExecutorBuilder::new(id);
        b.executor.r#type = Some(v1::executor_info::Type::Default as i32);
        b
    }

    pub fn command(mut self, command: v1::CommandInfo) -> ExecutorBuilder {
        self.executor.command = Some(command);
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> ExecutorBuilder {
        let command = self.executor.command.get_or_insert_with(Default::default);
        set_env(command, name, value);
        self
    }

    pub fn resources(mut self, resources: Vec<v1::Resource>) -> ExecutorBuilder {
        self.executor.resources = resources;
        self
    }

    pub fn framework(mut self, framework_id: &v1::FrameworkId) -> ExecutorBuilder {
        self.executor.framework_id = Some(framework_id.clone());
        self
    }

    pub fn build(self) -> v1::ExecutorInfo {
        self.executor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_read_well_and_carry_reservations() {
        let rs = Resources::new().cpus(1.0).role("web").mem(64.0).build();
        assert_eq!(rs[0].name, "cpus");
        assert!(rs[0].reservations.is_empty());
        assert_eq!(rs[1].reservations[0].role.as_deref(), Some("web"));
        let parsed = Resources::parse("cpus:0.5;mem:32;ports:[31000-31002]", "*").unwrap();
        assert_eq!(parsed.len(), 3);
        assert!(Resources::parse("cpus:lots", "*").is_err());
    }

    #[test]
    fn tasks_and_executors() {
        let offer = v1::Offer {
            agent_id: v1::AgentId { value: "S0".into() },
            ..Default::default()
        };
        let task = TaskBuilder::new("t-1")
            .offer(&offer)
            .command("echo hi")
            .env("A", "1")
            .label("k", "v")
            .health_check("true", 1.0)
            .build();
        assert_eq!(task.agent_id.value, "S0");
        let command = task.command.unwrap();
        assert_eq!(command.value.as_deref(), Some("echo hi"));
        assert_eq!(command.environment.unwrap().variables[0].name, "A");
        assert_eq!(task.labels.unwrap().labels[0].key, "k");
        let executor = ExecutorBuilder::new("e")
            .command(exec("/bin/x", &["x", "--flag"]))
            .build();
        assert_eq!(executor.executor_id.value, "e");
        assert_eq!(executor.command.unwrap().arguments, vec!["x", "--flag"]);
        assert_eq!(
            ExecutorBuilder::default_executor("d").build().r#type,
            Some(v1::executor_info::Type::Default as i32)
        );
    }
}
