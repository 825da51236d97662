"""Gate controller: consumes GateAnalysis from the `analyses` stream, applies the
venue's policy, publishes the Verdict on the gate's own MQTT topic and appends it
to the `outcomes` stream for the stats service.
"""
