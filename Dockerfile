# lro-emulator as a container: the reference server, for CI service containers
# (docs/ci.md). Serves repository r1 (root folder 1) on port 8765 with the clock hooks
# under /_test/clock; arguments after the image name are lro-emulator's options
# (--session-token, --fault, --clock wall, --token-ttl, ...).
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY contract contract
COPY emulator emulator
COPY strategies strategies
RUN pip install --no-cache-dir . && rm -rf /src
EXPOSE 8765
ENTRYPOINT ["lro-emulator", "--host", "0.0.0.0", "--port", "8765"]
