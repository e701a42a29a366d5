# syntax=docker/dockerfile:1
# A small image with the static binary and the ready baselines.
#   docker build -t baseline .
#   docker run --rm -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN -e AWS_REGION \
#     baseline plan --baseline /etc/baseline/secure-account.toml

# Build: a fully static binary (musl), so the final image needs no C library.
FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev cmake make perl clang
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked \
 && cp target/release/baseline /baseline \
 && ldd /baseline 2>&1 | grep -q -e "not a dynamic executable" -e "statically linked" \
 || (echo "the binary is not static" >&2; exit 1)
# CA certificates for TLS to AWS, and a writable directory for reports.
RUN apk add --no-cache ca-certificates && mkdir -p /out/reports

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /baseline /usr/local/bin/baseline
COPY baselines /etc/baseline
COPY --from=build --chown=65532:65532 /out/reports /reports
# A non-root user: the image has no passwd file, so by number.
USER 65532:65532
WORKDIR /reports
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/usr/local/bin/baseline"]
CMD ["plan", "--baseline", "/etc/baseline/secure-account.toml"]
