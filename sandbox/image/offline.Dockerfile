# The runtime image without a registry: the base comes from image/rootfs.sh (debootstrap),
# imported as heldout-sandbox-base:<hash>; this adds what ../Dockerfile adds last.
ARG BASE
FROM ${BASE}

# ---- common tail (keep in step with ../Dockerfile) ----
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 MPLCONFIGDIR=/tmp/matplotlib IPYTHONDIR=/tmp/ipython \
    JUPYTER_RUNTIME_DIR=/tmp/jupyter JUPYTER_PLATFORM_DIRS=1 \
    MPLBACKEND=module://matplotlib_inline.backend_inline
COPY image/runner.py image/kernel.py /opt/heldout/
# The root filesystem is read-only at run time: matplotlib's font cache and the runner's
# bytecode are made now (the kernel's launcher copies the cache to /tmp). The runner has its
# own uid (10002); the host starts the kernel as the notebook's (10001) with `docker exec`.
# (MPLBACKEND: Jupyter's inline backend, so plt.show() and figures left open at the end of a
# cell become images in the executed notebook, as in Jupyter itself; agg dropped them.)
RUN MPLCONFIGDIR=/opt/heldout/matplotlib MPLBACKEND=agg python -c "import matplotlib.pyplot" \
    && python -m compileall -q /opt/heldout \
    && echo 'heldout-runner:x:10002:10002::/nonexistent:/usr/sbin/nologin' >>/etc/passwd \
    && echo 'heldout-runner:x:10002:' >>/etc/group
USER 10002:10002
WORKDIR /home/sandbox/work
CMD ["python", "/opt/heldout/runner.py"]
