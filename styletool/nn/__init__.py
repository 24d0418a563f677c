"""Network building blocks shared by several methods (the transformer network, conditional norms)."""
