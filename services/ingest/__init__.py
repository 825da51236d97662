"""Ingest: the door from MQTT into the server.

Subscribes to every gate's `check` topic, validates each message against its
contract and appends it to the `checks` stream for the inference worker.
Anything invalid is answered on the gate's `rejected` topic and recorded
through the `outcomes` stream; nothing invalid travels further.
"""
