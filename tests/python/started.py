"""Shared by the Python tests: start a Monitor or a Gate, or skip the test
where the kernel lacks what it needs (no BTF, no BPF privileges, a missing
kernel feature); any other failure is the test's."""
import unittest

import procward

UNAVAILABLE = (procward.ERR_NO_BTF, procward.ERR_NO_BPF, procward.ERR_KERNEL_FEATURE)


def start_or_skip(test: unittest.TestCase, obj, what: str = "monitoring") -> None:
    """obj.start(); where it is unavailable, obj is closed and the test skipped."""
    try:
        obj.start()
    except procward.Error as e:
        if e.errno in UNAVAILABLE:
            obj.close()
            test.skipTest(f"{what} unavailable here: {e}")
        raise
