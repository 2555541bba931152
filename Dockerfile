# Production image for web (gunicorn), worker and beat (celery); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Requirements first, so a code change does not reinstall every package.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are baked into the image (whitenoise serves them). Settings are imported here, but
# not as production: no secret key or database exists at build time, and none is needed.
RUN DJANGO_ENV=development DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && rm -rf var

# Runs as an unprivileged user. The code stays root-owned (read-only for the app); only media/
# (uploads) is writable. Celery beat keeps its schedule and pidfile in /tmp.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home app \
    && mkdir -p media \
    && chown app:app media
USER app

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
