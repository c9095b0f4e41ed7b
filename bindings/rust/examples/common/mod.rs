// SPDX-License-Identifier: MIT
//! Waiting for SIGINT/SIGTERM without crates: block them in every thread
//! (call before any thread starts) and sigwait() on one thread.
use std::os::raw::c_int;

#[repr(C)]
pub struct SigSet([u64; 16]); // glibc's sigset_t: 1024 bits

extern "C" {
    fn sigemptyset(set: *mut SigSet) -> c_int;
    fn sigaddset(set: *mut SigSet, sig: c_int) -> c_int;
    fn pthread_sigmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn sigwait(set: *const SigSet, sig: *mut c_int) -> c_int;
}

const SIG_BLOCK: c_int = 0;
const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;

/// Block SIGINT and SIGTERM in this thread and every thread started after.
pub fn block_stop_signals() -> SigSet {
    let mut set = SigSet([0; 16]);
    unsafe {
        sigemptyset(&mut set);
        sigaddset(&mut set, SIGINT);
        sigaddset(&mut set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, std::ptr::null_mut());
    }
    set
}

/// Wait for one of them.
pub fn wait(set: &SigSet) {
    let mut sig: c_int = 0;
    unsafe { sigwait(set, &mut sig) };
}
