// SPDX-License-Identifier: MIT
// watch-exec.cpp - the bindings contract in C++: one line per exec,
// "PID<TAB>UID<TAB>argv", until SIGINT or SIGTERM (bindings/README.md).
#include <csignal>
#include <cstdio>
#include <iostream>
#include <pthread.h>
#include <thread>

#include "procward.hpp"

static void put_escaped(std::string &out, std::string_view arg)
{
	for (unsigned char c : arg) {
		if (c < 0x20 || c == 0x7f || c == '\\') {
			char hex[5];
			std::snprintf(hex, sizeof(hex), "\\x%02x", c);
			out += hex;
		} else {
			out += static_cast<char>(c);
		}
	}
}

int main()
{
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); // only the waiter below takes them

	try {
		procward::MonitorOptions opts;
		opts.events = procward::mask(procward::EventType::exec);
		std::string line;
		procward::Monitor monitor(opts, [&line](const procward::Event &ev) {
			const procward::Token *token = ev.token();
			line = std::to_string(ev.pid()) + '\t' + std::to_string(token ? token->uid : ~0u) + '\t';
			auto args = ev.args();
			for (size_t i = 0; i < args.size(); i++) {
				if (i)
					line += ' ';
				put_escaped(line, args[i]);
			}
			line += '\n';
			std::fwrite(line.data(), 1, line.size(), stdout);
			std::fflush(stdout);
		});
		monitor.start();
		std::thread waiter([&] {
			int sig;
			sigwait(&stop_signals, &sig);
			monitor.stop();
		});
		try {
			monitor.run();
		} catch (...) {
			pthread_kill(waiter.native_handle(), SIGTERM);
			waiter.join();
			throw;
		}
		waiter.join();
	} catch (const procward::Error &e) {
		std::cerr << "watch-exec: " << e.what() << '\n';
		return 1;
	}
	return 0;
}
