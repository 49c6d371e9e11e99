# The runtime image without a registry: the base comes from image/rootfs.sh (debootstrap),
# imported as heldout-sandbox-base:<hash>; this adds what ../Dockerfile adds last.
ARG BASE
FROM ${BASE}

# ---- common tail (keep in step with ../Dockerfile) ----
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 MPLCONFIGDIR=/tmp/matplotlib IPYTHONDIR=/tmp/ipython \
    JUPYTER_RUNTIME_DIR=/tmp/jupyter JUPYTER_PLATFORM_DIRS=1 MPLBACKEND=agg
COPY image/runner.py /opt/heldout/runner.py
# The root filesystem is read-only at run time: matplotlib's font cache and the runner's
# bytecode are made now (the runner copies the cache to /tmp).
RUN MPLCONFIGDIR=/opt/heldout/matplotlib python -c "import matplotlib.pyplot" \
    && python -m compileall -q /opt/heldout
USER 10001:10001
WORKDIR /home/sandbox/work
CMD ["python", "/opt/heldout/runner.py"]
