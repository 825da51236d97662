# One image for every server-side service; compose picks the service with `maskwatch run NAME`.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY maskwatch ./maskwatch
COPY services ./services
COPY devices ./devices
RUN pip install ".[server]" && useradd --system --uid 10001 maskwatch
USER maskwatch
ENTRYPOINT ["maskwatch"]
CMD ["--help"]
