"""The models: embedding engines for the bundled multilingual-e5-small (ONNX Runtime, torch, the C engine), row files."""
