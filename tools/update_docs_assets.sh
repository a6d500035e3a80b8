#!/usr/bin/env bash
# Refetches the Redoc bundle that /docs serves from the npm registry, with its licence files,
# into api/assets/redoc/, and records the version and checksum in api/assets/redoc/VERSION.
# The binary embeds these files (api/src/routes/docs.rs): nothing is fetched when it runs.
#
#   tools/update_docs_assets.sh            # the version named in VERSION, to check or restore it
#   tools/update_docs_assets.sh 2.5.5      # another version; review the diff, rebuild, run the tests
#
# Redoc 2.x is used: 3.x sends usage traces to Redocly's servers and loads icons from a CDN
# while the page runs, which a self-contained reference must not do.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=api/assets/redoc
version="${1:-$(awk '$1 == "redoc" { print $2 }' "$dest/VERSION")}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "redoc@$version" >/dev/null && tar -xzf "redoc-$version.tgz")
package="$work/package"
test -f "$package/bundles/redoc.standalone.js" || {
  echo "redoc@$version has no bundles/redoc.standalone.js" >&2
  exit 1
}
grep -q '"license": "MIT"' "$package/package.json" || {
  echo "redoc@$version is no longer MIT-licensed: review its licence before vendoring it" >&2
  exit 1
}

rm -f "$dest"/*.LICENSE.txt
cp "$package/bundles/redoc.standalone.js" "$dest/"
cp "$package/LICENSE" "$dest/LICENSE"
# The bundle's third-party notices (it names them in comments; its search worker is inlined).
cp "$package"/bundles/redoc.standalone.js.LICENSE.txt "$package"/bundles/*.worker.js.LICENSE.txt "$dest/"

sha="$(sha256sum "$dest/redoc.standalone.js" | cut -d' ' -f1)"
cat >"$dest/VERSION" <<NOTE
redoc $version
sha256 $sha redoc.standalone.js
source npm registry, package redoc@$version, file bundles/redoc.standalone.js (MIT, see LICENSE)
NOTE
echo "redoc@$version: redoc.standalone.js sha256 $sha"
