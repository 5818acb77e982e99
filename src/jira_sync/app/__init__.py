"""The application layer: what the REST API, the console and the CLI can ask of the service.

Each service takes plain values, does its own unit of work against the store, wakes the
worker and tells the caches when it changes something, and answers with the typed views of
`models.py` or raises the errors of `errors.py`. Routes, pages and commands only parse
their input, call one service and render the answer.
"""
