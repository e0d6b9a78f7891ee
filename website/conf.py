"""Sphinx's settings for the course's website (``make site``; see ``website/build.py``).

The pages come from a staged copy of the course that ``website.build`` prepares, laid out like
the repository (``notebooks/``, ``docs/``), so each lesson's Colab button is the course's own
Colab link for that lesson: ``course.colab_url("notebooks/<lesson>.ipynb")``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cvae_instructor import course  # noqa: E402

project = "From autoencoders to conditional VAEs"
author = "the course's authors"
copyright = "the course's authors, MIT license"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["student/**"]  # the student copies are downloads, not pages

# The lessons are shown as committed: executed top to bottom, never run again here.
nb_execution_mode = "off"
# Saved widgets cannot run without a kernel; website.build replaces them before Sphinx reads
# the lessons, so no widget scripts need to be fetched from a CDN.
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "From autoencoders to conditional VAEs"
html_static_path = ["_static"]
html_css_files = ["explorer.css"]
html_js_files = [("explorer.js", {"defer": "defer"})]
# The reader's light or dark preference, from the first visit on.
html_context = {"default_mode": "auto"}
html_theme_options = {
    "repository_url": f"https://github.com/{course.REPOSITORY}",
    "repository_branch": course.BRANCH,
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
