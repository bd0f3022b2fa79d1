"""The model-serving data plane: Open Inference Protocol codecs, replica and gateway I/O."""
