# syntax=docker/dockerfile:1
# Build a static relay binary, then ship it alone on a distroless, non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/optikpi/optikpi-relay/internal/buildinfo.version=${VERSION}" \
      -o /out/relay ./cmd/relay

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/relay /relay
COPY config.example.yaml /etc/optikpi-relay/config.yaml
USER nonroot:nonroot
EXPOSE 9090
ENTRYPOINT ["/relay"]
CMD ["run", "--config", "/etc/optikpi-relay/config.yaml"]
