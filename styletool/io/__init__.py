"""Files: images (read, written, resized), model files (safetensors, no code), atomic writes, the
user cache folder, and the models shipped inside the package."""
