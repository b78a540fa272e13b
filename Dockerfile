# syntax=docker/dockerfile:1
# A static relay binary alone on a distroless image, as uid/gid 65532.
#
#   docker build \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" \
#     -t registry.example.com/optikpi-relay:v1.2.3 .
#
# Bases are pinned by digest (multi-arch index) so a rebuild of the same commit
# uses the same bases; the tag beside each says what to re-resolve when
# updating, e.g. `crane digest golang:1.26-bookworm`.

# golang:1.26-bookworm (Go 1.26.7)
FROM golang@sha256:38f30937ff0751bd8c202e53556168b9093302ee6d591e7e65a9d1b84a9d360c AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not in the context (.dockerignore), so the version and commit come
# from build args rather than Go's VCS stamp.
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X github.com/optikpi/optikpi-relay/internal/buildinfo.version=${VERSION} -X github.com/optikpi/optikpi-relay/internal/buildinfo.commit=${COMMIT}" -o /out/relay ./cmd/relay

# gcr.io/distroless/static-debian12:nonroot
FROM gcr.io/distroless/static-debian12@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/relay /relay
# Numeric, so the kubelet can check runAsNonRoot without a passwd lookup.
USER 65532:65532
EXPOSE 9090
# No configuration in the image: mount one (the Deployment mounts a
# ConfigMap at /etc/optikpi-relay).
ENTRYPOINT ["/relay"]
CMD ["run", "--config", "/etc/optikpi-relay/config.yaml"]
