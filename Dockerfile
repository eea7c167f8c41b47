# docker-idp-sync: a self-hosted reconciler from Okta to Docker SCIM.
# Build:  docker build -t docker-idp-sync .
# Run:    docker run --rm --env-file sync.env -v idp-sync-data:/data docker-idp-sync sync --dry-run

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production \
    STATE_DB=/data/state.db \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root config ./config
# The state file maps people to accounts: it lives on a volume owned by the unprivileged user.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME ["/data"]
# The image's built-in unprivileged user (uid 1000); the code and dependencies stay root-owned, read-only to it.
USER node
# Healthy while the configuration loads and validates; a scheduler (cron, Kubernetes CronJob) runs `sync`.
HEALTHCHECK --interval=5m --timeout=20s --start-period=10s --retries=1 \
  CMD ["node", "/app/dist/cli.js", "validate-config", "--log-level", "error"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["sync"]
