"""Stats: reads Verdicts and Rejections from the `outcomes` stream and writes one
row per check (and per rejection) to the database, where the admin API and
Grafana read them. Writes are idempotent on check_id, so a redelivered verdict
never counts twice.
"""
