"""Dockyard: a made-up fifth order system, added to Stopline through the registry alone."""
