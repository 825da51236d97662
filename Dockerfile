# One image for every server-side service; compose picks the service with `maskwatch run NAME`.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
# The shared floor, the services, the devices' contracts and the composition root; never training/
# (serving needs no torch and no training code: tests/test_layers.py checks that it runs without them).
COPY maskwatch ./maskwatch
COPY services ./services
COPY devices ./devices
COPY stack ./stack
# The `mosquitto` group (1883, the broker image's) lets the API keep the broker's password file
# readable by the broker alone (owner maskwatch, group mosquitto, 0640) when it registers a device.
RUN pip install -c constraints.txt ".[server]" && groupadd --system --gid 1883 mosquitto \
    && useradd --system --uid 10001 --groups mosquitto maskwatch \
    && mkdir -p /var/lib/maskwatch/snapshots /var/lib/maskwatch/faces && chown -R maskwatch /var/lib/maskwatch
USER maskwatch
ENTRYPOINT ["maskwatch"]
CMD ["--help"]

# The inference image for an NVIDIA GPU host (deploy/compose.gpu.yaml builds this target): torch from PyPI
# (its default Linux wheel is the CUDA build) runs both stages, and `onnx` reads the detector's graph into
# torch (services/inference/model/onnx_torch_graph.py). No onnxruntime-gpu: one CUDA stack (torch's) serves
# both stages, where onnxruntime-gpu would bring a second one that must match it. `nvidia-ml-py` lets the
# worker report the GPU's utilisation next to its memory (maskwatch_gpu_utilization_ratio).
FROM base AS gpu
USER root
RUN pip install "torch==2.13.0" "onnx>=1.16" "nvidia-ml-py>=12"
USER maskwatch
