//! `define_flags!`: declares a flag struct and implements
//! [`Flags`](super::Flags) for it, without a proc-macro crate.

/// Declares a struct of flags. Each field is a flag named after the field,
/// with optional `alias` (or `deprecated_alias`, which warns when used),
/// optional `default`, required `help`, and an optional `validate` hook
/// (`Fn(&T) -> Result<(), String>`). A non-`Option` field without a
/// default is required. The macro implements `Default` (every flag at its
/// default), so do not derive it.
///
/// ```
/// use mesos_common::define_flags;
/// use mesos_common::flags::FlagsLoader;
/// use mesos_common::units::Duration;
///
/// define_flags! {
///     /// A small master.
///     #[derive(Debug, Clone)]
///     pub struct MiniMasterFlags {
///         pub port: u16 { default: 5050u16, help: "Port to listen on." },
///         pub work_dir: Option<String> { help: "Where to keep the registry." },
///         pub allocation_interval: Duration {
///             default: Duration::from_secs(1),
///             help: "Amount of time to wait between allocations.",
///             validate: |d: &Duration| if d.ns() > 0 { Ok(()) } else { Err("must be positive".into()) },
///         },
///         pub offer_timeout: Option<Duration> { help: "Duration after which offers are rescinded." },
///         pub agent_reregister_timeout: Duration {
///             deprecated_alias: "slave_reregister_timeout",
///             default: Duration::from_mins(10),
///             help: "Timeout for agents to reregister after failover.",
///         },
///     }
/// }
///
/// let args = ["mesos-master", "--port=5051", "--allocation_interval=2secs", "--slave_reregister_timeout=15mins"];
/// let loaded = FlagsLoader::new()
///     .env_prefix("MESOS_")
///     .load::<MiniMasterFlags>(&args, [("MESOS_WORK_DIR".to_string(), "/var/lib/mesos".to_string())])
///     .unwrap();
/// assert_eq!(loaded.flags.port, 5051);
/// assert_eq!(loaded.flags.work_dir.as_deref(), Some("/var/lib/mesos"));
/// assert_eq!(loaded.flags.allocation_interval, Duration::from_secs(2));
/// assert_eq!(loaded.flags.offer_timeout, None);
/// assert_eq!(loaded.flags.agent_reregister_timeout, Duration::from_mins(15));
/// assert_eq!(loaded.warnings.len(), 1);
/// assert_eq!(loaded.effective_values()["slave_reregister_timeout"], "15mins");
/// ```
#[macro_export]
macro_rules! define_flags {
    (
        $(#[$smeta:meta])*
        $svis:vis struct $Struct:ident {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $ty:ty {
                    $(alias: $alias:literal,)?
                    $(deprecated_alias: $dalias:literal,)?
                    $(default: $default:expr,)?
                    help: $help:expr
                    $(, validate: $validate:expr)?
                    $(,)?
                }
            ),* $(,)?
        }
    ) => {
        $(#[$smeta])*
        $svis struct $Struct {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        impl ::core::default::Default for $Struct {
            fn default() -> Self {
                <Self as $crate::flags::Flags>::with_defaults()
            }
        }

        impl $crate::flags::Flags for $Struct {
            fn flag_specs() -> &'static [$crate::flags::FlagSpec] {
                const SPECS: &[$crate::flags::FlagSpec] = &[$(
                    $crate::flags::FlagSpec {
                        name: stringify!($field),
                        alias: $crate::__flag_alias!($($alias)? $($dalias)?),
                        alias_deprecated: $crate::__flag_present!($($dalias)?),
                        help: $help,
                        boolean: <$ty as $crate::flags::FlagValue>::IS_BOOL,
                        required: !<$ty as $crate::flags::FlagValue>::IS_OPTIONAL
                            && !$crate::__flag_present!($($default)?),
                        has_default: $crate::__flag_present!($($default)?),
                        fetches_files: <$ty as $crate::flags::FlagValue>::FETCHES_FILES,
                    },
                )*];
                SPECS
            }

            fn with_defaults() -> Self {
                $Struct { $( $field: $crate::__flag_default!($ty $(, $default)?), )* }
            }

            fn load_field(&mut self, name: &str, value: &str) -> ::core::result::Result<(), String> {
                $(
                    if name == stringify!($field) {
                        self.$field = <$ty as $crate::flags::FlagValue>::parse_flag(value)?;
                        return Ok(());
                    }
                )*
                Err(format!("no flag named '{name}'"))
            }

            fn stringify_field(&self, name: &str) -> Option<String> {
                $(
                    if name == stringify!($field) {
                        return <$ty as $crate::flags::FlagValue>::stringify_flag(&self.$field);
                    }
                )*
                None
            }

            fn validate_field(&self, name: &str) -> ::core::result::Result<(), String> {
                $(
                    if name == stringify!($field) {
                        return $crate::__flag_validate!(self.$field $(, $validate)?);
                    }
                )*
                Ok(())
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __flag_alias {
    () => {
        None
    };
    ($alias:literal) => {
        Some($alias)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __flag_present {
    () => {
        false
    };
    ($($anything:tt)+) => {
        true
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __flag_default {
    ($ty:ty) => {
        <$ty as ::core::default::Default>::default()
    };
    ($ty:ty, $default:expr) => {
        ::core::convert::Into::<$ty>::into($default)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __flag_validate {
    ($value:expr) => {{
        let _ = &$value;
        Ok(())
    }};
    ($value:expr, $hook:expr) => {
        $crate::flags::run_validation(&$value, $hook)
    };
}
