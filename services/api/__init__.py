"""The admin REST API: figures, gates, checks, alerts, accounts and the audit log under `/api/v1`."""
