"""The model stage: sealed inputs in, every prediction checked and composited before it is scored."""
