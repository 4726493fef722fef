"""Checks README.md's code blocks against what the tests build:

- each given file appears verbatim, so the README's C, CMake and Go
  snippets are exactly the files the tests build and run;
- every ```rust block is a whole program (it has `fn main`) with no lines
  hidden from the reader (`# ...`), so what the README shows is exactly
  what the doc-tests compile, and it compiles when pasted into a file.

    python3 check-readme.py README.md FILE...
"""
import re
import sys

readme = open(sys.argv[1], encoding="utf-8").read()
errors = [
    f"{sys.argv[1]} does not show {f} verbatim (copy it into a code block)"
    for f in sys.argv[2:]
    if open(f, encoding="utf-8").read() not in readme
]
for n, block in enumerate(re.findall(r"^```rust\n(.*?)^```$", readme, re.M | re.S), 1):
    if not re.search(r"^fn main\(", block, re.M):
        errors.append(f"{sys.argv[1]}: Rust block {n} is not a whole program (no `fn main`)")
    hidden = [line for line in block.splitlines() if line == "#" or line.startswith("# ")]
    if hidden:
        errors.append(f"{sys.argv[1]}: Rust block {n} hides lines from the reader: {hidden[0]!r}")
for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
