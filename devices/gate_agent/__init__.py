"""The gate agent that runs on each entrance's Raspberry Pi.

`client.GateClient` speaks the MQTT protocol (publish a check, await its
verdict); `agent` drives the hardware around it.
"""
