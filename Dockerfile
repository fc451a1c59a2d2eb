# chatsite: one image for the web processes (Daphne) and the one-shot migrate+seed job.
# docs/operations.md ("Docker and docker-compose") explains the settings it reads.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    LOG_FORMAT=json

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes reuse this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# Static files are collected at build time; servestatic serves them from STATIC_ROOT.
# The settings refuse DJANGO_DEBUG=0 without a real key, so this step gets a throwaway one.
RUN DJANGO_DEBUG=0 \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    python manage.py collectstatic --noinput --verbosity 0

# An unprivileged user owns nothing in /app: the code is read-only to the running process.
RUN groupadd --system --gid 10001 chatsite \
    && useradd --system --uid 10001 --gid chatsite --home-dir /nonexistent --shell /usr/sbin/nologin chatsite \
    && mkdir -p /app/media/uploads && chown -R chatsite:chatsite /app/media
# Uploaded files (MEDIA_ROOT; docker-compose.yml mounts a volume here); the only writable path.
ENV MEDIA_ROOT=/app/media
USER chatsite:chatsite

EXPOSE 8000

# Liveness only (/healthz touches neither PostgreSQL nor Redis); /readyz is for the proxy or
# the orchestrator's readiness checks. Keep 127.0.0.1 in ALLOWED_HOSTS for this probe.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]

# --proxy-headers: the client address and scheme come from the proxy's X-Forwarded-* headers
# (only the proxy can reach this port in docker-compose.yml). --verbosity 0: no plain-text
# access log; the app writes one structured line per request and per WebSocket session.
ENTRYPOINT ["daphne", "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers", "--verbosity", "0"]
CMD ["chatsite.asgi:application"]
