"""The one database every service shares: schema, migrations, engine, and the data functions.

PostgreSQL in production (Grafana reads it directly), SQLite on one machine.
Services write through the functions here (opening an alert, registering a
gate) instead of reaching into each other's modules for them.
"""
