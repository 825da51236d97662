"""A second output on a mask classifier's ONNX graph: the 1280 pooled features its last layer sees.

Serving reads them to ask a second, smaller question of a face the classifier calls `mask`: is the nose
uncovered (services/inference/model/nose_probe.py)? Exposing a tensor the graph already computes adds
no work and leaves `probabilities` exactly as they were, so the fp32 and the int8 graphs keep their
verdicts; the int8 graph's features are its uint8 pooled values dequantized with the graph's own scale.

Editing the graph (rather than exporting a second one) keeps one file per precision and lets any graph
trained before this output existed gain it in place; the edit is idempotent.
"""

from __future__ import annotations

from pathlib import Path

from services.inference.model.sidecar import FEATURES_OUTPUT


class NoPooledFeatures(ValueError):
    """The graph has no global average pool followed by a flatten: not a classifier this module knows."""


def expose_features(path: Path) -> bool:
    """Add the `features` output to the classifier graph at `path` (fp32 or int8) in place.

    Returns False when the graph already has it.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    graph = model.graph
    if any(o.name == FEATURES_OUTPUT for o in graph.output):
        return False
    pools = [n for n in graph.node if n.op_type in ("GlobalAveragePool", "QLinearGlobalAveragePool")]
    if len(pools) != 1:
        raise NoPooledFeatures(f"{path}: expected one global average pool, found {len(pools)}")
    pool = pools[0]
    flattens = [n for n in graph.node if n.op_type == "Flatten" and n.input[0] == pool.output[0]]
    if len(flattens) != 1:
        raise NoPooledFeatures(f"{path}: the global average pool is not followed by one flatten")
    flat = flattens[0].output[0]
    if pool.op_type == "GlobalAveragePool":
        node = helper.make_node("Identity", [flat], [FEATURES_OUTPUT], name="features_output")
    else:
        # QLinearGlobalAveragePool(x, x_scale, x_zero_point, y_scale, y_zero_point): the flatten keeps y's
        # quantization, so its output dequantizes with y's scale and zero point.
        node = helper.make_node(
            "DequantizeLinear",
            [flat, pool.input[3], pool.input[4]],
            [FEATURES_OUTPUT],
            name="features_output",
        )
    graph.node.append(node)
    graph.output.append(helper.make_tensor_value_info(FEATURES_OUTPUT, TensorProto.FLOAT, ["batch", None]))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return True
