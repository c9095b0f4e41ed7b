// SPDX-License-Identifier: MIT

// watch-exec: the bindings contract in Go: one line per exec,
// "PID<TAB>UID<TAB>argv", until SIGINT or SIGTERM (bindings/README.md).
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"procward"
)

func escape(out []byte, arg string) []byte {
	for i := 0; i < len(arg); i++ {
		b := arg[i]
		if b < 0x20 || b == 0x7f || b == '\\' {
			out = append(out, fmt.Sprintf("\\x%02x", b)...)
		} else {
			out = append(out, b)
		}
	}
	return out
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m, err := procward.NewMonitor(procward.MonitorOptions{Events: procward.Exec.Mask()})
	if err == nil {
		err = m.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "watch-exec:", err)
		os.Exit(1)
	}
	defer m.Close()
	out := bufio.NewWriter(os.Stdout)
	var line []byte
	err = m.Run(ctx, func(ev *procward.Event) {
		uid := uint32(0xffffffff)
		if ev.Token != nil {
			uid = ev.Token.UID
		}
		line = strconv.AppendInt(line[:0], int64(ev.Pid), 10)
		line = append(line, '\t')
		line = strconv.AppendUint(line, uint64(uid), 10)
		line = append(line, '\t')
		for i, a := range ev.Args {
			if i > 0 {
				line = append(line, ' ')
			}
			line = escape(line, a)
		}
		line = append(line, '\n')
		out.Write(line)
		out.Flush()
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "watch-exec:", err)
		os.Exit(1)
	}
}
