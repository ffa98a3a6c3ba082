# mcpgw: one static binary; the same image runs every component
# (extproc, sidecar, demo-server, envoy-config). Envoy runs from its own
# official image (see docker-compose.yml).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mcpgw ./cmd/mcpgw

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mcpgw /usr/local/bin/mcpgw
ENTRYPOINT ["/usr/local/bin/mcpgw"]
