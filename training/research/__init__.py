"""Experiments behind the model card's recipe choices; run as scripts, never imported by serving."""
