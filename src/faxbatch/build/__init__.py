"""The build, which runs the stages one after another into a batch folder.

Planning each recipient, rendering on every core, the cache, staging and atomic replacement, the
manifests. It may import every stage; no stage imports it.
"""
