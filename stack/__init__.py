"""The composition root: settings, the table of services, the `maskwatch` command, the launcher and the demo.

This is the only layer that knows every service. It reads the settings once,
hands each service the parts it needs, and runs the services in one process
(the embedded setup) or one process per service (`maskwatch run NAME`, what each
container runs). Nothing below it imports it.
"""
