"""Services hold the rules. Routes, CLI and connectors call these; nothing
else changes rows."""
