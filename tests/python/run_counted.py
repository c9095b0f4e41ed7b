"""Run the binding tests (unittest discovery) and close with one line that
counts test cases: "python: N passed, N failed, N skipped".

unittest reports a skip raised in setUpClass (or setUpModule) as one skip
named after the class; every test of that class is counted here instead.
An error in such a fixture likewise fails every test it kept from running,
and "passed" counts only tests that ran and succeeded.
"""
import os
import sys
import unittest


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, per_class=None, per_module=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.per_class = per_class or {}
        self.per_module = per_module or {}
        self.cases_skipped = 0
        self.cases_failed = 0
        self.cases_passed = 0

    def cases_of(self, test):
        """Test cases a result stands for: a class or module fixture stands for all of its tests."""
        # class/module fixtures show up as an _ErrorHolder with a description
        # like "setUpClass (module.Class)" (tearDownClass: after its tests ran)
        desc = getattr(test, "description", None)
        if isinstance(desc, str) and "(" in desc and desc.startswith(("setUpClass", "setUpModule")):
            name = desc[desc.index("(") + 1:desc.rindex(")")]
            n = self.per_class.get(name) if desc.startswith("setUpClass") else self.per_module.get(name)
            return n or 1
        return 1

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.cases_skipped += self.cases_of(test)

    def addError(self, test, err):
        super().addError(test, err)
        self.cases_failed += self.cases_of(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.cases_failed += 1

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.cases_failed += 1

    def addSuccess(self, test):
        super().addSuccess(test)
        self.cases_passed += 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    suite = unittest.defaultTestLoader.discover(here, top_level_dir=here)
    per_class, per_module = {}, {}
    for t in flatten(suite):
        cls = type(t)
        key = f"{cls.__module__}.{cls.__qualname__}"
        per_class[key] = per_class.get(key, 0) + 1
        per_module[cls.__module__] = per_module.get(cls.__module__, 0) + 1
    total = sum(per_class.values())

    def make_result(*args, **kwargs):
        return CountingResult(*args, per_class=per_class, per_module=per_module, **kwargs)

    runner = unittest.TextTestRunner(verbosity=2, resultclass=make_result)
    result = runner.run(suite)
    failed, skipped, passed = result.cases_failed, result.cases_skipped, result.cases_passed
    # a test neither passed, failed nor skipped (an expected failure, or one an
    # error in tearDown reported twice) is not a pass: say how many
    unaccounted = total - failed - skipped - passed - len(result.expectedFailures)
    if unaccounted > 0:
        print(f"python: {unaccounted} test(s) did not report a result")
        failed += unaccounted
    print(f"python: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if result.wasSuccessful() and not unaccounted else 1


if __name__ == "__main__":
    sys.exit(main())
