# One image for every process (api, worker, bots); compose.yaml picks the command.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY crm crm
COPY ingest ingest
COPY warehouse warehouse
COPY reports reports
COPY bots bots
COPY migrations migrations
RUN uv sync --no-dev
ENV PATH="/app/.venv/bin:$PATH"
USER nobody
CMD ["crm", "serve", "--host", "0.0.0.0"]
