"""What style transfer measures with: backbones (frozen feature networks), the loss base classes and
feature statistics (losses), the perceptual loss feed-forward methods train with (loss, options),
colour handling (color) and the measures tests and benchmarks judge results by (metrics)."""
