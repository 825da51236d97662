"""The notifier: alert transitions in, messages out on the channels each site chose, once each.

    stream alerts (AlertTransition) ─▶ routing (which channels and recipients, per site and kind)
        ─▶ one delivery per transition × channel × recipient, recorded under a unique key
        ─▶ delivery jobs (retried with capped backoff; dead-lettered after the last try)
        ─▶ channels/ (one module per channel, behind `Channel`)

Deliveries run as rq jobs on Redis: retried, independent jobs are what rq is for,
where the streams between the other services are built for batches.
"""
