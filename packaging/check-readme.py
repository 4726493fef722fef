"""Checks the Rust code blocks of the given Markdown files: each ```rust
block is a whole program (it has `fn main`) with no lines hidden from the
reader (`# ...`), so what a page shows is exactly what the doc-tests
compile (src/lib.rs includes the pages), and it compiles when pasted into
a file. The C, CMake and Go examples are files the tests build, linked
from the pages rather than copied into them.

    python3 check-readme.py PAGE.md...
"""
import re
import sys

errors = []
for page in sys.argv[1:]:
    text = open(page, encoding="utf-8").read()
    for n, block in enumerate(re.findall(r"^```rust\n(.*?)^```$", text, re.M | re.S), 1):
        if not re.search(r"^fn main\(", block, re.M):
            errors.append(f"{page}: Rust block {n} is not a whole program (no `fn main`)")
        hidden = [line for line in block.splitlines() if line == "#" or line.startswith("# ")]
        if hidden:
            errors.append(f"{page}: Rust block {n} hides lines from the reader: {hidden[0]!r}")
for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
