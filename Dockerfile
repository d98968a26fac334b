# cxbot in HTTP mode (`cxbot serve`): the versions of requirements.lock, run as a user
# without privileges. README "Container" lists the command, port and variables;
# tests/test_container.py checks they agree with this file.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The locked dependencies first: their layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN python -m venv /opt/cxbot \
    && /opt/cxbot/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY core ./core
COPY storage ./storage
RUN /opt/cxbot/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/cxbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000 \
    CXBOT_LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/cxbot-metrics
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /app cxbot
COPY --from=build /opt/cxbot /opt/cxbot
WORKDIR /app
USER 10001:10001
EXPOSE 3000
# The same check a load balancer makes: 200 while the database answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["cxbot", "serve", "--host", "0.0.0.0"]
