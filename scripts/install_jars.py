"""Downloads the JVM jars local Spark needs (scripts/jvm-dependencies.json) into .jars/, checksums verified.

A jar already in .jars/ with the pinned SHA-256 is kept; anything else is downloaded again, and a
download whose SHA-256 or Maven Central SHA-1 differs is deleted and fails the install.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "glue-scripts"))

# The package is found through the path above.
from ingest.spark_settings import JVM_DEPENDENCIES, local_jar_path


def _url(repository: str, coordinates: str) -> str:
    group, artifact, version = coordinates.split(":")
    return f"{repository}/{group.replace('.', '/')}/{artifact}/{version}/{os.path.basename(local_jar_path(coordinates))}"


def _digest(path: str, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def install() -> None:
    with open(JVM_DEPENDENCIES, encoding="utf-8") as manifest:
        document = json.load(manifest)
    for jar in document["jars"]:
        target = local_jar_path(jar["coordinates"])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.exists(target) and _digest(target, "sha256") == jar["sha256"]:
            continue
        url = _url(document["repository"], jar["coordinates"])
        print(f"install-jars: downloading {jar['coordinates']}", file=sys.stderr)
        partial = f"{target}.part"
        urllib.request.urlretrieve(url, partial)
        with urllib.request.urlopen(f"{url}.sha1") as response:
            published_sha1 = response.read().decode("ascii").split()[0]
        problems = []
        if _digest(partial, "sha1") != published_sha1:
            problems.append(f"SHA-1 is not Maven Central's {published_sha1}")
        if (actual := _digest(partial, "sha256")) != jar["sha256"]:
            problems.append(f"SHA-256 is {actual}, not the pinned {jar['sha256']}")
        if problems:
            os.remove(partial)
            raise SystemExit(f"install-jars: {jar['coordinates']} from {url}: {'; '.join(problems)}")
        os.replace(partial, target)


if __name__ == "__main__":
    install()
