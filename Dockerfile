# One image for every role: `gavel run` (chat), `gavel worker` (alerts), `gavel db upgrade`; see compose.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
RUN pip install . \
    && groupadd --system --gid 10001 gavel \
    && useradd --system --uid 10001 --gid gavel --create-home --home-dir /home/gavel gavel

# Not root: a hole in a chat library must not own the container. Numeric, so Kubernetes' runAsNonRoot
# can check it. The home directory is the only writable place (an SQLite file, if DATABASE_URL is unset).
USER 10001:10001
WORKDIR /home/gavel

# Only when METRICS_PORT is set (the server is off otherwise): /healthz answers 503 when the database
# does not, and urlopen raises on it, which marks the container unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; p = os.environ.get('METRICS_PORT'); p and r.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=4)"]

ENTRYPOINT ["gavel"]
CMD ["run"]
