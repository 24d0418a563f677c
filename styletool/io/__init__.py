"""Files: images (read, written, resized) and the suffixes of those read (formats), model files
(safetensors, no code), atomic writes, the user cache folder, and the models plugins ship (shipped)."""
