// SPDX-License-Identifier: MIT
// null.cpp - the overhead of the C++ binding: every lifecycle event, an empty
// handler; "ready" on stdout once started, "events N" on stderr at SIGTERM.
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

#include "procward.hpp"

int main(int argc, char **argv)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, nullptr);
	unsigned long n = 0;
	procward::MonitorOptions opts;
	opts.events = PW_EVMASK_ALL;
	procward::Monitor m(opts, [&n](const procward::Event &) { n++; });
	if (argc > 1)
		m.add_rule(argv[1]); // the benchmark's "include name pw-bench-load"
	m.start();
	std::printf("ready\n");
	std::fflush(stdout);
	std::thread waiter([&] {
		int sig;
		sigwait(&set, &sig);
		m.stop();
	});
	m.run();
	waiter.join();
	std::fprintf(stderr, "events %lu\n", n);
	return 0;
}
