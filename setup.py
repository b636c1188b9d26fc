"""What pyproject.toml cannot say: the canned policies of `policies/` (DESIGN.md §1 keeps
them at the top of the tree) ship inside the package, as `iamgw/policies/*.json`, where
`iamgw/iam/canned.py` looks when no source checkout is beside the package. Every other
setting is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["iamgw", "iamgw.*"]), "iamgw.policies"],
    package_dir={"iamgw.policies": "policies"},
)
