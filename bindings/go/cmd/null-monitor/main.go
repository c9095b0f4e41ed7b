// SPDX-License-Identifier: MIT

// null-monitor: the overhead of the Go binding (bindings/bench): every
// lifecycle event copied into a Go struct, an empty handler; "ready" on
// stdout once started, "events N" on stderr at SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"procward"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// os.Args[1:]: rules (the benchmark's "include name pw-bench-load")
	m, err := procward.NewMonitor(procward.MonitorOptions{Events: procward.EventsAll, Rules: os.Args[1:]})
	if err == nil {
		err = m.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n := 0
	fmt.Println("ready")
	if err := m.Run(ctx, func(*procward.Event) { n++ }); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Fprintf(os.Stderr, "events %d\n", n)
	m.Close()
}
