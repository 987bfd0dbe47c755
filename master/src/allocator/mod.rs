//! The allocator: decides which framework is offered which agent's resources.
//!
//! The master talks to it only through the [`Allocator`] handle; the
//! contract mirrors Mesos's `mesos::allocator::Allocator` interface.
