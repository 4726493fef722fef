# Included by the Makefiles: a step whose tool is missing says so in one
# line, with what to install, and is skipped; under BLOCKMEM_NO_SKIP=1 (as
# .ci/run sets) the skip fails instead, so CI cannot pass without running
# everything.
#
#   ifeq ($(call have,TOOL),yes) ... else @$(call skip,TOOL,HOW TO INSTALL) endif

have = $(shell command -v $(firstword $(1)) >/dev/null 2>&1 && echo yes)
skip = echo "SKIPPED $@: $(1) not found (install: $(2))"; \
  if [ -n "$$BLOCKMEM_NO_SKIP" ]; then echo "BLOCKMEM_NO_SKIP is set: a skip fails" >&2; exit 1; fi
export BLOCKMEM_NO_SKIP
