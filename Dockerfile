FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY wagewatch wagewatch
COPY core core
COPY crawlers crawlers
COPY classifier classifier
COPY alerts alerts
COPY index index
COPY config config
RUN pip install --no-cache-dir '.[postgres]'
ENV WAGEWATCH_CONFIG_DIR=/app/config
ENTRYPOINT ["wagewatch"]
CMD ["run"]
