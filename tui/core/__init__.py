"""Stopline's Textual-free core: domain, providers, service, journal, settings.

Nothing under this package imports ``textual``; a test proves it in a subprocess.
"""
