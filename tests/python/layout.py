"""Shared by the binding tests: compare ctypes structs with include/procward.h.

A small C program prints sizeof and every field's offsetof of the named
structs, compiled against the header; each must equal the ctypes value.
"""
import ctypes
import os
import subprocess
import tempfile

INCLUDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include")


def assert_layouts(test, structs):
    """structs: {"pw_name": ctypes.Structure subclass}; fields named _pad are pad in C."""
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "procward.h"',
             "int main(void) {"]
    for cname, py in structs.items():
        lines.append(f'printf("{cname} %zu\\n", sizeof(struct {cname}));')
        for field, _ in py._fields_:
            cfield = "pad" if field == "_pad" else field
            lines.append(f'printf("{cname}.{field} %zu\\n", offsetof(struct {cname}, {cfield}));')
    lines.append("return 0; }")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
        with open(src, "w") as f:
            f.write("\n".join(lines))
        subprocess.run(["cc", "-I", INCLUDE, src, "-o", exe], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        name, value = line.split()
        if "." in name:
            cname, field = name.split(".")
            got = getattr(structs[cname], field).offset
        else:
            got = ctypes.sizeof(structs[name])
        test.assertEqual(got, int(value), name)
