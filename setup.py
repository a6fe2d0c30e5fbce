"""Packaging shim: ships the top-level baselines/ and examples/facts/ inside the wheel.

They stay at the top of the repository for people (and the issue's layout), and are installed as
``compliance/_shipped/baselines`` and ``compliance/_shipped/facts`` so that ``pip install .``
followed by ``uccx-compliance demo`` works without a checkout (see compliance/resources.py).
Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["compliance", "compliance.*"]),
              "compliance._shipped.baselines", "compliance._shipped.facts"],
    package_dir={"compliance._shipped.baselines": "baselines", "compliance._shipped.facts": "examples/facts"},
    package_data={
        "compliance": ["py.typed"],
        "compliance._shipped.baselines": ["*.yaml"],
        "compliance._shipped.facts": ["*/*.xml", "*/*.txt", "*/*.md"],
    },
)
