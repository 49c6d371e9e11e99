# The platform image: web (gunicorn), worker, and the one-shot jobs all run from it.
# With a registry: `docker compose build` (FROM python:3.11-slim, packages from PyPI).
# Without one: `python -m tests.deploy.platform_image --offline` builds BASE from Debian packages
# (debootstrap, like the sandbox image) and passes a context holding only wheelhouse/.
# No secrets are baked in: every setting comes from the environment at run time.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
COPY . /src
RUN python3 -m venv /opt/heldout \
    && if [ -d /src/wheelhouse ]; then \
        /opt/heldout/bin/pip install --no-cache-dir --no-index --find-links /src/wheelhouse \
            /src/wheelhouse/heldout-*.whl; \
    else \
        /opt/heldout/bin/pip install --no-cache-dir /src; \
    fi \
    && /opt/heldout/bin/pip uninstall --quiet -y pip

FROM ${BASE}
RUN useradd --uid 10100 --user-group --home-dir /var/lib/heldout --create-home \
        --shell /usr/sbin/nologin heldout
COPY --from=build /opt/heldout /opt/heldout
ENV PATH=/opt/heldout/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HELDOUT_HOME=/var/lib/heldout \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER heldout
WORKDIR /var/lib/heldout
EXPOSE 8000
ENTRYPOINT ["heldout"]
CMD ["--help"]
