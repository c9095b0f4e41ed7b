"""Run the binding tests (unittest discovery) and close with one line that
counts test cases: "python: N passed, N failed, N skipped".

unittest reports a skip raised in setUpClass (or setUpModule) as one skip
named after the class; every test of that class is counted here instead.
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

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        # class/module fixtures that skip show up as an _ErrorHolder with a
        # description like "setUpClass (module.Class)"
        desc = getattr(test, "description", None)
        if isinstance(desc, str) and "(" in desc and desc.startswith(("setUpClass", "setUpModule")):
            name = desc[desc.index("(") + 1:desc.rindex(")")]
            n = self.per_class.get(name) if desc.startswith("setUpClass") else self.per_module.get(name)
            self.cases_skipped += n or 1
        else:
            self.cases_skipped += 1


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
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = result.cases_skipped
    passed = total - failed - skipped - len(result.expectedFailures)
    print(f"python: {max(passed, 0)} passed, {failed} failed, {skipped} skipped")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
