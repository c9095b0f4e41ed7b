// SPDX-License-Identifier: MIT

// gate-deny PATH: the bindings contract in Go: deny execs of PATH (EPERM),
// allow the rest (cached), print "ready" once gating; stop on SIGINT/SIGTERM.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"procward"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gate-deny PATH")
		os.Exit(2)
	}
	// the gate reports the resolved image path
	denied, err := filepath.EvalSymlinks(os.Args[1])
	if err == nil {
		denied, err = filepath.Abs(denied)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gate-deny:", err)
		os.Exit(2)
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	gate, err := procward.NewGate(procward.GateOptions{}, func(req *procward.ExecRequest) procward.Verdict {
		if req.Image() == denied {
			req.Deny(syscall.EPERM)
		} else {
			req.AllowCached()
		}
		return procward.NoVerdict
	})
	if err == nil {
		err = gate.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gate-deny:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	<-signals
	gate.Close() // stops: answers what is pending, joins the threads
}
