# ledgerd's container image: the compiled binary (scripts/build.sh) on distroless, nothing else.
# Build it with scripts/build-image.sh, which builds the binary if needed, stages one per architecture
# under dist/image/<arch>/ (the only thing the build context holds, see .dockerignore) and passes the
# labels. By hand: docker buildx build --platform linux/amd64,linux/arm64 -t ledgerd:0.1.0 .
#
# The base: distroless cc (Debian 12's glibc, libgcc and libstdc++, CA certificates, tzdata, no shell),
# as "nonroot" (65532). Not distroless/static: the binary is a Bun executable linked against glibc
# (NEEDED libc.so.6, ld-linux, libm, libpthread, libdl), and the optional better-sqlite3 driver's addon
# needs libstdc++.so.6 too. Pinned by the digest of the multi-platform index, so a rebuild gets exactly
# the bytes that were reviewed. To bump it, read the tag's current index digest and replace it below:
#   crane digest gcr.io/distroless/cc-debian12:nonroot
#   (or: docker buildx imagetools inspect gcr.io/distroless/cc-debian12:nonroot --format '{{.Manifest.Digest}}')
# then rebuild and run the image test (bun test ./tests/e2e/image.test.ts).
# BASE is an argument only so a machine that cannot pull can build on a local stand-in of the same
# packages (scripts/image-base-standin.sh); releases use the default.
ARG BASE=gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f

FROM ${BASE}

ARG BASE
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="ledgerd" \
      org.opencontainers.image.description="A money ledger and user API" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE}"

# The binary stays root's and read-only: the process cannot rewrite itself.
COPY --chown=0:0 --chmod=0555 dist/image/${TARGETARCH}/ledgerd /ledgerd
# The only place ledgerd writes: the SQLite database, its lock, the generated signing key, avatars.
# An empty directory from the context, since there is no shell to mkdir with.
COPY --chown=65532:65532 dist/image/data/ /data/

ENV LEDGERD_DATA_DIR=/data
VOLUME ["/data"]
# API and admin listener (/healthz, /readyz, /metrics); both bind 0.0.0.0 by default.
EXPOSE 8080 8081
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/ledgerd", "healthcheck", "--timeout", "3s"]
ENTRYPOINT ["/ledgerd"]
CMD ["serve"]
