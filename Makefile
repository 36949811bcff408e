# The two commands of the README. Both need only Python 3.11+ (scripts/dev.py does the rest).
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: run test
run:
	$(PYTHON) scripts/dev.py run

test:
	$(PYTHON) scripts/dev.py test $(ARGS)
