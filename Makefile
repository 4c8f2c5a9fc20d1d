# The two commands of the README's quick start, and a few for maintainers.
.PHONY: run test lint lock

run:  ## install everything and start the dashboard with the simulator and demo users
	@scripts/bootstrap.sh dev
	@scripts/run-demo.sh

test:  ## install everything and run the whole test suite
	@scripts/bootstrap.sh dev
	@scripts/ensure-test-tools.sh
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	DEBUG=1 VONO_BASE_URL=http://typecheck.invalid/api VONO_API_TOKEN=typecheck \
		VONO_API_KEY=typecheck .venv/bin/mypy .

lock:  ## refresh requirements/*.txt from pyproject.toml
	.venv/bin/python -m pip install -q uv
	.venv/bin/uv lock
	.venv/bin/uv export --frozen --no-emit-project --no-dev --format requirements-txt -o requirements/base.txt
	.venv/bin/uv export --frozen --no-emit-project --all-groups --format requirements-txt -o requirements/dev.txt
