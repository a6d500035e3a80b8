"""Checks that every example in openapi.yaml (its paths and its webhooks) is valid against its own
schema, and that no mapping in the file names a key twice (PyYAML would silently keep the last one;
stricter parsers refuse the file).

The examples are what third-party developers copy first; one that contradicts its schema is a bug
in the contract. Run: python3 tools/check_openapi_examples.py [openapi.yaml]
"""
import json
import sys

import jsonschema
import yaml


class DuplicateKey(Exception):
    pass


class StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a mapping naming the same key twice."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise DuplicateKey(f"{key!r} appears twice in one mapping (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        try:
            doc = yaml.load(f, Loader=StrictLoader)
        except DuplicateKey as e:
            print(f"{path}: {e}")
            return 1
    schemas = doc["components"]["schemas"]

    def resolve(node):
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return resolve(schemas[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    checked, failures = 0, []

    def check(schema, example, where):
        nonlocal checked
        checked += 1
        # YAML reads unquoted dates as dates; JSON on the wire has strings.
        value = json.loads(json.dumps(example, default=str))
        try:
            jsonschema.validate(value, resolve(schema), cls=jsonschema.Draft202012Validator)
        except jsonschema.ValidationError as e:
            failures.append(f"{where}: {e.message}")

    # The paths the API answers, and the requests it sends to webhook receivers (OpenAPI 3.1's
    # top-level `webhooks`), are checked alike.
    operations = list(doc["paths"].items()) + list(doc.get("webhooks", {}).items())
    for path_name, item in operations:
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body and "example" in body:
                check(body["schema"], body["example"], f"{method.upper()} {path_name} request")
            for status, response in op["responses"].items():
                content = response.get("content", {}).get("application/json")
                if content and "example" in content:
                    check(content["schema"], content["example"], f"{method.upper()} {path_name} {status}")
    for name, schema in schemas.items():
        if "example" in schema:
            check(schema, schema["example"], f"schema {name}")
    for failure in failures:
        print(failure)
    print(f"{checked} examples checked, {len(failures)} invalid")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml"))
