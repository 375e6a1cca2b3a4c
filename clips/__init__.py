"""Fake-camera clips: y4m files Chromium plays as a camera, built by the project's own scripts."""
