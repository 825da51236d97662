"""Notifier: will deliver alerts (someone unmasked longer than allowed in a monitored room) to admins'
phones (Firebase Cloud Messaging, Amazon SNS), the dashboard (web push) and webhooks.

Not built yet: alerts come from indoor monitoring, which does not exist yet either. The API already
stores alerts (`maskwatch/database/alerts.py: open_alert`) and the metrics for deliveries are declared
(`maskwatch/metrics.py`). Delivery jobs will run on rq, which suits retried, independent jobs.
"""
