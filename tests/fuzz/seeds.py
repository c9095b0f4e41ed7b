#!/usr/bin/env python3
"""Write the committed seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/).
Run again after changing the record ABI (src/bpf/abi/events.h) or the rule syntax."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def header(rtype, size, flags=0):
    # struct pw_raw_header: type, flags, size, ts, start, parent_start, pid, tid, ppid, cpu, comm, token
    token = struct.pack("<8I2Q4IQ", 1000, 1000, 1000, 1000, 100, 100, 100, 100,
                        0x1ff, 0x1ff, 1000, 3, 4026531836, 4026531841, 42)
    return struct.pack("<HHIQQQIIII16s", rtype, flags, size, 1, 2, 3, 4242, 4243, 1, 0,
                       b"bash") + token


def record(rtype, body, flags=0):
    size = 136 + len(body)
    return header(rtype, size, flags) + body


def exec_record(filename, image, cwd, args, argc):
    tail = filename + image + cwd + args
    body = struct.pack("<IIHHHHII", 4243, argc, len(filename), len(image), len(cwd), 0,
                       len(args), 0) + tail
    return record(2, body)


put("fuzz_decode", "clone", record(1, struct.pack("<IIIIQ", 77, 78, 2, 0, 0x11)))
put("fuzz_decode", "thread", record(4, struct.pack("<IIIIQ", 77, 79, 1, 0, 0x10f00)))
put("fuzz_decode", "exit", record(3, struct.pack("<iI", 256, 0)))
put("fuzz_decode", "exec", exec_record(b"./run.sh\0", b"/usr/bin/bash\0", b"/home/u\0",
                                       b"./run.sh\0--flag\0value with space\0", 3))
put("fuzz_decode", "exec-truncated", exec_record(b"x\0", b"/x\0", b"/\0", b"x\0abc", 5))

put("fuzz_rules", "monitor-name", b"\x00include name bash")
put("fuzz_rules", "monitor-glob", b"\x00exclude name-glob 'py*'")
put("fuzz_rules", "monitor-uid", b"\x00include uid 1000")
put("fuzz_rules", "gate-deny", b"\x01deny errno EAGAIN name curl uid 1000")
put("fuzz_rules", "gate-sha", b"\x01allow sha256 " + b"ab" * 32 + b" cache")
put("fuzz_rules", "gate-tree", b"\x01gate by-pid 1234 children arg \"-c\"")
put("fuzz_rules", "gate-file", b"\x02# rules\nallow path /usr/bin/cc cache\n"
    b"deny name nc\ngate by-name bash children\n\n")

put("fuzz_procfs", "stat", b"\x00" + b"42 (a) b) R 1 42 42 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 1 0 "
    b"1234 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")
put("fuzz_procfs", "status", b"\x01Name:\tbash\nUid:\t1000\t1000\t1000\t1000\n"
    b"Gid:\t100\t100\t100\t100\nThreads:\t1\nNSpid:\t42\t1\n")
put("fuzz_procfs", "cmdline", b"\x02/bin/sh\0-c\0echo hi\0")
put("fuzz_procfs", "mountinfo", b"\x0330 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n")
put("fuzz_procfs", "cgroup", b"\x04/system.slice/docker-" + b"0123456789abcdef" * 4 + b".scope")

put("fuzz_format", "ascii", b"/usr/bin/bash -c 'echo hi'")
put("fuzz_format", "controls", b"na\x1b[2Jme\r\nforged\x07\x7f\xc2\x9b31m")
put("fuzz_format", "invalid-utf8", b"arg\xff\xfe\xc3(\xe2\x82\xf0\x9f\x98")
put("fuzz_format", "bidi-quote", "a\u202eb\"c\\d\u00e9\U0001f600".encode())

put("fuzz_loader", "program", b"ld.so\0--inhibit-cache\0./prog\0--payload\0x\0")
put("fuzz_loader", "library-path", b"ld.so\0--library-path\0/a:/b\0prog\0")
put("fuzz_loader", "help", b"ld.so\0--help\0")
put("fuzz_loader", "value-missing", b"ld.so\0--argv0\0")
put("fuzz_loader", "unterminated", b"ld.so\0--preload\0lib\0pro")
put("fuzz_loader", "library-path-unterminated", b"\0--library-path\0/a:/bry-pa")  # found by fuzzing
