"""Training, evaluation, quantisation and model research for the mask model.

None of this serves: the inference service (`services/inference/`) loads the
weights this package produces and never imports it, so the serving image has no
torch and no training code path. It needs the `train` extra (torch, onnx, tqdm).
"""
