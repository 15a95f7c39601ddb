"""The source stage: the test images read, masked and batched ahead of the model, and checked
against the data a resumed folder was computed on."""
