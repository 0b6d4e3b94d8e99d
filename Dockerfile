# The service image: runtime only (ONNX Runtime, no torch), built in one stage and run from a slim one
# as an unprivileged user. Training happens elsewhere (`pip install '.[train]'`, `wagewatch train`).
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/wagewatch
COPY pyproject.toml README.md ./
COPY core core
COPY crawlers crawlers
COPY classifier classifier
COPY alerts alerts
COPY index index
COPY wagewatch wagewatch
RUN /opt/wagewatch/bin/pip install --no-cache-dir '.[postgres]'

FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /app --uid 10001 wagewatch
WORKDIR /app
COPY --from=build /opt/wagewatch /opt/wagewatch
COPY config config
RUN mkdir -p var && chown wagewatch:wagewatch var
USER wagewatch
ENV PATH=/opt/wagewatch/bin:$PATH WAGEWATCH_CONFIG_DIR=/app/config PYTHONUNBUFFERED=1
ENTRYPOINT ["wagewatch"]
CMD ["run"]
