# syntax=docker/dockerfile:1
# One image for every service (producer, worker, simulator, table setup); the command picks one.
# Node 22 LTS; TypeScript runs through tsx (a runtime dependency), so there is no build output.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json tsconfig.json ./
COPY --chown=node:node src ./src
USER node
EXPOSE 3000 9464
# Signals go straight to Node (no npm in between), so SIGTERM drains a worker gracefully.
CMD ["node", "--import", "tsx", "src/producer/main.ts"]
