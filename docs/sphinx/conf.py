"""Sphinx configuration of the docs site (scripts/build_docs.py builds it into build/docs/html).

The guides are the Markdown pages of docs/ (MyST); the collection reference
is what antsibull-docs renders from the modules', filters', lookup's and
roles' own documentation. Warnings are errors (sphinx-build -W): a link to a
page or a heading that does not exist fails the build. Nothing is fetched
from the network: no intersphinx inventory is downloaded (links to other
collections' plugins resolve against a local inventory the build writes).
"""

from __future__ import annotations

import os

project = "DaskHub deployer"
copyright = "DaskHub deployer maintainers"
title = "DaskHub deployer documentation"
html_short_title = "DaskHub deployer"

extensions = ["myst_parser", "sphinx_antsibull_ext", "sphinx.ext.intersphinx"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["sphinx"]

# Links between the guides are checked: [text](other-page.md#a-heading).
myst_heading_anchors = 3
myst_all_links_external = False
suppress_warnings: list[str] = []

pygments_style = "ansible"
# A code block without a language (a shell line in a guide) is shown as it is;
# the reference names its languages (yaml+jinja).
highlight_language = "none"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_theme_options = {"display_version": False}

# Other collections' plugins (ansible.builtin, kubernetes.core) link to the
# Ansible docs through an inventory the build writes from their names
# (scripts/build_docs.py); intersphinx never goes to the network.
intersphinx_mapping = {
    "ansible_devel": (
        "https://docs.ansible.com/projects/ansible/devel/",
        os.environ.get("DASKHUB_DOCS_INVENTORY", "ansible_devel.inv"),
    ),
}
default_role = "any"
nitpicky = True
