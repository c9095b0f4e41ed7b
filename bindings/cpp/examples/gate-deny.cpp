// SPDX-License-Identifier: MIT
// gate-deny.cpp - the bindings contract in C++: deny execs of PATH (EPERM),
// allow the rest (cached), print "ready" once gating; stop on SIGINT/SIGTERM.
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <pthread.h>

#include "procward.hpp"

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::cerr << "usage: gate-deny PATH\n";
		return 2;
	}
	char resolved[PATH_MAX];
	if (!realpath(argv[1], resolved)) { // the gate reports the resolved image
		std::cerr << "gate-deny: " << argv[1] << ": " << std::strerror(errno) << '\n';
		return 2;
	}
	const std::string denied = resolved;
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); // before the gate's threads exist

	try {
		procward::Gate gate(procward::GateOptions{}, [&denied](procward::ExecRequest &req) {
			if (req.image() == denied)
				req.deny(EPERM);
			else
				req.allow_cached();
		});
		gate.start();
		std::cout << "ready" << std::endl;
		int sig;
		sigwait(&stop_signals, &sig);
	} catch (const procward::Error &e) {
		std::cerr << "gate-deny: " << e.what() << '\n';
		return 1;
	}
	return 0;
}
