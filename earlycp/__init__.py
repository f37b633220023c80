"""EarlyCP: cerebral palsy risk from infant general-movement videos.

Research software. The shipped ensemble is trained on synthetic movements and is not
clinically validated; see models/ensembles/*/manifest.json.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("earlycp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+local"
