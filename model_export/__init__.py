"""Build backend: data, model, training, export, quantization and evaluation of the portrait segmenter."""
