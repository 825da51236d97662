"""Indoor monitoring: follow every face a camera sees and raise one alert per person unmasked too long.

    camera frame → faces and masks (the inference engine) → track/ (who is who across frames)
        → dwell (how long each person has been unmasked) → alerting (open once, resolve, cooldown)

Each step takes the frame's own timestamp, never the wall clock, so a replayed
video and a test drive the same code as a live camera.
"""
