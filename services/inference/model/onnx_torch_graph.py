"""An ONNX graph of convolutions run by torch: fine-tuned by `maskwatch train-detector`, served on a GPU.

The published UltraFace weights exist only as ONNX. Running the graph's own operators in torch lets the
same file be trained (its weights are parameters) and served where ONNX Runtime's CUDA build is not
wanted: the GPU image then needs one CUDA stack, torch's, for detector and classifier alike.

Only the operators the UltraFace graph uses are supported; anything else fails at load, naming the
operator, rather than computing something else. Batch normalisation runs with its stored statistics
(training batches of a few scenes are too small to re-estimate them), while its scale and shift train;
for serving, `fold_batch_norms` merges each one into the convolution before it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

_SUPPORTED = frozenset(
    {
        "Conv",
        "Relu",
        "BatchNormalization",
        "Add",
        "Concat",
        "Transpose",
        "Reshape",
        "Shape",
        "Gather",
        "Unsqueeze",
        "Constant",
        "Softmax",
    }
)


def _key(name: str) -> str:
    """Parameter names with dots are not allowed in a ParameterDict; ONNX initializer names have them."""
    return name.replace(".", "__")


class OnnxConvGraph(nn.Module):
    """Runs an ONNX model's graph node by node. `forward` returns the input of its Softmax (the class
    logits) and the box-offset output, which is what a detection loss needs."""

    def __init__(self, model: Any, offsets_output: str = "locations") -> None:
        from onnx import helper, numpy_helper

        super().__init__()
        graph = model.graph
        unsupported = sorted({n.op_type for n in graph.node} - _SUPPORTED)
        if unsupported:
            raise ValueError(f"unsupported ONNX operators: {', '.join(unsupported)}")
        softmax = [n for n in graph.node if n.op_type == "Softmax"]
        if len(softmax) != 1 or offsets_output not in {o.name for o in graph.output}:
            raise ValueError("expected one Softmax (the scores) and a box-offset output")
        self._logits_name = softmax[0].input[0]
        self._offsets_name = offsets_output
        self._input_name = graph.input[0].name
        # Constants (shape pieces for the reshapes) are read once here, not on every forward pass.
        self._constants: dict[str, Any] = {
            n.output[0]: numpy_helper.to_array(
                helper.get_attribute_value(next(a for a in n.attribute if a.name == "value"))
            ).tolist()
            for n in graph.node
            if n.op_type == "Constant"
        }
        self._nodes = [
            (
                n.op_type,
                list(n.input),
                list(n.output),
                {a.name: helper.get_attribute_value(a) for a in n.attribute},
            )
            for n in graph.node
            if n.op_type not in ("Softmax", "Constant")
        ]
        statistics = {name for n in graph.node if n.op_type == "BatchNormalization" for name in n.input[3:5]}
        self.params = nn.ParameterDict()
        self._param_names: dict[str, str] = {}
        self._stat_names: dict[str, str] = {}
        for init in graph.initializer:
            array = np.array(numpy_helper.to_array(init), dtype=np.float32)
            if init.name in statistics:
                buffer = f"stat_{len(self._stat_names)}"
                self.register_buffer(buffer, torch.from_numpy(array))
                self._stat_names[init.name] = buffer
            else:
                self.params[_key(init.name)] = nn.Parameter(torch.from_numpy(array))
                self._param_names[_key(init.name)] = init.name

    def _tensor(self, name: str, env: dict[str, Any]) -> Any:
        if name in env:
            return env[name]
        if name in self._constants:
            return self._constants[name]
        if name in self._stat_names:
            return getattr(self, self._stat_names[name])
        return self.params[_key(name)]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        env: dict[str, Any] = {self._input_name: x}
        for op, inputs, outputs, attrs in self._nodes:
            args = [self._tensor(name, env) for name in inputs]
            env[outputs[0]] = _run(op, args, attrs)
        return env[self._logits_name], env[self._offsets_name]

    def fold_batch_norms(self) -> OnnxConvGraph:
        """Merge every batch normalisation that alone reads a convolution's output into that convolution,
        in place: the same function with a third fewer kernels to launch. For serving only: the weights no
        longer line up with the source graph's, so a folded module must not be trained or written back."""
        readers: dict[str, int] = {}
        for _, inputs, _, _ in self._nodes:
            for name in inputs:
                readers[name] = readers.get(name, 0) + 1
        convs = {outputs[0]: (inputs, attrs) for op, inputs, outputs, attrs in self._nodes if op == "Conv"}
        # A weight that two convolutions share cannot take one batch norm's scale.
        weight_uses: dict[str, int] = {}
        for inputs, _ in convs.values():
            for name in inputs[1:]:
                weight_uses[name] = weight_uses.get(name, 0) + 1
        renamed: dict[str, str] = {}
        kept = []
        with torch.no_grad():
            for op, inputs, outputs, attrs in self._nodes:
                source = inputs[0]
                conv_inputs = convs[source][0] if source in convs else []
                if (
                    op != "BatchNormalization"
                    or not conv_inputs
                    or readers[source] != 1
                    or any(weight_uses[name] != 1 for name in conv_inputs[1:])
                ):
                    kept.append((op, inputs, outputs, attrs))
                    continue
                scale, shift, mean, var = (self._tensor(name, {}) for name in inputs[1:5])
                factor = scale / torch.sqrt(var + attrs.get("epsilon", 1e-5))
                weight = self.params[_key(conv_inputs[1])]
                weight.mul_(factor.reshape(-1, *([1] * (weight.dim() - 1))))
                bias = self.params[_key(conv_inputs[2])] if len(conv_inputs) > 2 else torch.zeros_like(mean)
                folded = (bias - mean) * factor + shift
                if len(conv_inputs) > 2:
                    bias.copy_(folded)
                else:
                    name = f"{conv_inputs[1]}__folded_bias"
                    self.params[_key(name)] = nn.Parameter(folded)
                    self._param_names[_key(name)] = name
                    conv_inputs.append(name)
                renamed[outputs[0]] = source
        self._nodes = [
            (op, [renamed.get(name, name) for name in inputs], outputs, attrs)
            for op, inputs, outputs, attrs in kept
        ]
        for old, new in renamed.items():
            if old == self._offsets_name:
                self._offsets_name = new
            if old == self._logits_name:
                self._logits_name = new
        return self

    def trained_weights(self) -> dict[str, np.ndarray]:
        """Every trainable initializer by its ONNX name (the statistics are unchanged, so left out)."""
        return {self._param_names[k]: v.detach().cpu().numpy() for k, v in self.params.items()}


def _run(op: str, args: list[Any], attrs: dict[str, Any]) -> Any:
    if op == "Conv":
        pads = attrs.get("pads", [0, 0, 0, 0])
        if pads[:2] != pads[2:]:
            raise ValueError(f"asymmetric padding {pads} is not supported")
        return functional.conv2d(
            args[0],
            args[1],
            args[2] if len(args) > 2 else None,
            stride=attrs.get("strides", [1, 1]),
            padding=pads[:2],
            dilation=attrs.get("dilations", [1, 1]),
            groups=attrs.get("group", 1),
        )
    if op == "Relu":
        return functional.relu(args[0])
    if op == "BatchNormalization":
        x, scale, shift, mean, var = args
        return functional.batch_norm(
            x, mean, var, scale, shift, training=False, eps=attrs.get("epsilon", 1e-5)
        )
    if op == "Add":
        return args[0] + args[1]
    if op == "Concat":
        if isinstance(args[0], list):
            return [v for part in args for v in part]
        return torch.cat(args, dim=attrs["axis"])
    if op == "Transpose":
        return args[0].permute(*attrs["perm"])
    if op == "Reshape":
        return args[0].reshape(*(int(v) for v in args[1]))
    if op == "Shape":
        return list(args[0].shape)
    if op == "Gather":
        return args[0][int(args[1])]
    if op == "Unsqueeze":
        return [args[0]]
    raise ValueError(f"unsupported ONNX operator {op}")


def load_graph(path: Path) -> OnnxConvGraph:
    import onnx

    return OnnxConvGraph(onnx.load(str(path)))


def write_trained_graph(src: Path, module: OnnxConvGraph, out: Path) -> None:
    """A copy of `src` whose trainable initializers hold `module`'s weights; nothing else changes."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    weights = module.trained_weights()
    for i, init in enumerate(model.graph.initializer):
        if init.name in weights:
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(weights[init.name], init.name))
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
