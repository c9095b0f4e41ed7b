// SPDX-License-Identifier: MIT
//! gate-deny PATH: the bindings contract in Rust: deny execs of PATH (EPERM),
//! allow the rest (cached), print "ready" once gating; stop on SIGINT/SIGTERM.
use std::ffi::OsString;

use procward::{Gate, GateOptions};

mod common;

const EPERM: i32 = 1;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.len() != 2 {
        eprintln!("usage: gate-deny PATH");
        std::process::exit(2);
    }
    // the gate reports the resolved image path
    let denied = match std::fs::canonicalize(&args[1]) {
        Ok(p) => p.into_os_string(),
        Err(e) => {
            eprintln!("gate-deny: {:?}: {}", args[1], e);
            std::process::exit(2);
        }
    };
    let signals = common::block_stop_signals(); // before the gate's threads exist
    let gate = Gate::new(GateOptions::default(), move |req| {
        if req.image() == Some(denied.as_os_str()) {
            let _ = req.deny(EPERM);
        } else {
            let _ = req.allow_cached();
        }
    });
    let gate = match gate.and_then(|mut g| g.start().map(|_| g)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gate-deny: {}", e);
            std::process::exit(1);
        }
    };
    println!("ready");
    common::wait(&signals);
    drop(gate); // stops: answers what is pending, joins the threads
}
