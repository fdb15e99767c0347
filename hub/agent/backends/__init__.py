"""Agent backends. Each has ``run(task, output, cancelled) -> Outcome``:
``output(text)`` streams progress back, ``cancelled`` (a threading.Event)
says stop now."""
