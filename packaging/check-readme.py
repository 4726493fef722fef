"""Checks that README.md shows each given file verbatim, so the README's
C, CMake and Go snippets are exactly the files the tests build and run.

    python3 check-readme.py README.md FILE...
"""
import sys

readme = open(sys.argv[1], encoding="utf-8").read()
missing = [f for f in sys.argv[2:] if open(f, encoding="utf-8").read() not in readme]
for f in missing:
    print(f"{sys.argv[1]} does not show {f} verbatim (copy it into a code block)", file=sys.stderr)
sys.exit(1 if missing else 0)
