# syntax=docker/dockerfile:1
# The cloudshell operator image.
#
#   docker build -t ghcr.io/cloudtty/cloudshell-operator:0.1.0 --build-arg VERSION=0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t ... .   (each platform compiles natively)
#
# Stage 1 type-checks the operator and compiles it with `deno task compile` into one self-contained binary
# that embeds its Deno permissions, its npm dependencies, the built-in Job template and its version.
# Stage 2 is distroless (glibc, CA certificates, nothing else) and runs that binary as a non-root user; it
# needs no writable path but /tmp (deploy/ mounts an emptyDir there and keeps the root filesystem read-only).

# Keep in step with toolchain/package.json (checked by tests/deploy/dockerfile_test.ts).
ARG DENO_VERSION=2.9.5

FROM docker.io/denoland/deno:debian-${DENO_VERSION} AS builder
WORKDIR /src
# npm dependencies first, verified against deno.lock, so that source edits reuse this layer.
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY main.ts ./
COPY controller/ ./controller/
COPY templates/ ./templates/
COPY vendor/ ./vendor/
RUN deno check --frozen main.ts
# The release version (the release workflow passes deno.json's); the binary must print the same.
ARG VERSION
RUN deno task compile \
  && ./dist/cloudshell-operator --version \
  && { [ -z "$VERSION" ] || [ "$(./dist/cloudshell-operator --version | head -n 1)" = "$VERSION" ]; }

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION
# The git commit (the workflows pass github.sha): --version and the start-up log name it.
ARG COMMIT
LABEL org.opencontainers.image.title="cloudshell-operator" \
  org.opencontainers.image.description="Kubernetes operator that turns CloudShell resources into browser terminals" \
  org.opencontainers.image.version="${VERSION}" \
  org.opencontainers.image.revision="${COMMIT}"
ENV CLOUDSHELL_OPERATOR_COMMIT="${COMMIT}"
COPY --from=builder /src/dist/cloudshell-operator /cloudshell-operator
# distroless "nonroot"; numeric, so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/cloudshell-operator"]
