"""devflow: a Flowdock-compatible development server (API, test controls and a web page).

Start it with ``python -m bridge.devflow`` or build the app with
``bridge.devflow.server.create_devflow_app``; the test controls under
``/_devflow/`` are documented in ``bridge.devflow.controls``.
"""
