"""faxbatch: campaign files in, checked numbers, fax-ready PDFs, print volumes and manifests out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("faxbatch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
