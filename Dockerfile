# docker-idp-sync: a self-hosted reconciler from Okta or Microsoft Entra ID to Docker SCIM.
#
# Build (no public image exists: build it and push it to your own registry):
#   docker build -t docker-idp-sync:0.1.0 .
# Run as a long-running worker (the default command: a sync at start, then on SCHEDULE; serves
# /healthz, /readyz and /metrics on port 8080; SIGTERM finishes the writes in flight and exits 0):
#   docker run -d --name docker-idp-sync --env-file sync.env -v idp-sync-data:/data \
#     -p 127.0.0.1:8080:8080 docker-idp-sync:0.1.0
# Run one sync instead (from cron or a Kubernetes CronJob; exit codes in README.md):
#   docker run --rm --env-file sync.env -v idp-sync-data:/data docker-idp-sync:0.1.0 sync --dry-run
#   docker run --rm --env-file sync.env -v idp-sync-data:/data docker-idp-sync:0.1.0 sync
# Ready-made manifests: deploy/docker-compose.yml, deploy/kubernetes/, deploy/systemd/.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
# HTTP_HOST: the daemon listens on loopback by default; in a container it must answer the
# published port and the orchestrator's probes, so the image listens on every interface.
# MALLOC_*: glibc's allocator holds less memory outside V8's heap (src/heap.ts MALLOC_ENV).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    STATE_DB=/data/state.db \
    LOG_FORMAT=json \
    HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root config ./config
# The state file maps people to accounts: it lives on a volume owned by the unprivileged user.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME ["/data"]
# The daemon's health, readiness and metrics endpoints.
EXPOSE 8080
# The image's built-in unprivileged user (uid 1000); the code and dependencies stay root-owned, read-only to it.
USER node
# Liveness of the daemon (on HTTP_PORT, default 8080): /healthz answers 200 while the process and
# its event loop are alive, and never fails because the IdP or Docker is down (that is /readyz's
# job). node:24-slim has no curl or wget, so node itself asks. A one-off `sync` container serves no
# HTTP and would turn unhealthy; that is harmless, nothing restarts a container that exits by itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/dist/cli.js"]
CMD ["daemon"]
