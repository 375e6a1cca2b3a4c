"""Rooms for sharing the camera picture: WebRTC signalling (who is where, and relaying their offers)."""
