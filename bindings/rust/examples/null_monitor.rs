// SPDX-License-Identifier: MIT
//! null-monitor: the overhead of the Rust binding (bindings/bench): every
//! lifecycle event, an empty handler; "ready" on stdout once started,
//! "events N" on stderr at SIGTERM.
use procward::{Monitor, MonitorOptions, EVENTS_ALL};

mod common;

fn main() {
    let signals = common::block_stop_signals();
    let mut n: u64 = 0;
    // the arguments: rules (the benchmark's "include name pw-bench-load")
    let opts = MonitorOptions { events: EVENTS_ALL, rules: std::env::args().skip(1).collect(), ..Default::default() };
    let mut m = Monitor::new(&opts, |_| n += 1).expect("monitor");
    m.start().expect("start");
    let stop = m.stop_handle();
    std::thread::spawn(move || {
        common::wait(&signals);
        stop.stop();
    });
    println!("ready");
    m.run().expect("run");
    drop(m);
    eprintln!("events {}", n);
}
