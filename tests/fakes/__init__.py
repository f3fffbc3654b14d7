"""Fake chat platform servers for end-to-end tests: real HTTP on loopback, recording what the bot sends."""
