# guillotine: one static binary in an otherwise empty image.
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t guillotine .
#
# Stage 1 builds the fully static musl binaries for the platform being built (TARGETARCH:
# amd64 or arm64) with .ci/build-static, the script CI runs too. Stage 2 is scratch: the
# binary at /guillotine, /timeout for the multicall `timeout` mode, and /kubectl-guillotine
# (the inject tool: `docker run --rm -i --entrypoint /kubectl-guillotine IMAGE inject ...`,
# or copy it out; the init container copies only /guillotine into pods), nothing else.

FROM rust:1.95-slim-bookworm AS build
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN bash .ci/build-static /out

FROM scratch
LABEL org.opencontainers.image.title="guillotine" \
      org.opencontainers.image.description="Sidecar lifecycle supervisor for Kubernetes Jobs: stops a sidecar's whole process group when a sentinel appears; lifetimes; a drop-in timeout." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://example.com/guillotine.git"
COPY --from=build /out/ /
# A numeric user: runAsNonRoot can check it without an /etc/passwd, which scratch lacks.
USER 65532:65532
ENTRYPOINT ["/guillotine"]
