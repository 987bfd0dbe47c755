//! Isolators with their own file, one per isolation mechanism (the
//! `posix/cpu` and `posix/mem` hooks are in `super::isolator` with the
//! trait).
//!
//! | File | Isolator |
//! |---|---|
//! | `filesystem_posix` | `filesystem/posix`: persistent volumes linked into sandboxes |

pub mod filesystem_posix;
