"""The SDK's namespaces, `sy.jobs` and `sy.pipelines`: short names over the
same functions that `switchyard/__init__.py` also offers flat."""
