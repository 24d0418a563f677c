"""The plugin framework: hook specs and registration (hookspecs, specs, registry, plugins), method
options (options), the method interface and its requests (methods), and the runtime every method
runs on (runtime: device, precision, seeds, the registry's components by name)."""
