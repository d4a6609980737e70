# The warroom image: one static binary on an empty base, run as a non-root
# user, with the CA certificates its calls to Slack, Jira and the evidence
# sources need. Nothing else: no shell, no package manager.
#
#   docker build --build-arg VERSION=v1.2.0 -t warroom:v1.2.0 .
#
# The default path builds the binary in the golang stage. scripts/image-test
# builds it offline instead: it compiles the binary on the host, puts it with
# the host's CA bundle into a build context, and builds with
# --build-arg BINARY=prebuilt --network=none, so that no image is pulled.

# BINARY names the stage that provides /out: "build" compiles warroom from
# this checkout, "prebuilt" takes it from the build context.
ARG BINARY=build
ARG GO_VERSION=1.26

FROM docker.io/library/golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Static (no cgo: the SQLite driver is pure Go), no paths of this machine in
# the binary, and the version that `warroom --version` prints.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/warroom ./cmd/warroom \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ \
 && mkdir -p /out/data /out/tmp

# The context holds warroom, ca-certificates.crt, and empty data/ and tmp/.
FROM scratch AS prebuilt
COPY . /out/

FROM ${BINARY} AS binary

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="warroom" \
      org.opencontainers.image.description="SRE war-room bot: Alertmanager and Grafana webhooks to Slack war rooms and Jira tickets" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=binary /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /out/warroom /warroom
# /data for the SQLite database and the dry-run log (mount a volume there),
# /tmp for SQLite's temporary files; both belong to the user warroom runs as.
COPY --from=binary --chown=65532:65532 /out/data /data
COPY --from=binary --chown=65532:65532 /out/tmp /tmp
# 65532 is distroless's "nonroot"; numeric, since scratch has no /etc/passwd
# (Kubernetes' runAsNonRoot needs a numeric user to check).
USER 65532:65532
WORKDIR /data
EXPOSE 9095
ENTRYPOINT ["/warroom"]
CMD ["serve", "--config", "/etc/warroom/warroom.yaml"]
