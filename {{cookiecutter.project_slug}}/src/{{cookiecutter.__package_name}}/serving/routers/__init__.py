"""One router per resource: health, predictions, model, metrics."""
