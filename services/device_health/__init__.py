"""Device health: a gate or camera that stays offline raises an alert, resolved when it comes back.

Devices announce themselves with a retained status and leave a last will
`offline` with the broker, so the broker tells this service the moment one
drops off. A short outage (a reboot, a Wi-Fi blip) is not worth waking anyone:
an alert opens only once a device has been offline for `offline_after_s`.
"""
