// SPDX-License-Identifier: MIT
//! watch-exec: the bindings contract in Rust: one line per exec,
//! "PID<TAB>UID<TAB>argv", until SIGINT or SIGTERM (bindings/README.md).
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use procward::{EventType, Monitor, MonitorOptions};

mod common;

fn put_escaped(out: &mut Vec<u8>, arg: &[u8]) {
    for &b in arg {
        if b < 0x20 || b == 0x7f || b == b'\\' {
            let _ = write!(out, "\\x{:02x}", b);
        } else {
            out.push(b);
        }
    }
}

fn main() {
    let signals = common::block_stop_signals();
    let mut line = Vec::new();
    let stdout = std::io::stdout();
    let opts = MonitorOptions { events: EventType::Exec.mask(), ..Default::default() };
    let monitor = Monitor::new(&opts, |ev| {
        line.clear();
        let uid = ev.token().map_or(u32::MAX, |t| t.uid);
        let _ = write!(line, "{}\t{}\t", ev.pid(), uid);
        for (i, arg) in ev.args().iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            put_escaped(&mut line, arg.as_bytes());
        }
        line.push(b'\n');
        let mut out = stdout.lock();
        let _ = out.write_all(&line);
        let _ = out.flush();
    });
    let mut monitor = match monitor.and_then(|mut m| m.start().map(|_| m)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("watch-exec: {}", e);
            std::process::exit(1);
        }
    };
    let stop = monitor.stop_handle();
    std::thread::spawn(move || {
        common::wait(&signals);
        stop.stop();
    });
    if let Err(e) = monitor.run() {
        eprintln!("watch-exec: {}", e);
        std::process::exit(1);
    }
}
