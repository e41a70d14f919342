# syntax=docker/dockerfile:1
# oidc-issuer image: build with dev dependencies, run with production dependencies only.
#   docker build -t oidc-issuer .
#   docker run --rm -p 3000:3000 oidc-issuer          → http://localhost:3000 (demo config)
# Pinned; the same Node 24 release that .ci/run tests on (NODE24_VERSION there).
ARG NODE_IMAGE=node:24.22.3-slim

# All dependencies (the TypeScript compiler; the examples' openid-client and oidc-client-ts).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json rolldown.config.mjs ./
COPY src ./src
RUN npx rolldown -c

# The example apps (docker compose --profile examples); not part of the issuer image.
FROM deps AS examples
COPY examples ./examples
USER node
ENV HOST=0.0.0.0
CMD ["node", "examples/rp-web/server.js"]

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/bundle ./dist/bundle
COPY views ./views
COPY lua ./lua
# The key ring file lives here when no REDIS_URL is set; mount a volume to keep it.
RUN mkdir -p /app/keys && chown node:node /app/keys
USER node
EXPOSE 3000
# Liveness only (/healthz never touches the store); docker-compose.yml checks /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/bundle/main.js", "start"]
