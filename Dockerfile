# syntax=docker/dockerfile:1
# --- build: install the locked runtime dependencies into a virtualenv --------------------
FROM python:3.13-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements/base.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements.txt

WORKDIR /app
COPY . /app
# collectstatic imports the settings, which insist on these; the values are build-time only.
RUN SECRET_KEY=build VONO_BASE_URL=http://build.invalid/api VONO_API_TOKEN=build \
    VONO_API_KEY=build /opt/venv/bin/python manage.py collectstatic --noinput -v0

# --- run: the app and its virtualenv, as an unprivileged user ------------------------------
FROM python:3.13-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=vonoportal.settings
RUN groupadd --system portal && useradd --system --gid portal --home /app portal
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=portal:portal /app /app
WORKDIR /app
USER portal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=8).status != 200)"
CMD ["gunicorn", "--config", "gunicorn.conf.py", "--no-control-socket", "vonoportal.wsgi"]
