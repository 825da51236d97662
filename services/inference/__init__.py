"""Inference: reads gate checks from the `checks` stream in batches, finds every
face and judges every mask (see `model/`), and appends a GateAnalysis per check
to the `analyses` stream for the gate controller.
"""
