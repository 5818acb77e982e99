"""Everything that touches the database, and the only package that imports SQLAlchemy.

Transactions: the application layer opens a unit of work with `db.read(engine)` or
`db.write(engine)` and passes its connection to the functions here, so several statements
share one transaction. The sync's hot paths (`intake.accept_batch`, the ingest's group
commit, `claims.claim/record/finish/fail`) own their transactions, because their commit
points are part of the guarantees (see `claims.py`).
"""
