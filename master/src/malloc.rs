//! The master's memory allocator settings. `mesos-master` (and the failover
//! benchmark's emulated agents) allocate with mimalloc; see
//! `src/main.rs` for why.

#![allow(unsafe_code)] // one FFI call into mimalloc's option table, below.

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (the same in
/// mimalloc 2 and 3).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory stays mapped for reuse (-1: never purge). With mimalloc's
/// default purging the pages a reregistration storm freed went back to the
/// OS only for the next messages to fault them in again: zeroing pages
/// became half of a new leader's actor thread while 40k agents
/// reregistered, and the whole storm took 40% longer. The cost is that the
/// master's resident memory stays at its high-water mark, as it mostly did
/// with glibc's malloc.
pub const PURGE_DELAY_MS: i64 = -1;

/// Applies [`PURGE_DELAY_MS`]; call first thing in `main`.
pub fn delay_purge() {
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option
    // table: any value is valid for this option, and it may be called at any
    // time from any thread.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
}
