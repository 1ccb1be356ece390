"""Building a library of leaflets, not one: the concern that spans the build of many sources.

- ``build``: every stale leaflet built into the output folder, in parallel, with the manifest;
- ``incremental``: what each format is made from, and the build state that says what is stale;
- ``cluster``: the same build on a dask.distributed cluster, its workers checked first;
- ``lock``: one build at a time per output folder;
- ``index``: the library's index page; ``reviews``: every leaflet's review dates and status.
"""
