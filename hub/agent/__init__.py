"""The reference agent worker: claims tasks from a hub over the worker API
and runs them with a backend (an agent command line, or an OpenAI-compatible
chat-completions endpoint).

It needs no database or Redis, only the hub's URL and a worker token, so it
runs on any machine that has the codebases checked out.
"""
