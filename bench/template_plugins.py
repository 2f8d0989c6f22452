"""A playbook under this repository's ansible.cfg, which preloads the template plugins, and under a copy without it.

    .venv/bin/python bench/template_plugins.py [--runs N] [ANSIBLE-PLAYBOOK ARGUMENTS ...]

The default run is ``site.yml``: on a machine where the default site is
deployed (``.venv/bin/ansible-playbook site.yml``, as root or not), a
converge with nothing to do. Runs it N times under ansible.cfg as it is
(callbacks_enabled: daskhub.deploy.preload_template_plugins) and N times
under a copy of it without callbacks_enabled, in turn; prints the medians
of each run's CPU seconds (ansible-playbook and its children) and wall
seconds. Results are appended to bench/results/template_plugins.txt.
"""

from __future__ import annotations

import argparse

from ansible_config import CONFIG, compare, config_without, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=5, help="runs under each configuration (default 5)")
    parser.add_argument("argv", nargs="*", default=["site.yml"], help="ansible-playbook's arguments (default site.yml)")
    args = parser.parse_args()
    with config_without("callbacks_enabled") as without:
        configs = {"ansible.cfg (template plugins preloaded)": CONFIG, "without callbacks_enabled": without}
        results = compare(configs, args.argv, args.runs)
    report(results, f"ansible-playbook {' '.join(args.argv)}", "template_plugins.txt")


if __name__ == "__main__":
    main()
