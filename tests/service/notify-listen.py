#!/usr/bin/env python3
"""notify-listen.py SOCKET OUT - the systemd side of sd_notify for tests: bind
a datagram socket at SOCKET and append each message received to OUT, one per
line, flushed at once. Runs until killed."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(65536).decode("utf-8", "replace")
        for line in msg.splitlines():
            f.write(line + "\n")
