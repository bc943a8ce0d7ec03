# syntax=docker/dockerfile:1
# The kargo-azure-receiver server image. No registry holds it yet: build it,
# push it to yours, and point the Helm chart at it (image.repository, and
# image.tag when it is not the chart's appVersion):
#
#   docker build -t registry.example.com/kargo-azure-receiver:0.1.0 .
#   docker push registry.example.com/kargo-azure-receiver:0.1.0
#   helm install kargo-azure-receiver charts/kargo-azure-receiver -n kargo-azure-receiver \
#     --create-namespace --set image.repository=registry.example.com/kargo-azure-receiver
#
# Or run it outside a cluster, with your kubeconfig:
#
#   docker run --rm -p 8080:8080 -v ~/.kube/config:/kube/config:ro \
#     -e KUBECONFIG=/kube/config registry.example.com/kargo-azure-receiver:0.1.0 serve
#
# Runs as the unprivileged "node" user (uid 1000) and needs no writable
# file system: the chart's Deployment sets readOnlyRootFilesystem.

FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts off: `prepare` builds, and lib/ is not copied yet (built below).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# express is a peer dependency (the library runs in the user's app) that the
# lockfile records as a dev dependency for the tests; without the
# devDependencies, npm ci installs it as the root's peer, at the locked version.
RUN npm pkg delete devDependencies \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /src/dist ./dist
USER node
EXPOSE 8080 9090
ENTRYPOINT ["node", "dist/server/cli.js"]
CMD ["serve"]
