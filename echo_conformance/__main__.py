"""``python -m conformance [--markdown]``: list every conformance case."""

import sys

from ._catalogue import applies, load, markdown_table


def main(argv: list[str]) -> int:
    if "--markdown" in argv:
        print(markdown_table())
        return 0
    for spec in load().values():
        print(f"{spec.id:34} {spec.level:6} {applies(spec)}\n{'':41}{spec.requirement}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
