"""The packaging is in setup.cfg. This adds the one thing setup.cfg cannot
say: the top-level ``migrations/`` folder ships inside the wheel as
``hub/migrations/`` (a package that lives outside ``hub/``), so a regular
install can run ``codetether-hub db upgrade``."""

from setuptools import find_namespace_packages, setup

# Namespace discovery: hub/templates and hub/static are data folders of
# ``hub`` without an __init__.py; listing them keeps setuptools from warning.
PACKAGES = find_namespace_packages(include=["hub", "hub.*", "connectors", "connectors.*"])

setup(
    packages=[*PACKAGES, "hub.migrations", "hub.migrations.versions"],
    package_dir={"hub.migrations": "migrations"},
)
