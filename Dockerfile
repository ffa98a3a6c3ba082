# mcpgw: one static binary; the same image runs every component
# (extproc, sidecar, demo-server, envoy-config). Envoy runs from its own
# official image (see docker-compose.yml), or beside mcpgw in the
# `gateway` target.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mcpgw ./cmd/mcpgw
# The fast path's Envoy dynamic module (docs/architecture.md): a shared
# library Envoy loads, so cgo, against glibc as Envoy's image has it.
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -buildmode=c-shared -o /out/libmcpgw_fast_path.so ./envoy/module

# `--target gateway`: mcpgw with Envoy beside it, for `mcpgw run` in one
# container (deploy/kubernetes). Envoy's image is Envoy's own build; the
# mcpgw binary is static; mcpgw run finds the module beside it. uid 101 is
# the image's envoy user.
FROM envoyproxy/envoy:v1.40.0 AS gateway
COPY --from=build /out/mcpgw /out/libmcpgw_fast_path.so /usr/local/bin/
ENV ENVOY_BIN=/usr/local/bin/envoy
USER 101:101
ENTRYPOINT ["/usr/local/bin/mcpgw"]
CMD ["run", "-config", "/etc/mcpgw/config.yaml"]

# The default target: mcpgw alone (Envoy runs from its own image, see
# docker-compose.yml).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mcpgw /usr/local/bin/mcpgw
ENTRYPOINT ["/usr/local/bin/mcpgw"]
