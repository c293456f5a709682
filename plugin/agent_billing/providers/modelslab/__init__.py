"""ModelsLab Agent Control Plane: operation declarations, argument and result models."""
