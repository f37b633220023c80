"""ONNX inference of a registered GCN ensemble (method.md step 3, serving side)."""
