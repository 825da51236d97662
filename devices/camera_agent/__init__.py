"""The indoor camera's side: publish JPEG frames over MQTT at the configured rate, with the gate's health
conventions (retained status, last will `offline`, heartbeat, pushed config)."""
