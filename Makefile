# The two commands of the README's quick start, and a few for maintainers.
.PHONY: run test lint lock

run:  ## install everything and start the dashboard with the simulator and demo users
	@scripts/bootstrap.sh dev
	@scripts/run-demo.sh

test:  ## install everything and run the whole test suite
	@scripts/bootstrap.sh dev
	@scripts/ensure-chromium.sh
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

lock:  ## refresh requirements/*.txt from pyproject.toml (needs uv)
	uv lock
	uv export --frozen --no-emit-project --no-dev --format requirements-txt -o requirements/base.txt
	uv export --frozen --no-emit-project --all-groups --format requirements-txt -o requirements/dev.txt
