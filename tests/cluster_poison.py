"""A dask worker preload for tests/test_cluster.py: a leaflet whose file name has "poison" in it
kills the worker process building it, as a leaflet that crashed an engine or ran it out of memory would.

    dask worker ADDRESS --preload tests/cluster_poison.py
"""

import os


def dask_setup(worker) -> None:
    import leafpress.library.build as build

    real = build.build_leaflet

    def build_leaflet(source, *args, **kwargs):
        if "poison" in os.path.basename(str(source)):
            os._exit(1)
        return real(source, *args, **kwargs)

    build.build_leaflet = build_leaflet
