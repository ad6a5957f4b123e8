# gpulse in a container: the single compiled binary (PWA embedded) on a slim glibc base, run as a
# non-root user. NVML is not in the image: with `docker run --gpus all` (or the NVIDIA runtime in
# Kubernetes) the NVIDIA container toolkit mounts the host driver's libnvidia-ml.so.1 in.
# Build: docker build -t gpulse:0.1.0 .      Run: see README "Containers and Kubernetes".

# --- build: npm ci (Bun comes as a dev dependency), then the PWA and dist/gpulse ---
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && ./dist/gpulse --version

# --- runtime: only the binary ---
FROM debian:bookworm-slim
# A fixed uid/gid so a host data directory (hostPath, bind mount) can be chowned to it ahead of time.
RUN groupadd --system --gid 10001 gpulse \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gpulse --no-create-home --shell /usr/sbin/nologin gpulse \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/gpulse
COPY --from=build /src/dist/gpulse /usr/local/bin/gpulse
# Listen on all interfaces (the container's network is the boundary; the token guards the API).
# History and the token live in the data volume. The toolkit needs only the "utility" capability (NVML).
ENV GPULSE_BIND=0.0.0.0 \
    GPULSE_DATA_DIR=/var/lib/gpulse/state \
    XDG_CONFIG_HOME=/var/lib/gpulse/config \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=utility
USER 10001:10001
VOLUME ["/var/lib/gpulse"]
EXPOSE 9740
# /healthz needs no token and always answers 200; healthy means its status is ready (or still
# warming up), not stalled or failed. No curl in the image: bash's /dev/tcp does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${GPULSE_PORT:-9740} && printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && grep -Eq '\"status\":\"(ready|warming_up)\"' <&3"]
ENTRYPOINT ["/usr/local/bin/gpulse"]
CMD ["serve"]
