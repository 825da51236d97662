"""Fine-tuning the UltraFace face detector on annotated scenes, in torch, straight from its ONNX graph.

The published UltraFace weights exist here only as an ONNX graph, so training runs that graph's own
operators in torch (`model/onnx_torch_graph.py`, which also serves it on a GPU), matches annotated faces
to its anchors (`targets.py`), and writes the trained weights back into a copy of the same graph (the same
module): the served graph keeps its exact structure, batch axis and input names, and `maskwatch quantize`
treats it like the stock one.
"""
