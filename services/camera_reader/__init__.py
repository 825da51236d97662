"""The camera reader: ordinary IP cameras, whose RTSP streams the server reads itself.

A camera registered with a stream URL (`maskwatch camera add hall-2 --rtsp rtsp://…`) needs no agent:
this service keeps a reader thread per stream that holds only the newest frame, samples it at the
camera's rate, and appends it to the same frames stream the camera agents' frames go to.
"""
