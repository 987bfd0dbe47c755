//! Task status updates: every update is checkpointed (for checkpointing
//! frameworks), forwarded in order per task with only the head in flight, and
//! retried until the master acknowledges it.
//!
//! - [`stream`]: the pure core (streams, `task.updates` records, recovery).
//! - [`manager`]: the actor owning the core and the retry timers.

pub mod manager;
pub mod stream;

pub use manager::StatusUpdateManager;
pub use stream::{StreamError, StreamTarget, UpdateManagerCore};
