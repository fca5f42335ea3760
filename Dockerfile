# Airflow 3 + this project, installed from the committed uv.lock (the same pins the tests use).
FROM python:3.11-slim-bookworm

ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    PYTHONUNBUFFERED=1

# Chromium prints the factsheets' PDFs (plugins/diaspora/printing.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium \
 && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir uv \
 && useradd --create-home --uid 50000 airflow \
 && mkdir -p /opt/airflow /opt/diaspora-data \
 && chown airflow /opt/airflow /opt/diaspora-data

WORKDIR /opt/diaspora
COPY pyproject.toml uv.lock README.md ./
COPY plugins ./plugins
RUN uv sync --frozen --no-dev
COPY . .

USER airflow
